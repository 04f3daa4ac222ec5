//! What the system events should say and what `sysevent` has confirmed: the controller hands
//! each client's wanted values ([`Ledger::desire`]); a key counts as set only after its command
//! succeeded ([`Ledger::confirm`]); [`Ledger::pending`] is what still has to go out, in order.
//! The whole ledger is persisted (`sysevents.json` in `state_dir`), so that a restart still sets
//! what a failed command left behind. Pure: no I/O besides [`Ledger::load`] and [`Ledger::save`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::persist::{PersistError, StateStore};

/// The record's name in `state_dir`.
const RECORD: &str = "sysevents";

/// One client's wanted values, in the order they must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wanted {
    /// The TR-181 object the values come from, for the `Event` that says they are behind.
    pub object_path: String,
    /// Keys with their values; an empty value clears a key this client set before.
    pub values: Vec<(String, String)>,
}

/// Wanted and confirmed values of every client, for one boot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// syseventd keeps its values until the box reboots; another boot starts empty.
    pub boot_id: String,
    /// By owner (the client's state name, e.g. `v4-wan`).
    pub wanted: BTreeMap<String, Wanted>,
    /// Values whose `set` succeeded; a cleared key is absent.
    pub confirmed: BTreeMap<String, String>,
}

impl Ledger {
    /// The persisted ledger of boot `boot_id`; empty after a reboot or when absent or corrupt.
    pub fn load(store: &StateStore, boot_id: &str) -> Self {
        let ledger: Self = store.load_or_default(RECORD, "system events");
        if ledger.boot_id == boot_id {
            ledger
        } else {
            Self {
                boot_id: boot_id.to_owned(),
                ..Self::default()
            }
        }
    }

    /// The ledger of boot `boot_id` in `state_dir`, read only (for `dhcpmgrctl status`);
    /// `None` when absent, unreadable, corrupt or from another boot.
    pub fn peek(state_dir: &Path, boot_id: &str) -> Option<Self> {
        let body = std::fs::read(state_dir.join(format!("{RECORD}.json"))).ok()?;
        serde_json::from_slice::<Self>(&body)
            .ok()
            .filter(|l| l.boot_id == boot_id)
    }

    /// Writes the ledger to `sysevents.json` in `store` atomically.
    pub fn save(&self, store: &StateStore) -> Result<(), PersistError> {
        store.save(RECORD, self)
    }

    /// `owner` now wants `values` (complete, in order). Keys it wanted before and no longer
    /// does are cleared first, unless nothing was ever confirmed for them.
    pub fn desire(&mut self, owner: &str, object_path: &str, values: Vec<(String, String)>) {
        let previous = self.wanted.remove(owner).unwrap_or_default();
        let mut next: Vec<(String, String)> = previous
            .values
            .into_iter()
            .filter(|(k, _)| !values.iter().any(|(key, _)| key == k))
            .filter(|(k, _)| self.confirmed.contains_key(k))
            .map(|(k, _)| (k, String::new()))
            .collect();
        next.extend(values);
        self.wanted.insert(
            owner.to_owned(),
            Wanted {
                object_path: object_path.to_owned(),
                values: next,
            },
        );
    }

    /// Records that `key` was set to `value`; a cleared key is forgotten by its owner too.
    pub fn confirm(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            self.confirmed.remove(key);
            for wanted in self.wanted.values_mut() {
                wanted.values.retain(|(k, v)| !(k == key && v.is_empty()));
            }
        } else {
            self.confirmed.insert(key.to_owned(), value.to_owned());
        }
        self.wanted.retain(|_, w| !w.values.is_empty());
    }

    /// Every key still to set, with its value and the object it belongs to, in order: owners in
    /// name order, each owner's values in its order. A key two owners want goes out once, with
    /// the later owner's value.
    pub fn pending(&self) -> Vec<Pending<'_>> {
        let mut latest: BTreeMap<&str, &str> = BTreeMap::new();
        for wanted in self.wanted.values() {
            for (k, v) in &wanted.values {
                latest.insert(k, v);
            }
        }
        let mut out: Vec<Pending<'_>> = Vec::new();
        for wanted in self.wanted.values() {
            for (k, v) in &wanted.values {
                let current = latest.get(k.as_str()).copied() == Some(v.as_str());
                let set = self.confirmed.get(k).map(String::as_str);
                let needed = if v.is_empty() {
                    set.is_some()
                } else {
                    set != Some(v.as_str())
                };
                if current && needed && !out.iter().any(|p| p.key == k) {
                    out.push(Pending {
                        key: k,
                        value: v,
                        object_path: &wanted.object_path,
                    });
                }
            }
        }
        out
    }
}

