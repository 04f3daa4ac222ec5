//! The sysevent record follower: a thread that tails the lab's sysevent record file (appended
//! by a shell script) and hands over each new line with the time it was first seen.

use std::fs::File;
use std::io::{ErrorKind, Read as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::Result;

/// How often the sysevent record file is read while a hop is in flight.
pub const SYSEVENT_POLL: Duration = Duration::from_micros(100);

/// A thread that reads the lab's sysevent record file every [`SYSEVENT_POLL`] and hands over
/// each new line with the time it was first seen; stops when dropped.
pub struct SyseventWatch {
    pub path: PathBuf,
    pub lines: Receiver<Result<(Instant, String)>>,
    stop: Arc<AtomicBool>,
}

impl SyseventWatch {
    pub fn start(path: PathBuf) -> Result<Self> {
        let (tx, lines) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let mut tail = RecordTail::new(path.clone());
        thread::Builder::new()
            .name("sysevent-poll".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    let new = tail.read_new();
                    let at = Instant::now();
                    match new {
                        Ok(new) => {
                            if new.into_iter().any(|l| tx.send(Ok((at, l))).is_err()) {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                    thread::sleep(SYSEVENT_POLL);
                }
            })
            .map_err(|e| format!("spawn the sysevent poller: {e}"))?;
        Ok(Self { path, lines, stop })
    }
}

impl Drop for SyseventWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Follows the lab's sysevent record file as it grows.
struct RecordTail {
    path: PathBuf,
    file: Option<File>,
    partial: Vec<u8>,
}

impl RecordTail {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            partial: Vec::new(),
        }
    }

    /// Complete lines appended since the last call (none while the file does not exist).
    fn read_new(&mut self) -> Result<Vec<String>> {
        let failed = |e: std::io::Error| format!("read {}: {e}", self.path.display());
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(failed(e)),
            }
        }
        if let Some(file) = self.file.as_mut() {
            file.read_to_end(&mut self.partial).map_err(failed)?;
        }
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        Ok(String::from_utf8_lossy(&complete)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}
