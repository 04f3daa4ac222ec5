//! The TR-181 instance numbers of the clients (`Device.DHCPv4.Client.{i}`), by family and
//! configured alias, and the number each family gives next. Kept in `state_dir` as
//! `tr181-instances.json` through [`StateStore`], so that a client keeps its number across
//! restarts, a deleted client's number is never given again, and a firmware update that
//! reorders the configuration file does not renumber anything. A factory reset keeps them:
//! they are not values anyone wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Instance;
use crate::persist::{PersistError, StateStore};

/// Name of the store's file in `state_dir`.
const STORE_NAME: &str = "tr181-instances";

/// The numbers of one family's clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireNumbering", into = "WireNumbering")]
pub(crate) struct Numbering {
    by_alias: BTreeMap<String, u32>,
    next: u32,
}

/// A numbering as stored: checked on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireNumbering {
    by_alias: BTreeMap<String, u32>,
    next: u32,
}

impl TryFrom<WireNumbering> for Numbering {
    type Error = String;

    fn try_from(wire: WireNumbering) -> Result<Self, String> {
        let mut seen = std::collections::BTreeSet::new();
        for (alias, &number) in &wire.by_alias {
            if number == 0 || number >= wire.next || !seen.insert(number) {
                return Err(format!(
                    "instance {number} of {alias:?} is 0, given twice or not below next {}",
                    wire.next
                ));
            }
        }
        Ok(Self {
            by_alias: wire.by_alias,
            next: wire.next,
        })
    }
}

impl From<Numbering> for WireNumbering {
    fn from(numbering: Numbering) -> Self {
        Self {
            by_alias: numbering.by_alias,
            next: numbering.next,
        }
    }
}

impl Default for Numbering {
    fn default() -> Self {
        Self {
            by_alias: BTreeMap::new(),
            next: 1,
        }
    }
}

impl Numbering {
    /// The number of the client with `alias`, giving it the next one if it has none.
    pub(crate) fn number(&mut self, alias: &str) -> Instance {
        if let Some(&number) = self.by_alias.get(alias) {
            return Instance(number);
        }
        let number = self.next;
        self.next = self.next.saturating_add(1);
        self.by_alias.insert(alias.to_string(), number);
        Instance(number)
    }

    /// The number the next client without one will get.
    pub(crate) fn next(&self) -> u32 {
        self.next
    }

    /// Forgets the client's number; it is not given again.
    pub(crate) fn forget(&mut self, alias: &str) {
        self.by_alias.remove(alias);
    }

    /// Forgets the numbers of every client `keep` says no to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.by_alias.retain(|alias, _| keep(alias));
    }
}

/// Both families' numbers, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct InstanceNumbers {
    pub dhcpv4: Numbering,
    pub dhcpv6: Numbering,
}

impl InstanceNumbers {
    /// Reads the stored numbers; none when there are none or the file is unreadable (it is set
    /// aside and the clients are numbered afresh).
    pub(crate) fn load(store: &StateStore) -> Self {
        store.load_or_default(STORE_NAME, "instance numbers")
    }

    pub(crate) fn save(&self, store: &StateStore) -> Result<(), PersistError> {
        store.save(STORE_NAME, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_keeps_its_number_and_a_forgotten_number_is_not_given_again() {
        let mut numbering = Numbering::default();
        assert_eq!(numbering.number("wan"), Instance(1));
        assert_eq!(numbering.number("voice"), Instance(2));
        assert_eq!(numbering.number("wan"), Instance(1));
        numbering.forget("voice");
        assert_eq!(numbering.next(), 3);
        assert_eq!(numbering.number("voice"), Instance(3));
        numbering.retain(|alias| alias != "wan");
        assert_eq!(numbering.number("wan"), Instance(4));
    }

    #[test]
    fn numbers_survive_the_store_and_a_broken_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path());
        let mut numbers = InstanceNumbers::default();
        numbers.dhcpv4.number("wan");
        numbers.dhcpv4.number("cpe-2");
        numbers.dhcpv4.forget("wan");
        numbers.dhcpv6.number("wan6");
        numbers.save(&store).expect("save");
        assert_eq!(InstanceNumbers::load(&store), numbers);

        for broken in [
            r#"{"by_alias":{"a":1,"b":1},"next":3}"#,
            r#"{"by_alias":{"a":3},"next":3}"#,
            r#"{"by_alias":{"a":0},"next":3}"#,
        ] {
            assert!(
                serde_json::from_str::<Numbering>(broken).is_err(),
                "{broken}"
            );
        }
    }
}
