//! What was written over TR-181, kept apart from the configuration file, per family: for each
//! configuration-file client (by its configured alias) the settings fields whose written value
//! differs from the file's, the clients AddObject created (whole), and the file's clients
//! DeleteObject removed. The file's values are defaults; these win at start and after a
//! reload, so a firmware update that changes the file still reaches every field nobody wrote.
//! A factory reset drops them. Stored as `tr181-writes.json` in `state_dir` through
//! [`StateStore`] (atomic, corrupt files set aside); the format of earlier releases, which had
//! only the written fields, is still read.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{ClientAlias, ClientSettings, V4ClientConfig, V6ClientConfig};
use crate::persist::{PersistError, StateStore};

/// Why a write was refused because it could not be stored (see [`NotStored`]).
const NOT_STORED: &str = "the write could not be stored, so none of it is in force";

/// A write refused because storing it failed: the writes are stored before they take effect,
/// so nothing of it is in force (TR-181 answers 9002 Internal error).
#[derive(Debug, thiserror::Error)]
#[error("{NOT_STORED}: {0}")]
pub struct NotStored(#[from] PersistError);

/// Name of the store's file in `state_dir`.
const STORE_NAME: &str = "tr181-writes";

/// The writes of both families.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "WireOverrides")]
pub(crate) struct Overrides {
    dhcpv4: FamilyWrites<V4ClientConfig>,
    dhcpv6: FamilyWrites<V6ClientConfig>,
}

/// The writes to one family's clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    bound(deserialize = "T: Deserialize<'de>")
)]
struct FamilyWrites<T> {
    /// Written fields of the file's clients, by configured alias.
    written: BTreeMap<String, Map<String, Value>>,
    /// Clients AddObject created, with their settings.
    added: Vec<T>,
    /// Configured aliases of the file's clients DeleteObject removed.
    deleted: BTreeSet<String>,
}

impl<T> Default for FamilyWrites<T> {
    fn default() -> Self {
        Self {
            written: BTreeMap::new(),
            added: Vec::new(),
            deleted: BTreeSet::new(),
        }
    }
}

/// The stored file: this release's form, or the earlier one (written fields only).
#[derive(Deserialize)]
#[serde(untagged)]
enum WireOverrides {
    Current {
        #[serde(default)]
        dhcpv4: FamilyWrites<V4ClientConfig>,
        #[serde(default)]
        dhcpv6: FamilyWrites<V6ClientConfig>,
    },
    Written {
        #[serde(default)]
        dhcpv4: BTreeMap<String, Map<String, Value>>,
        #[serde(default)]
        dhcpv6: BTreeMap<String, Map<String, Value>>,
    },
}

impl From<WireOverrides> for Overrides {
    fn from(wire: WireOverrides) -> Self {
        match wire {
            WireOverrides::Current { dhcpv4, dhcpv6 } => Self { dhcpv4, dhcpv6 },
            WireOverrides::Written { dhcpv4, dhcpv6 } => Self {
                dhcpv4: FamilyWrites {
                    written: dhcpv4,
                    ..FamilyWrites::default()
                },
                dhcpv6: FamilyWrites {
                    written: dhcpv6,
                    ..FamilyWrites::default()
                },
            },
        }
    }
}

impl Overrides {
    /// Reads the stored writes; none when there are none or the file is unreadable (it is
    /// set aside and the defaults apply).
    pub(crate) fn load(store: &StateStore) -> Self {
        store.load_or_default(STORE_NAME, "tr181")
    }

    /// Stores the writes, or removes the file when there are none.
    pub(crate) fn save(&self, store: &StateStore) -> Result<(), PersistError> {
        if self.is_empty() {
            store.remove(STORE_NAME)
        } else {
            store.save(STORE_NAME, self)
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.dhcpv4.is_empty() && self.dhcpv6.is_empty()
    }

    /// The DHCPv4 clients: the file's (`defaults`) less the deleted ones, with the writes
    /// applied, then the added ones.
    pub(crate) fn apply_v4(&self, defaults: &[V4ClientConfig]) -> Vec<V4ClientConfig> {
        self.dhcpv4.apply(defaults)
    }

    /// The DHCPv6 clients, as [`Self::apply_v4`].
    pub(crate) fn apply_v6(&self, defaults: &[V6ClientConfig]) -> Vec<V6ClientConfig> {
        self.dhcpv6.apply(defaults)
    }

    /// Stores the writes as they will be once the clients are `v4` and `v6` (file entries
    /// `v4_defaults`, `v6_defaults`), before that takes effect; on failure nothing changes, in
    /// memory or on disk, and the change must not be made.
    pub(crate) fn store_ahead<'a>(
        &mut self,
        store: &StateStore,
        (v4_defaults, v4): (
            &[V4ClientConfig],
            impl IntoIterator<Item = &'a V4ClientConfig>,
        ),
        (v6_defaults, v6): (
            &[V6ClientConfig],
            impl IntoIterator<Item = &'a V6ClientConfig>,
        ),
    ) -> Result<(), NotStored> {
        let mut next = self.clone();
        next.record_v4(v4_defaults, v4);
        next.record_v6(v6_defaults, v6);
        next.save(store)?;
        *self = next;
        Ok(())
    }

