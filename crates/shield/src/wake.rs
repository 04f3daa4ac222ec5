//! How the shield's threads that wait in the kernel hear that the shield stops: a socket pair
//! whose watched end becomes readable, for good, once [`Wake::signal`] is called. [`wait`]
//! waits for a descriptor of the thread's own (the packet queue, the control socket) and the
//! wake together, so an idle shield sleeps until there is work, a deadline of its own or a
//! stop, with no periodic wake-ups to look at its stop token.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// The shield's stop, as a descriptor the kernel can wait on.
#[derive(Debug)]
pub(crate) struct Wake {
    signal: UnixStream,
    watched: UnixStream,
}

/// How a [`wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The thread's descriptor is readable.
    Ready,
    /// The wake was signalled: the shield stops.
    Woken,
    /// The timeout passed first.
    TimedOut,
}

impl Wake {
    /// A wake not yet signalled.
    pub(crate) fn new() -> std::io::Result<Wake> {
        let (signal, watched) = UnixStream::pair()?;
        signal.set_nonblocking(true)?;
        Ok(Wake { signal, watched })
    }

    /// Makes every [`wait`] on this wake end with [`Waited::Woken`], now and from now on.
    pub(crate) fn signal(&self) {
        // One byte is enough and is never read: the watched end stays readable. A full buffer
        // (signalled many times over) is just as readable.
        let _ = (&self.signal).write(&[1]);
    }
}

/// Waits until `fd` is readable, `wake` is signalled, or `timeout` has passed (`None`: no
/// timeout). A signalled wake wins over a readable `fd`.
pub(crate) fn wait(
    fd: BorrowedFd<'_>,
    wake: &Wake,
    timeout: Option<Duration>,
) -> Result<Waited, Errno> {
    let timeout = match timeout {
        // Rounded up, so a deadline is never missed by a wait that ends just short of it.
        Some(t) => {
            PollTimeout::try_from(t.as_millis().saturating_add(1)).unwrap_or(PollTimeout::MAX)
        }
        None => PollTimeout::NONE,
    };
    let mut fds = [
        PollFd::new(wake.watched.as_fd(), PollFlags::POLLIN),
        PollFd::new(fd, PollFlags::POLLIN),
    ];
    loop {
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(Waited::TimedOut),
            Ok(_) if fds[0].any().unwrap_or(false) => return Ok(Waited::Woken),
            Ok(_) => return Ok(Waited::Ready),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_with_data_with_the_timeout_or_for_good_with_the_wake() {
        let wake = Wake::new().expect("socket pair");
        let (mut writer, reader) = UnixStream::pair().expect("socket pair");
        let short = Some(Duration::from_millis(20));
        assert_eq!(wait(reader.as_fd(), &wake, short), Ok(Waited::TimedOut));
        writer.write_all(b"x").expect("write");
        assert_eq!(wait(reader.as_fd(), &wake, short), Ok(Waited::Ready));
        wake.signal();
        assert_eq!(wait(reader.as_fd(), &wake, None), Ok(Waited::Woken));
        wake.signal();
        assert_eq!(
            wait(reader.as_fd(), &wake, None),
            Ok(Waited::Woken),
            "stays signalled"
        );
    }

    #[test]
    fn a_wake_from_another_thread_ends_a_wait_without_timeout() {
        let wake = std::sync::Arc::new(Wake::new().expect("socket pair"));
        let (_writer, reader) = UnixStream::pair().expect("socket pair");
        let signaller = {
            let wake = wake.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                wake.signal();
            })
        };
        assert_eq!(wait(reader.as_fd(), &wake, None), Ok(Waited::Woken));
        signaller.join().expect("signaller");
    }
}
