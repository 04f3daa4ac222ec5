//! systemd integration without libsystemd.
//!
//! - [`Notifier`]: the `sd_notify` protocol — one datagram of `KEY=VALUE` lines to the socket
//!   named by `$NOTIFY_SOCKET` (`READY=1`, `STOPPING=1`, `STATUS=…`, `WATCHDOG=1`).
//! - [`SystemdEnv`]: what the service manager passed (`$NOTIFY_SOCKET`, `$WATCHDOG_USEC`,
//!   `$WATCHDOG_PID`), taken out of the environment so the DHCP clients and plugins the daemon
//!   starts do not inherit it.
//! - [`Heartbeat`] and [`Watchdog`]: the controller loop records each turn in a heartbeat; the
//!   watchdog thread pings systemd at half the watchdog interval only while the last turn is
//!   recent, so a controller that hangs or died gets the service restarted.
//! - [`journal_stream`]: whether stderr is connected to the journal (`$JOURNAL_STREAM`).
//!
//! Started by hand (no `$NOTIFY_SOCKET`) every part of this is inert.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: UnixDatagram,
    target: SocketAddr,
}

impl Notifier {
    /// A notifier for a `$NOTIFY_SOCKET` value: an absolute path, or `@name` for an abstract
    /// socket.
    pub(crate) fn new(target: &OsStr) -> io::Result<Notifier> {
        let bytes = target.as_bytes();
        let target = match bytes.split_first() {
            Some((b'@', name)) => SocketAddr::from_abstract_name(name)?,
            Some((b'/', _)) => SocketAddr::from_pathname(target)?,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unsupported NOTIFY_SOCKET {target:?} (not a path or @name)"),
                ))
            }
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            target,
        })
    }

    /// Sends one notification (newline-separated `KEY=VALUE` assignments).
    pub(crate) fn notify(&self, state: &str) -> io::Result<()> {
        self.socket.send_to_addr(state.as_bytes(), &self.target)?;
        Ok(())
    }

    /// Sends a notification, logging (at debug) a failure instead of returning it: the service
    /// manager going away is no reason to stop serving leases.
    pub(crate) fn send(&self, state: &str) {
        if let Err(e) = self.notify(state) {
            tracing::debug!(error = %e, "sd_notify failed");
        }
    }
}

/// `STATUS=` text: one line, since a newline would start another assignment.
pub(crate) fn status(text: &str) -> String {
    format!("STATUS={}", text.replace('\n', " "))
}

/// What the service manager passed to the daemon.
#[derive(Debug, Default)]
pub(crate) struct SystemdEnv {
    /// Present when started with `Type=notify` (or anything else that sets `$NOTIFY_SOCKET`).
    pub notifier: Option<Arc<Notifier>>,
    /// The watchdog interval when the watchdog is on and meant for this process.
    pub watchdog: Option<Duration>,
}

