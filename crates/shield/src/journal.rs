//! The on-disk record: events as JSON lines in segment files under `state_dir/shield-journal/`
//! (`events-<unix ms>-<n>.jsonl`, a new segment every 1/8 of the size budget or hour), buffered
//! and flushed at least once a second; segments beyond the size budget or older than the age
//! limit are deleted, oldest first. Write errors are counted and logged once, never fatal.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The journal's directory in `state_dir`.
pub(crate) const JOURNAL_DIR: &str = "shield-journal";
const PREFIX: &str = "events-";
const SUFFIX: &str = ".jsonl";
/// Buffered events are flushed at least this often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Retention limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_bytes: u64,
    pub max_age: Duration,
}

pub struct Journal {
    dir: PathBuf,
    retention: Retention,
    current: Option<(BufWriter<File>, u64, Instant)>,
    last_flush: Instant,
    /// Whether events were written since the last flush.
    unflushed: bool,
    segment_seq: u64,
    pub write_errors: u64,
}

impl Journal {
    pub fn open(dir: &Path, retention: Retention) -> std::io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            retention,
            current: None,
            last_flush: Instant::now(),
            unflushed: false,
            segment_seq: 0,
            write_errors: 0,
        };
        journal.enforce_retention();
        Ok(journal)
    }

    fn segment_bytes(&self) -> u64 {
        (self.retention.max_bytes / 8).max(16 * 1024)
    }

    /// Appends one event's JSON as a line.
    pub fn append(&mut self, json: &str) {
        let rotate = self.current.as_ref().is_none_or(|(_, bytes, opened)| {
            *bytes >= self.segment_bytes() || opened.elapsed() >= Duration::from_secs(3600)
        });
        if rotate {
            self.rotate();
        }
        if let Some((writer, bytes, _)) = self.current.as_mut() {
            let ok = writer
                .write_all(json.as_bytes())
                .and_then(|()| writer.write_all(b"\n"));
            match ok {
                Ok(()) => {
                    *bytes += json.len() as u64 + 1;
                    self.unflushed = true;
                }
                Err(e) => self.failed(&e),
            }
        }
    }

    fn failed(&mut self, e: &std::io::Error) {
        if self.write_errors == 0 {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write the shield journal");
        }
        self.write_errors += 1;
    }

    fn rotate(&mut self) {
        self.flush();
        self.current = None;
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        self.segment_seq += 1;
        let path = self.dir.join(format!(
            "{PREFIX}{ms:015}-{:06}{SUFFIX}",
            self.segment_seq % 1_000_000
        ));
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => {
                self.current = Some((BufWriter::with_capacity(64 * 1024, f), 0, Instant::now()))
            }
            Err(e) => self.failed(&e),
        }
        self.enforce_retention();
    }

    /// Flushes if a second has passed since the last flush.
    pub fn tick(&mut self) {
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }

    /// How long until buffered events are due to be flushed; `None` when nothing waits.
    pub fn flush_due(&self) -> Option<Duration> {
        self.unflushed
            .then(|| FLUSH_EVERY.saturating_sub(self.last_flush.elapsed()))
    }

    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        self.unflushed = false;
        if let Some((writer, _, _)) = self.current.as_mut() {
            if let Err(e) = writer.flush() {
                self.failed(&e);
            }
        }
    }

    /// Segments, oldest first, with size and age.
    fn segments(&self) -> Vec<(PathBuf, u64, Duration)> {
        let mut out: Vec<(PathBuf, u64, Duration)> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(PREFIX) && name.ends_with(SUFFIX)
            })
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                let age = meta.modified().ok()?.elapsed().unwrap_or_default();
                Some((e.path(), meta.len(), age))
            })
            .collect();
        out.sort();
        out
    }

    /// Deletes the oldest segments until the rest fit the budget and none is too old (the
    /// segment being written is never deleted).
    pub fn enforce_retention(&self) {
        let segments = self.segments();
        let mut total: u64 = segments.iter().map(|(_, len, _)| len).sum();
        let last = segments.len().saturating_sub(1);
        for (i, (path, len, age)) in segments.iter().enumerate() {
            if i == last && self.current.is_some() {
                break;
            }
            let over = total > self.retention.max_bytes || *age > self.retention.max_age;
            if over && fs::remove_file(path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The last `limit` events in the journal under `dir` passing `keep`, oldest first (unreadable
/// lines are skipped).
pub(crate) fn read_recent(
    dir: &Path,
    limit: usize,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    segments.sort();
    let mut out = Vec::new();
    for segment in segments.iter().rev() {
        let Ok(text) = fs::read_to_string(segment) else {
            continue;
        };
        for line in text.lines().rev() {
            if out.len() >= limit {
                break;
            }
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
                if keep(&value) {
                    out.push(value);
                }
            }
        }
    }
    out.reverse();
    out
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_budget_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(
            dir.path(),
            Retention {
                max_bytes: 200 * 1024,
                max_age: Duration::from_secs(3600),
            },
        )
        .unwrap();
        let line = format!("{{\"pad\":\"{}\"}}", "x".repeat(500));
        for _ in 0..2000 {
            j.append(&line);
        }
        j.flush();
        j.enforce_retention();
        let total: u64 = j.segments().iter().map(|s| s.1).sum();
        // The budget plus at most the segment being written.
        assert!(total <= 200 * 1024 + 25 * 1024 + 1024, "{total} bytes kept");
        assert!(j.segments().len() > 1);
        let text = fs::read_to_string(&j.segments().last().unwrap().0).unwrap();
        assert!(text.lines().all(|l| l == line));
    }

    #[test]
    fn reads_back_the_newest_first_then_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let retention = Retention {
            max_bytes: 64 * 1024,
            max_age: Duration::from_secs(3600),
        };
        let mut j = Journal::open(dir.path(), retention).unwrap();
        for i in 0..3000 {
            j.append(&format!("{{\"seq\":{i}}}"));
        }
        j.flush();
        let odd = read_recent(dir.path(), 3, |v| {
            v["seq"].as_u64().is_some_and(|n| n % 2 == 1)
        });
        let seqs: Vec<u64> = odd.iter().filter_map(|v| v["seq"].as_u64()).collect();
        assert_eq!(seqs, vec![2995, 2997, 2999]);
        assert!(read_recent(&dir.path().join("none"), 5, |_| true).is_empty());
    }
}
