//! What the kernel's sets must hold for a set of actions, and the changes that take a set from
//! what it holds to what it must hold. Pure: used for every commit (old record → new record)
//! and at start (kernel listing → persisted record), so both follow one rule.
//!
//! Block and Deny put the MAC in `deny`, Throttle in `throttle`, with the action's end as the
//! element's timeout; Allow, Monitor and DUID-keyed actions have no element (DUIDs are enforced
//! in userspace, on their learned MAC by the enforcer).

use std::collections::BTreeMap;

use crate::action::{Action, ClientKey, Mac};
use crate::actions::ActionRecord;
use crate::hook::KernelSet;
use crate::nftnl::{Change, Element};

/// Set elements by set and MAC, each with its end (unix seconds; `None`: no timeout).
pub(crate) type SetState = BTreeMap<(KernelSet, Mac), Option<u64>>;

/// The kernel set an action's MAC goes into, if any.
pub(crate) fn kernel_set(action: Action) -> Option<KernelSet> {
    match action {
        Action::Block | Action::Deny => Some(KernelSet::Deny),
        Action::Throttle => Some(KernelSet::Throttle),
        Action::Allow | Action::Monitor => None,
    }
}

/// The elements `records` need.
pub(crate) fn desired<'a>(records: impl IntoIterator<Item = &'a ActionRecord>) -> SetState {
    records
        .into_iter()
        .filter_map(|r| match (&r.client, kernel_set(r.action)) {
            (ClientKey::Mac(mac), Some(set)) => Some(((set, *mac), r.until)),
            _ => None,
        })
        .collect()
}

/// What the kernel listed, with each element's remaining time turned into its end.
pub(crate) fn listed(elements: &[Element], now: u64) -> SetState {
    elements
        .iter()
        .map(|e| {
            let end = e.expires_ms.map(|ms| now + ms.div_ceil(1000));
            ((e.set, e.mac), end)
        })
        .collect()
}

/// The changes from `have` to `want` at `now`: elements `want` lacks are deleted, missing ones
/// added with their remaining time, and elements whose end differs by more than `tolerance`
/// seconds (or that have a timeout where none is wanted, or the reverse) are replaced.
pub(crate) fn plan(want: &SetState, have: &SetState, now: u64, tolerance: u64) -> Vec<Change> {
    let mut out = Vec::new();
    for (set, mac) in have.keys().filter(|k| !want.contains_key(k)) {
        out.push(Change::Delete {
            set: set.name().to_string(),
            mac: *mac,
        });
    }
    for (&(set, mac), &end) in want {
        let same = match have.get(&(set, mac)) {
            None => false,
            Some(None) => end.is_none(),
            Some(Some(had)) => end.is_some_and(|e| e.abs_diff(*had) <= tolerance),
        };
        if !same {
            out.push(Change::Add {
                set: set.name().to_string(),
                mac,
                timeout_secs: end.map(|e| e.saturating_sub(now).max(1)),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> Mac {
        Mac([2, 0, 0, 0, 0, n])
    }

    fn rec(n: u8, action: Action, until: Option<u64>) -> ActionRecord {
        ActionRecord {
            client: ClientKey::Mac(mac(n)),
            action,
            since: 0,
            until,
            by: "uid:0".into(),
            reason: String::new(),
        }
    }

    fn add(set: &str, n: u8, timeout_secs: Option<u64>) -> Change {
        Change::Add {
            set: set.into(),
            mac: mac(n),
            timeout_secs,
        }
    }

    fn delete(set: &str, n: u8) -> Change {
        Change::Delete {
            set: set.into(),
            mac: mac(n),
        }
    }

    #[test]
    fn actions_map_to_sets() {
        let duid = ActionRecord {
            client: ClientKey::Duid(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1]),
            ..rec(9, Action::Deny, None)
        };
        let records = [
            rec(1, Action::Block, Some(7300)),
            rec(2, Action::Deny, None),
            rec(3, Action::Throttle, Some(500)),
            rec(4, Action::Monitor, None),
            rec(5, Action::Allow, None),
            duid,
        ];
        let want = desired(&records);
        assert_eq!(
            want.into_iter().collect::<Vec<_>>(),
            vec![
                ((KernelSet::Deny, mac(1)), Some(7300)),
                ((KernelSet::Deny, mac(2)), None),
                ((KernelSet::Throttle, mac(3)), Some(500)),
            ]
        );
    }

    #[test]
    fn a_commit_changes_only_what_changed() {
        let old = desired(&[
            rec(1, Action::Deny, None),
            rec(2, Action::Block, Some(7300)),
        ]);
        let new = desired(&[
            rec(2, Action::Block, Some(7300)),
            rec(3, Action::Throttle, Some(1100)),
            rec(4, Action::Monitor, None),
        ]);
        assert_eq!(
            plan(&new, &old, 100, 0),
            vec![delete("deny", 1), add("throttle", 3, Some(1000))]
        );
        // Moving a MAC from deny to throttle: out of one, into the other, in one transaction.
        let moved = desired(&[rec(1, Action::Throttle, None)]);
        let before = desired(&[rec(1, Action::Deny, None)]);
        assert_eq!(
            plan(&moved, &before, 0, 0),
            vec![delete("deny", 1), add("throttle", 1, None)]
        );
        assert!(plan(&old, &old, 100, 0).is_empty());
    }

    #[test]
    fn reconcile_from_a_kernel_listing() {
        let now = 1000;
        let record = desired(&[
            rec(1, Action::Deny, None),
            rec(2, Action::Block, Some(now + 3600)),
            rec(3, Action::Block, Some(now + 60)),
            rec(4, Action::Throttle, Some(now + 90)),
        ]);
        let el = |set, n, expires_ms| Element {
            set,
            mac: mac(n),
            expires_ms,
        };
        let kernel = listed(
            &[
                // Held and right.
                el(KernelSet::Deny, 1, None),
                // Held, its timer 1.5 s off: within the tolerance.
                el(KernelSet::Deny, 2, Some(3_598_500)),
                // Held with a timeout the record no longer has.
                el(KernelSet::Deny, 3, Some(5_000)),
                // Not in the record (cleared just before a crash).
                el(KernelSet::Deny, 7, None),
                el(KernelSet::Throttle, 1, Some(10_000)),
            ],
            now,
        );
        assert_eq!(
            plan(&record, &kernel, now, 2),
            vec![
                delete("deny", 7),
                delete("throttle", 1),
                add("deny", 3, Some(60)),
                add("throttle", 4, Some(90)),
            ]
        );
        // An empty record empties the sets; an expired end still gets at least a second.
        assert_eq!(plan(&SetState::new(), &kernel, now, 2).len(), 5);
        let late = desired(&[rec(5, Action::Block, Some(now - 5))]);
        assert_eq!(
            plan(&late, &SetState::new(), now, 2),
            vec![add("deny", 5, Some(1))]
        );
    }
}
