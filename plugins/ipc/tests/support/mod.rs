//! Test support shared by the plugins' delivery tests (included with `#[path]`): a scratch
//! socket and spool, a one-shot stand-in daemon, and a look at the spool.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use dhcpmgr_ipc::{decode_envelope, read_frame, write_frame, Envelope};

/// A scratch directory with the daemon's socket and spool paths in it.
pub struct Setup {
    /// Keeps the directory alive; some including tests also put files in it.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub spool: PathBuf,
}

pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    Setup {
        socket: dir.path().join("ipc.sock"),
        spool: dir.path().join("spool"),
        dir,
    }
}

/// A one-shot daemon: accepts one connection (or gives up after 10 s), decodes the envelope and
/// answers with `reply` (raw JSON, to pin the wire format).
pub fn daemon(socket: &Path, reply: &'static str) -> JoinHandle<Option<Envelope>> {
    let listener = UnixListener::bind(socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return None,
            }
        };
        stream.set_nonblocking(false).unwrap();
        let envelope = decode_envelope(&read_frame(&stream).unwrap()).unwrap();
        write_frame(&stream, reply.as_bytes()).unwrap();
        Some(envelope)
    })
}

/// The files in the spool (none when it does not exist).
pub fn spooled(spool: &Path) -> Vec<PathBuf> {
    match fs::read_dir(spool) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{e}"),
    }
}
