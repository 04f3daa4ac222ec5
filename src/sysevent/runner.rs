//! The task that runs `<command> set <key> <value>` for what the [`Ledger`] says is pending, off
//! the lease path: in order, one at a time; after a failure it waits (1 s, doubling to 60 s)
//! and tries the same key again, at once when new values arrive. Each change of the ledger is
//! persisted; a failed write is tried again at the next change. When keys are behind, an
//! `Event` (`SysEventsBehind`, with the key, the reason and how many are pending) goes to the
//! TR-181 thread, and `SysEventsCaughtUp` when all are set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::ledger::Ledger;
use crate::channels::{ControllerUpdate, UpdateSender};
use crate::model::EventKind;
use crate::persist::StateStore;

/// Longest wait between two tries of a failing key.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// A `sysevent` call that has not finished by then counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client now wants set.
#[derive(Debug)]
pub(super) struct Desire {
    pub owner: String,
    pub object_path: String,
    pub values: Vec<(String, String)>,
}

/// Whether system events are behind, as last seen by the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Behind {
    /// Keys not yet set.
    pub pending: usize,
    /// The key being retried, and why its last try failed.
    pub key: String,
    pub reason: String,
}

pub(super) struct Runner {
    pub command: PathBuf,
    pub store: StateStore,
    pub ledger: Ledger,
    pub updates: UpdateSender,
    /// What was last reported.
    pub behind: Option<Behind>,
}

impl Runner {
    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Desire>) {
        let mut backoff = FIRST_BACKOFF;
        let mut unsaved = false;
        loop {
            let next = self.ledger.pending().first().map(|p| {
                (
                    p.key.to_owned(),
                    p.value.to_owned(),
                    p.object_path.to_owned(),
                )
            });
            let Some((key, value, object_path)) = next else {
                self.report(None, "");
                if unsaved {
                    // A failure is logged; the next change writes the whole ledger again.
                    self.save();
                }
                match rx.recv().await {
                    Some(desire) => unsaved = !self.apply(desire),
                    None => return,
                }
                continue;
            };
            match run_one(&self.command, &key, &value).await {
                Ok(()) => {
                    tracing::debug!(key, value, "sysevent set");
                    self.ledger.confirm(&key, &value);
                    backoff = FIRST_BACKOFF;
                    unsaved = true;
                    if self.ledger.pending().is_empty() {
                        unsaved = !self.save();
                    }
                }
                Err(failure) => {
                    let pending = self.ledger.pending().len();
                    let behind = Behind {
                        pending,
                        key: key.clone(),
                        reason: failure.to_string(),
                    };
                    self.report(Some(behind), &object_path);
                    if unsaved {
                        unsaved = !self.save();
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                        desire = rx.recv() => match desire {
                            Some(desire) => unsaved = !self.apply(desire),
                            None => return,
                        },
                    }
                }
            }
            // Take every value that arrived meanwhile before choosing the next key.
            while let Ok(desire) = rx.try_recv() {
                unsaved = !self.apply(desire);
            }
        }
    }

    /// Records `desire` and persists the ledger; `false` when the write failed.
    fn apply(&mut self, desire: Desire) -> bool {
        self.ledger
            .desire(&desire.owner, &desire.object_path, desire.values);
        self.save()
    }

    fn save(&self) -> bool {
        match self.ledger.save(&self.store) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot persist the system events; trying again at the next change");
                false
            }
        }
    }

    /// Tells the TR-181 thread (and the shared status) when the picture changes.
    fn report(&mut self, now: Option<Behind>, object_path: &str) {
        let changed = match (&self.behind, &now) {
            (None, None) => false,
            (Some(old), Some(new)) => old.key != new.key || old.reason != new.reason,
            _ => true,
        };
        if !changed {
            self.behind = now;
            return;
        }
        let (kind, data) = match &now {
            Some(b) => {
                tracing::warn!(
                    key = b.key,
                    pending = b.pending,
                    reason = b.reason,
                    "system events are behind; retrying"
                );
                (
                    EventKind::SysEventsBehind,
                    [
                        ("key".to_string(), b.key.clone()),
                        ("reason".to_string(), b.reason.clone()),
                        ("pending".to_string(), b.pending.to_string()),
                    ]
                    .into(),
                )
            }
            None => {
                tracing::info!("system events caught up");
                (EventKind::SysEventsCaughtUp, Default::default())
            }
        };
        let path = if object_path.is_empty() {
            "Device.".to_string()
        } else {
            object_path.to_string()
        };
        let _ = self.updates.send(ControllerUpdate::Event {
            object_path: path,
            kind,
            data,
        });
        self.behind = now;
    }
}

/// Why `<command> set <key> <value>` did not set the key.
#[derive(Debug, thiserror::Error)]
enum SetFailed {
    /// It ran and exited with a failure status (or was killed by a signal).
    #[error("{} {status}", command.display())]
    Exited {
        command: PathBuf,
        status: std::process::ExitStatus,
    },
    /// It could not be run (missing, not executable, no processes left).
    #[error("cannot run {}: {source}", command.display())]
    Spawn {
        command: PathBuf,
        source: std::io::Error,
    },
    /// It did not finish within [`COMMAND_TIMEOUT`] and was killed.
    #[error("{} did not finish in {COMMAND_TIMEOUT:?}", command.display())]
    Timeout { command: PathBuf },
}

/// Runs `<command> set <key> <value>`; `Err` says why unless it exited 0.
async fn run_one(command: &Path, key: &str, value: &str) -> Result<(), SetFailed> {
    let child = tokio::process::Command::new(command)
        .args(["set", key, value])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Ok(Ok(s)) if s.success() => Ok(()),
        Ok(Ok(status)) => Err(SetFailed::Exited {
            command: command.to_path_buf(),
            status,
        }),
        Ok(Err(source)) => Err(SetFailed::Spawn {
            command: command.to_path_buf(),
            source,
        }),
        Err(_) => Err(SetFailed::Timeout {
            command: command.to_path_buf(),
        }),
    }
}
