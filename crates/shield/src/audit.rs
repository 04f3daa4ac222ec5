//! The audit log: every action change with who, what and why, appended as JSON lines to
//! `state_dir/shield-audit.jsonl` (rotated to `.1` past 1 MiB) and kept in memory (last 256)
//! for `dhcpmgrctl shield audit`.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

const KEEP: usize = 256;
const ROTATE_BYTES: u64 = 1 << 20;

/// One audited change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC.
    pub time: String,
    /// `config`, `rule:<name>`, `uid:<n>`, `expiry`.
    pub who: String,
    /// `set`, `clear`, `expired`.
    pub what: String,
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    pub why: String,
}

#[derive(Debug)]
pub struct Audit {
    path: Option<PathBuf>,
    recent: VecDeque<AuditEntry>,
}

impl Audit {
    /// An audit log written to `path` (none: memory only).
    pub fn new(path: Option<PathBuf>) -> Audit {
        Audit {
            path,
            recent: VecDeque::new(),
        }
    }

    pub fn record(&mut self, entry: AuditEntry) {
        tracing::info!(
            who = %entry.who,
            what = %entry.what,
            client = %entry.client,
            action = entry.action.as_deref().unwrap_or(""),
            why = %entry.why,
            "shield action change"
        );
        if let Some(path) = &self.path {
            if fs::metadata(path).is_ok_and(|m| m.len() > ROTATE_BYTES) {
                let _ = fs::rename(path, path.with_extension("jsonl.1"));
            }
            let line = serde_json::to_string(&entry).unwrap_or_default();
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(e) = written {
                tracing::warn!(path = %path.display(), error = %e, "cannot append to the shield audit log");
            }
        }
        if self.recent.len() >= KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(entry);
    }

    /// The last `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<AuditEntry> {
        let skip = self.recent.len().saturating_sub(limit);
        self.recent.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_keeps_recent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut a = Audit::new(Some(path.clone()));
        for i in 0..3 {
            a.record(AuditEntry {
                time: "t".into(),
                who: "uid:0".into(),
                what: "set".into(),
                client: format!("c{i}"),
                action: Some("deny".into()),
                until: None,
                why: "test".into(),
            });
        }
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3);
        let last: Vec<String> = a.recent(2).into_iter().map(|e| e.client).collect();
        assert_eq!(last, vec!["c1", "c2"]);
    }
}
