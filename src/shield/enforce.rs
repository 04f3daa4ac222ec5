//! The enforcer thread: turns action changes into kernel set elements (Block/Deny → `deny`,
//! Throttle → `throttle`, with the action's remaining time as the element's timeout), batched:
//! whatever arrives within 20 ms goes to the kernel in one nftables netlink transaction. Clients named
//! by DUID are enforced in userspace only (their packets get a drop verdict). Also expires
//! actions once a second.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shield::action::{Action, ClientKey};
use crate::shield::actions::ActionRecord;
use crate::shield::hook::{self, KernelSet};
use crate::shield::nftnl::{self, Change};
use crate::shield::state::{unix_now, Shared};

/// A change for the kernel.
#[derive(Debug, Clone)]
pub enum Enforce {
    Apply(ActionRecord),
    Clear(ActionRecord),
}

fn kernel_set(action: Action) -> Option<KernelSet> {
    match action {
        Action::Block | Action::Deny => Some(KernelSet::Deny),
        Action::Throttle => Some(KernelSet::Throttle),
        Action::Allow | Action::Monitor => None,
    }
}

/// The kernel set changes for a batch of action changes (`now`: unix seconds).
pub fn batch_changes(batch: &[Enforce], now: u64) -> Vec<Change> {
    let mut out = Vec::new();
    for cmd in batch {
        match cmd {
            Enforce::Apply(r) => {
                if let (ClientKey::Mac(mac), Some(set)) = (&r.client, kernel_set(r.action)) {
                    out.push(Change::Add {
                        set: set.name().to_string(),
                        mac: *mac,
                        timeout_secs: r.until.map(|u| u.saturating_sub(now).max(1)),
                    });
                }
            }
            Enforce::Clear(r) => {
                if let (ClientKey::Mac(mac), Some(set)) = (&r.client, kernel_set(r.action)) {
                    out.push(Change::Delete {
                        set: set.name().to_string(),
                        mac: *mac,
                    });
                }
            }
        }
    }
    out
}

/// Runs until the shield stops.
pub fn run(shared: Arc<Shared>, rx: Receiver<Enforce>) {
    let mut last_expiry = Instant::now();
    while !shared.stopping() {
        let mut batch = Vec::new();
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(cmd) => batch.push(cmd),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if !batch.is_empty() {
            let deadline = Instant::now() + Duration::from_millis(20);
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(left) {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            let changes = batch_changes(&batch, unix_now().0);
            if !changes.is_empty() {
                match nftnl::apply(hook::TABLE, &changes) {
                    Ok(()) => tracing::debug!(changes = changes.len(), "kernel sets updated"),
                    Err(e) => tracing::error!(error = %e, "cannot update the shield's kernel sets"),
                }
            }
        }
        if last_expiry.elapsed() >= Duration::from_secs(1) {
            last_expiry = Instant::now();
            shared.expire_actions();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shield::action::Mac;

    #[test]
    fn batches_map_actions_to_sets() {
        let mac = Mac([2, 0, 0, 0, 0, 1]);
        let rec = |action, until| ActionRecord {
            client: ClientKey::Mac(mac),
            action,
            since: 0,
            until,
            by: "t".into(),
            reason: String::new(),
        };
        let changes = batch_changes(
            &[
                Enforce::Apply(rec(Action::Block, Some(7300))),
                Enforce::Apply(rec(Action::Throttle, None)),
                Enforce::Apply(rec(Action::Monitor, None)),
                Enforce::Clear(rec(Action::Deny, None)),
            ],
            100,
        );
        assert_eq!(
            changes,
            vec![
                Change::Add {
                    set: "deny".into(),
                    mac,
                    timeout_secs: Some(7200)
                },
                Change::Add {
                    set: "throttle".into(),
                    mac,
                    timeout_secs: None
                },
                Change::Delete {
                    set: "deny".into(),
                    mac
                },
            ]
        );
        let duid = ActionRecord {
            client: ClientKey::Duid(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1]),
            ..rec(Action::Deny, None)
        };
        assert!(batch_changes(&[Enforce::Apply(duid)], 0).is_empty());
    }
}