    /// Records that the DHCPv4 clients, whose file entries are `defaults`, are now `clients`.
    pub(crate) fn record_v4<'a>(
        &mut self,
        defaults: &[V4ClientConfig],
        clients: impl IntoIterator<Item = &'a V4ClientConfig>,
    ) {
        self.dhcpv4.record(defaults, clients);
    }

    /// Records that the DHCPv6 clients, whose file entries are `defaults`, are now `clients`.
    pub(crate) fn record_v6<'a>(
        &mut self,
        defaults: &[V6ClientConfig],
        clients: impl IntoIterator<Item = &'a V6ClientConfig>,
    ) {
        self.dhcpv6.record(defaults, clients);
    }

    /// Forgets the writes to and deletions of clients the file no longer has.
    pub(crate) fn retain_clients(&mut self, v4: &[V4ClientConfig], v6: &[V6ClientConfig]) {
        self.dhcpv4.retain_clients(v4);
        self.dhcpv6.retain_clients(v6);
    }
}

impl<T: ClientSettings> FamilyWrites<T> {
    fn is_empty(&self) -> bool {
        self.written.is_empty() && self.added.is_empty() && self.deleted.is_empty()
    }

    fn apply(&self, defaults: &[T]) -> Vec<T> {
        let kept = defaults
            .iter()
            .filter(|d| !self.deleted.contains(d.alias().as_str()))
            .map(|d| {
                let alias = d.alias().as_str();
                apply(d, self.written.get(alias), alias)
            });
        let added = self.added.iter().filter(|a| {
            let alias = a.alias();
            let clash = defaults.iter().any(|d| d.alias() == alias);
            if clash {
                tracing::warn!(client = %alias, "a client added over TR-181 has the alias of one in the configuration file; keeping the file's");
            }
            !clash
        });
        kept.chain(added.cloned()).collect()
    }

    fn record<'a>(&mut self, defaults: &[T], clients: impl IntoIterator<Item = &'a T>)
    where
        T: 'a,
    {
        let clients: Vec<&T> = clients.into_iter().collect();
        let current = |alias: &ClientAlias| clients.iter().any(|c| c.alias() == alias);
        self.deleted = defaults
            .iter()
            .map(ClientSettings::alias)
            .filter(|alias| !current(alias))
            .map(|alias| alias.to_string())
            .collect();
        self.written.clear();
        self.added.clear();
        for client in clients {
            let alias = client.alias();
            match defaults.iter().find(|d| d.alias() == alias) {
                Some(default) => {
                    let fields = diff(default, client);
                    if !fields.is_empty() {
                        self.written.insert(alias.to_string(), fields);
                    }
                }
                None => self.added.push(client.clone()),
            }
        }
    }

    fn retain_clients(&mut self, defaults: &[T]) {
        let in_file = |alias: &str| defaults.iter().any(|d| d.alias().as_str() == alias);
        self.written.retain(|alias, _| in_file(alias));
        self.deleted.retain(|alias| in_file(alias));
    }
}

/// The top-level fields of `settings` whose values differ from `default`'s.
fn diff<T: Serialize>(default: &T, settings: &T) -> Map<String, Value> {
    let (Ok(Value::Object(default)), Ok(Value::Object(settings))) = (
        serde_json::to_value(default),
        serde_json::to_value(settings),
    ) else {
        return Map::new();
    };
    settings
        .into_iter()
        .filter(|(field, value)| default.get(field) != Some(value))
        .collect()
}