impl SystemdEnv {
    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` and removes them from the
    /// environment. Call it while the process has one thread (the environment is process-wide).
    pub(crate) fn take() -> SystemdEnv {
        let notify_socket = std::env::var_os("NOTIFY_SOCKET");
        let usec = std::env::var_os("WATCHDOG_USEC");
        let pid = std::env::var_os("WATCHDOG_PID");
        for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            std::env::remove_var(var);
        }
        SystemdEnv::from_values(notify_socket, usec, pid, std::process::id())
    }

    /// The environment's values interpreted for process `own_pid`.
    pub(crate) fn from_values(
        notify_socket: Option<OsString>,
        watchdog_usec: Option<OsString>,
        watchdog_pid: Option<OsString>,
        own_pid: u32,
    ) -> SystemdEnv {
        let notifier = notify_socket.filter(|s| !s.is_empty()).and_then(|s| {
            Notifier::new(&s)
                .map_err(|e| eprintln!("dhcpmgr: ignoring NOTIFY_SOCKET: {e}"))
                .ok()
        });
        let watchdog = notifier.as_ref().and_then(|_| {
            watchdog_interval(
                watchdog_usec.as_deref().and_then(OsStr::to_str),
                watchdog_pid.as_deref().and_then(OsStr::to_str),
                own_pid,
            )
        });
        SystemdEnv {
            notifier: notifier.map(Arc::new),
            watchdog,
        }
    }
}

/// The watchdog interval from `$WATCHDOG_USEC`, if it is set, positive and — when
/// `$WATCHDOG_PID` is set — meant for `own_pid`.
pub(crate) fn watchdog_interval(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != own_pid {
            return None;
        }
    }
    match usec?.trim().parse::<u64>().ok()? {
        0 => None,
        usec => Some(Duration::from_micros(usec)),
    }
}

/// Whether stderr (`fd`) is the stream `$JOURNAL_STREAM` (`DEVICE:INODE`, decimal) names,
/// i.e. its lines go to the journal, which stamps them itself.
pub(crate) fn journal_stream(value: Option<&OsStr>, fd: impl AsFd) -> bool {
    // Compared as text: dev_t and ino_t differ in width between targets (ino_t is 32-bit on
    // armv7).
    value.and_then(OsStr::to_str).is_some_and(|value| {
        nix::sys::stat::fstat(fd).is_ok_and(|st| format!("{}:{}", st.st_dev, st.st_ino) == value)
    })
}

/// When the controller loop last turned. Cheap to clone and to beat (one atomic store).
#[derive(Debug, Clone)]
pub(crate) struct Heartbeat {
    inner: Arc<HeartbeatInner>,
}

#[derive(Debug)]
struct HeartbeatInner {
    origin: Instant,
    /// Milliseconds from `origin` to the last beat.
    last_ms: AtomicU64,
    /// How long the loop may idle between turns; `None` when nobody watches.
    period: Option<Duration>,
}

impl Heartbeat {
    /// A heartbeat whose loop turns at least every `period`, or one nobody watches (`None`):
    /// then [`Heartbeat::due`] never completes and the loop only turns for real work.
    pub(crate) fn new(period: Option<Duration>) -> Heartbeat {
        Heartbeat {
            inner: Arc::new(HeartbeatInner {
                origin: Instant::now(),
                last_ms: AtomicU64::new(0),
                period,
            }),
        }
    }

    /// Records a loop turn now.
    pub(crate) fn beat(&self) {
        let ms = u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.inner.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Time since the last beat (or since creation).
    pub(crate) fn age(&self) -> Duration {
        let last = Duration::from_millis(self.inner.last_ms.load(Ordering::Relaxed));
        self.inner.origin.elapsed().saturating_sub(last)
    }

    /// Completes after one period: a `select!` arm that makes an idle loop turn (and beat).
    pub(crate) async fn due(&self) {
        match self.inner.period {
            Some(period) => tokio::time::sleep(period).await,
            None => std::future::pending().await,
        }
    }
}

impl Default for Heartbeat {
    /// A heartbeat nobody watches.
    fn default() -> Heartbeat {
        Heartbeat::new(None)
    }
}

/// The watchdog policy for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Watchdog {
    interval: Duration,
}

impl Watchdog {
    pub(crate) fn new(interval: Duration) -> Watchdog {
        Watchdog { interval }
    }

    /// How often to ping: half the interval, as sd_watchdog_enabled(3) advises.
    pub(crate) fn ping_every(&self) -> Duration {
        self.interval / 2
    }

    /// The heartbeat period the controller must keep: a quarter of the interval, so that a
    /// healthy loop has always beaten within the last half interval when a ping is due.
    pub(crate) fn heartbeat_period(&self) -> Duration {
        self.interval / 4
    }

    /// Whether a heartbeat this old shows a responsive controller.
    pub(crate) fn alive(&self, heartbeat_age: Duration) -> bool {
        heartbeat_age <= self.interval / 2
    }

    /// Starts the thread that pings `notifier` while `heartbeat` is alive, until
    /// `stopped(timeout)` (which waits at most `timeout` for the stop) says it is time to end.
    pub(crate) fn spawn(
        self,
        notifier: Arc<Notifier>,
        heartbeat: Heartbeat,
        stopped: impl Fn(Duration) -> bool + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let mut withheld = false;
                while !stopped(self.ping_every()) {
                    let age = heartbeat.age();
                    if self.alive(age) {
                        if withheld {
                            tracing::info!("controller responsive again; watchdog pings resume");
                            withheld = false;
                        }
                        notifier.send("WATCHDOG=1");
                    } else if !withheld {
                        tracing::error!(
                            age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                            "controller loop unresponsive; withholding watchdog pings"
                        );
                        withheld = true;
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A bound datagram socket standing in for systemd's, in a temp dir.
    fn manager() -> (tempfile::TempDir, UnixDatagram, OsString) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (dir, socket, path.into_os_string())
    }

    fn recv(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_notifications_to_a_path_socket() {
        let (_dir, socket, path) = manager();
        let notifier = Notifier::new(&path).unwrap();
        notifier
            .notify(&format!("READY=1\n{}", status("ready: 1 client")))
            .unwrap();
        notifier.send("STOPPING=1");
        assert_eq!(recv(&socket), "READY=1\nSTATUS=ready: 1 client");
        assert_eq!(recv(&socket), "STOPPING=1");
    }

    #[test]
    fn sends_notifications_to_an_abstract_socket() {
        let name = format!("dhcpmgr-test-notify-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let notifier = Notifier::new(OsStr::new(&format!("@{name}"))).unwrap();
        notifier.notify("WATCHDOG=1").unwrap();
        assert_eq!(recv(&socket), "WATCHDOG=1");
    }

    #[test]
    fn status_stays_on_one_line() {
        assert_eq!(status("a\nb"), "STATUS=a b");
    }

    #[test]
    fn refuses_unusable_socket_names() {
        assert!(Notifier::new(OsStr::new("relative/path")).is_err());
        assert!(Notifier::new(OsStr::new("")).is_err());
        assert!(Notifier::new(OsStr::new("vsock:2:1234")).is_err());
    }

    #[test]
    fn reads_the_watchdog_interval() {
        let s = Some;
        assert_eq!(
            watchdog_interval(s("30000000"), None, 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_interval(s("30000000"), s("7"), 7),
            Some(Duration::from_secs(30))
        );
        // Meant for another process (e.g. inherited from a parent that was watched).
        assert_eq!(watchdog_interval(s("30000000"), s("8"), 7), None);
        assert_eq!(watchdog_interval(s("30000000"), s("x"), 7), None);
        assert_eq!(watchdog_interval(s("0"), None, 7), None);
        assert_eq!(watchdog_interval(s("-1"), None, 7), None);
        assert_eq!(watchdog_interval(None, s("7"), 7), None);
    }

    #[test]
    fn watchdog_needs_a_notify_socket() {
        let env = SystemdEnv::from_values(None, Some("30000000".into()), None, 1);
        assert!(env.notifier.is_none() && env.watchdog.is_none());
        let (_dir, _socket, path) = manager();
        let env = SystemdEnv::from_values(Some(path), Some("30000000".into()), None, 1);
        assert!(env.notifier.is_some());
        assert_eq!(env.watchdog, Some(Duration::from_secs(30)));
    }

    #[test]
    fn watchdog_policy_follows_the_interval() {
        let w = Watchdog::new(Duration::from_secs(30));
        assert_eq!(w.ping_every(), Duration::from_secs(15));
        assert_eq!(w.heartbeat_period(), Duration::from_millis(7500));
        assert!(w.alive(Duration::from_secs(15)));
        assert!(!w.alive(Duration::from_secs(16)));
    }

    #[test]
    fn heartbeat_age_restarts_at_each_beat() {
        let heartbeat = Heartbeat::new(Some(Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(20));
        let before = heartbeat.age();
        assert!(before >= Duration::from_millis(20));
        heartbeat.clone().beat();
        assert!(heartbeat.age() < before);
    }

    #[test]
    fn watchdog_pings_while_the_heartbeat_is_fresh_and_stops_when_told() {
        let (_dir, socket, path) = manager();
        let notifier = Arc::new(Notifier::new(&path).unwrap());
        let heartbeat = Heartbeat::new(None);
        let (stop_tx, stop_rx) = mpsc::channel();
        // A 100 ms interval: a ping every 50 ms while the test thread keeps beating.
        let thread = Watchdog::new(Duration::from_millis(100))
            .spawn(notifier, heartbeat.clone(), move |timeout| {
                !matches!(
                    stop_rx.recv_timeout(timeout),
                    Err(mpsc::RecvTimeoutError::Timeout)
                )
            })
            .unwrap();
        socket.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 64];
        let ping = loop {
            heartbeat.beat();
            match socket.recv(&mut buf) {
                Ok(n) => break String::from_utf8_lossy(&buf[..n]).into_owned(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no watchdog ping");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("recv: {e}"),
            }
        };
        assert_eq!(ping, "WATCHDOG=1");
        stop_tx.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn journal_stream_must_name_stderr_itself() {
        let file = tempfile::tempfile().unwrap();
        let st = nix::sys::stat::fstat(file.as_fd()).unwrap();
        let value = OsString::from(format!("{}:{}", st.st_dev, st.st_ino));
        assert!(journal_stream(Some(&value), file.as_fd()));
        let other = OsString::from(format!("{}:{}", st.st_dev, st.st_ino + 1));
        assert!(!journal_stream(Some(&other), file.as_fd()));
        assert!(!journal_stream(Some(OsStr::new("garbage")), file.as_fd()));
        assert!(!journal_stream(None, file.as_fd()));
    }
}