/// One key still to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub object_path: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn keys(l: &Ledger) -> Vec<(String, String)> {
        l.pending()
            .iter()
            .map(|p| (p.key.to_string(), p.value.to_string()))
            .collect()
    }

    #[test]
    fn only_confirmed_keys_count_as_set_and_order_is_kept() {
        let mut l = Ledger::default();
        l.desire(
            "v4-wan",
            "Device.DHCPv4.Client.1",
            kv(&[("a", "1"), ("b", "2"), ("state", "bound")]),
        );
        assert_eq!(keys(&l), kv(&[("a", "1"), ("b", "2"), ("state", "bound")]));
        l.confirm("a", "1");
        assert_eq!(keys(&l), kv(&[("b", "2"), ("state", "bound")]));
        assert_eq!(l.pending()[0].object_path, "Device.DHCPv4.Client.1");
        l.confirm("b", "2");
        l.confirm("state", "bound");
        assert!(l.pending().is_empty());
        // The same values again need nothing.
        l.desire(
            "v4-wan",
            "Device.DHCPv4.Client.1",
            kv(&[("a", "1"), ("b", "2"), ("state", "bound")]),
        );
        assert!(l.pending().is_empty());
    }

    #[test]
    fn a_changed_value_replaces_the_one_still_pending() {
        let mut l = Ledger::default();
        l.desire("o", "p", kv(&[("a", "1")]));
        l.desire("o", "p", kv(&[("a", "2")]));
        assert_eq!(keys(&l), kv(&[("a", "2")]));
    }

    #[test]
    fn vanished_keys_are_cleared_first_only_if_they_were_set() {
        let mut l = Ledger::default();
        l.desire(
            "o",
            "p",
            kv(&[
                ("ip", "192.0.2.1"),
                ("gw", "192.0.2.254"),
                ("state", "bound"),
            ]),
        );
        l.confirm("ip", "192.0.2.1");
        l.confirm("state", "bound");
        // gw never got set: nothing to clear for it.
        l.desire("o", "p", kv(&[("state", "deconfig")]));
        assert_eq!(keys(&l), kv(&[("ip", ""), ("state", "deconfig")]));
        l.confirm("ip", "");
        l.confirm("state", "deconfig");
        assert!(l.pending().is_empty());
        assert_eq!(
            l.confirmed,
            BTreeMap::from([("state".into(), "deconfig".into())])
        );
        assert_eq!(l.wanted["o"].values, kv(&[("state", "deconfig")]));
    }

    #[test]
    fn a_key_two_owners_want_goes_out_once_with_the_later_value() {
        let mut l = Ledger::default();
        l.desire("v6-a", "p1", kv(&[("wan6_ns", "2001:db8::1")]));
        l.desire("v6-b", "p2", kv(&[("wan6_ns", "2001:db8::2")]));
        assert_eq!(keys(&l), kv(&[("wan6_ns", "2001:db8::2")]));
        l.confirm("wan6_ns", "2001:db8::2");
        assert!(l.pending().is_empty());
    }

    #[test]
    fn persisted_ledger_survives_a_restart_but_not_a_reboot() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut l = Ledger::load(&store, "boot-1");
        l.desire("o", "p", kv(&[("a", "1"), ("b", "2")]));
        l.confirm("a", "1");
        l.save(&store).unwrap();
        let again = Ledger::load(&store, "boot-1");
        assert_eq!(again, l);
        assert_eq!(keys(&again), kv(&[("b", "2")]));
        assert_eq!(Ledger::peek(dir.path(), "boot-1"), Some(l.clone()));
        assert_eq!(Ledger::peek(dir.path(), "boot-2"), None);
        let rebooted = Ledger::load(&store, "boot-2");
        assert!(rebooted.wanted.is_empty() && rebooted.confirmed.is_empty());
        assert_eq!(rebooted.boot_id, "boot-2");
    }
}