/// `default` with `fields` written over it; `default` itself when the result does not parse
/// (a stored value this build no longer accepts), after saying so.
fn apply<T: Serialize + DeserializeOwned + Clone>(
    default: &T,
    fields: Option<&Map<String, Value>>,
    alias: &str,
) -> T {
    let Some(fields) = fields else {
        return default.clone();
    };
    let Ok(Value::Object(mut merged)) = serde_json::to_value(default) else {
        return default.clone();
    };
    for (field, value) in fields {
        merged.insert(field.clone(), value.clone());
    }
    match serde_json::from_value(Value::Object(merged)) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::warn!(client = alias, error = %e, "stored TR-181 writes do not fit the client any more; using the configuration file's values");
            default.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, InterfaceName, SentOption};

    fn defaults() -> Vec<V4ClientConfig> {
        Config::parse(
            r#"
            [[dhcpv4.client]]
            alias = "wan"
            interface = "erouter0"
            [[dhcpv4.client]]
            alias = "voice"
            interface = "voip0"
            "#,
        )
        .expect("config")
        .dhcpv4_clients
    }

    fn alias(text: &str) -> ClientAlias {
        ClientAlias::new(text).expect("alias")
    }

    #[test]
    fn writes_stored_ahead_change_nothing_when_the_store_fails() {
        let file = defaults();
        let mut written = file[0].clone();
        written.enable = false;
        let mut overrides = Overrides::default();
        let broken = StateStore::new("/dev/null/state");
        let error = overrides
            .store_ahead(&broken, (&file, [&written, &file[1]]), (&[], []))
            .expect_err("/dev/null is no directory");
        assert!(error.to_string().starts_with(NOT_STORED), "{error}");
        assert!(overrides.is_empty(), "nothing recorded");

        let dir = tempfile::tempdir().expect("temp dir");
        let store = StateStore::new(dir.path());
        overrides
            .store_ahead(&store, (&file, [&written, &file[1]]), (&[], []))
            .expect("stored");
        assert_eq!(Overrides::load(&store), overrides);
        assert!(!overrides.is_empty());
    }

    #[test]
    fn only_written_fields_are_kept_and_file_changes_still_apply() {
        let file = defaults();
        let mut written = file[0].clone();
        written.enable = false;
        let mut overrides = Overrides::default();
        overrides.record_v4(&file, [&written, &file[1]]);
        assert_eq!(overrides.dhcpv4.written.len(), 1);
        assert_eq!(
            overrides.dhcpv4.written["wan"].keys().collect::<Vec<_>>(),
            ["enable"]
        );

        let mut new_file = file.clone();
        new_file[0].interface = Some(InterfaceName::new("erouter1").expect("name"));
        let applied = overrides.apply_v4(&new_file);
        assert!(!applied[0].enable, "the write wins");
        assert_eq!(
            applied[0].interface_name(),
            "erouter1",
            "the file's change reaches the rest"
        );
        assert_eq!(applied[1], new_file[1]);
    }

    #[test]
    fn writing_the_default_back_forgets_the_write() {
        let file = defaults();
        let mut written = file[0].clone();
        written
            .sent_options
            .add(SentOption::new(60, "6463").expect("option"));
        let mut overrides = Overrides::default();
        overrides.record_v4(&file, [&written, &file[1]]);
        assert!(!overrides.is_empty());
        overrides.record_v4(&file, &file);
        assert!(overrides.is_empty());
    }

    #[test]
    fn added_clients_are_kept_whole_and_deleted_file_clients_stay_deleted() {
        let file = defaults();
        let added = V4ClientConfig::added(alias("cpe-3"));
        let mut overrides = Overrides::default();
        overrides.record_v4(&file, [&file[1], &added]);
        assert_eq!(
            overrides.apply_v4(&file),
            vec![file[1].clone(), added.clone()]
        );

        // A firmware update that drops "wan" from the file forgets that it was deleted.
        overrides.retain_clients(&file[1..], &[]);
        assert_eq!(overrides.apply_v4(&file[1..]), vec![file[1].clone(), added]);
        assert!(overrides.dhcpv4.deleted.is_empty());
        // The file taking the added client's alias wins over the added client.
        let mut clash = file.clone();
        clash[0].alias = alias("cpe-3");
        assert_eq!(overrides.apply_v4(&clash), clash);
    }

    #[test]
    fn stored_values_are_checked_and_a_bad_one_falls_back_to_the_file() {
        let file = defaults();
        let text = r#"{"dhcpv4":{"written":{"wan":{"interface":"not/a name"}}}}"#;
        let overrides: Overrides = serde_json::from_str(text).expect("parses as a map");
        assert_eq!(overrides.apply_v4(&file), file);
    }

    #[test]
    fn the_earlier_format_with_written_fields_only_is_still_read() {
        let file = defaults();
        let text = r#"{"dhcpv4":{"wan":{"enable":false}},"dhcpv6":{}}"#;
        let overrides: Overrides = serde_json::from_str(text).expect("earlier format");
        let applied = overrides.apply_v4(&file);
        assert!(!applied[0].enable);
        assert_eq!(applied[1], file[1]);
    }

    #[test]
    fn writes_survive_a_round_trip_through_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path());
        let file = defaults();
        let mut written = file[1].clone();
        written.renamed = Some(alias("cpe-voice"));
        let mut added = V4ClientConfig::added(alias("cpe-4"));
        added.interface = Some(InterfaceName::new("wan2").expect("name"));
        let mut overrides = Overrides::default();
        overrides.record_v4(&file, [&written, &added]);
        overrides.save(&store).expect("save");
        assert_eq!(
            Overrides::load(&store).apply_v4(&file),
            vec![written, added]
        );
        Overrides::default().save(&store).expect("save nothing");
        assert!(!dir.path().join("tr181-writes.json").exists());
    }
}
