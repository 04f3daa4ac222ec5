//! What was written over TR-181, kept apart from the configuration file: for each client (by
//! its configured alias) the settings fields whose written value differs from the file's. The
//! file's values are defaults; these win at start and after a reload, so a firmware update
//! that changes the file still reaches every field nobody wrote. A factory reset drops them.
//! Stored as `tr181-writes.json` in `state_dir` through [`StateStore`] (atomic, corrupt files
//! set aside).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{V4ClientConfig, V6ClientConfig};
use crate::persist::{PersistError, StateStore};

/// Name of the store's file in `state_dir`.
const STORE_NAME: &str = "tr181-writes";

/// Written fields per family and configured alias.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Overrides {
    dhcpv4: BTreeMap<String, Map<String, Value>>,
    dhcpv6: BTreeMap<String, Map<String, Value>>,
}

impl Overrides {
    /// Reads the stored writes; none when there are none or the file is unreadable (it is
    /// set aside and the defaults apply).
    pub fn load(store: &StateStore) -> Self {
        store.load_or_default(STORE_NAME, "tr181")
    }

    /// Stores the writes, or removes the file when there are none.
    pub fn save(&self, store: &StateStore) -> Result<(), PersistError> {
        if self.is_empty() {
            store.remove(STORE_NAME)
        } else {
            store.save(STORE_NAME, self)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.dhcpv4.is_empty() && self.dhcpv6.is_empty()
    }

    /// The DHCPv4 clients with the writes applied to the file's `defaults`.
    pub fn apply_v4(&self, defaults: &[V4ClientConfig]) -> Vec<V4ClientConfig> {
        defaults
            .iter()
            .map(|d| apply(d, self.dhcpv4.get(d.alias.as_str()), d.alias.as_str()))
            .collect()
    }

    /// The DHCPv6 clients with the writes applied to the file's `defaults`.
    pub fn apply_v6(&self, defaults: &[V6ClientConfig]) -> Vec<V6ClientConfig> {
        defaults
            .iter()
            .map(|d| apply(d, self.dhcpv6.get(d.alias.as_str()), d.alias.as_str()))
            .collect()
    }

    /// Records that the DHCPv4 client whose file entry is `default` now has `settings`.
    pub fn record_v4(&mut self, default: &V4ClientConfig, settings: &V4ClientConfig) {
        record(&mut self.dhcpv4, default.alias.as_str(), default, settings);
    }

    /// Records that the DHCPv6 client whose file entry is `default` now has `settings`.
    pub fn record_v6(&mut self, default: &V6ClientConfig, settings: &V6ClientConfig) {
        record(&mut self.dhcpv6, default.alias.as_str(), default, settings);
    }

    /// Forgets the writes to clients the file no longer has.
    pub fn retain_clients(&mut self, v4: &[V4ClientConfig], v6: &[V6ClientConfig]) {
        self.dhcpv4
            .retain(|alias, _| v4.iter().any(|c| c.alias.as_str() == alias));
        self.dhcpv6
            .retain(|alias, _| v6.iter().any(|c| c.alias.as_str() == alias));
    }
}

fn record<T: Serialize>(
    family: &mut BTreeMap<String, Map<String, Value>>,
    alias: &str,
    default: &T,
    settings: &T,
) {
    let fields = diff(default, settings);
    if fields.is_empty() {
        family.remove(alias);
    } else {
        family.insert(alias.to_string(), fields);
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

    #[test]
    fn only_written_fields_are_kept_and_file_changes_still_apply() {
        let file = defaults();
        let mut written = file[0].clone();
        written.enable = false;
        let mut overrides = Overrides::default();
        overrides.record_v4(&file[0], &written);
        overrides.record_v4(&file[1], &file[1]);
        assert_eq!(overrides.dhcpv4.len(), 1);
        assert_eq!(
            overrides.dhcpv4["wan"].keys().collect::<Vec<_>>(),
            ["enable"]
        );

        let mut new_file = file.clone();
        new_file[0].interface = InterfaceName::new("erouter1").expect("name");
        let applied = overrides.apply_v4(&new_file);
        assert!(!applied[0].enable, "the write wins");
        assert_eq!(
            applied[0].interface.as_str(),
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
        overrides.record_v4(&file[0], &written);
        assert!(!overrides.is_empty());
        overrides.record_v4(&file[0], &file[0]);
        assert!(overrides.is_empty());
    }

    #[test]
    fn stored_values_are_checked_and_a_bad_one_falls_back_to_the_file() {
        let file = defaults();
        let text = r#"{"dhcpv4":{"wan":{"interface":"not/a name"}}}"#;
        let overrides: Overrides = serde_json::from_str(text).expect("parses as a map");
        assert_eq!(overrides.apply_v4(&file), file);
    }

    #[test]
    fn writes_survive_a_round_trip_through_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path());
        let file = defaults();
        let mut written = file[1].clone();
        written.renamed = Some(crate::config::ClientAlias::new("cpe-voice").expect("alias"));
        let mut overrides = Overrides::default();
        overrides.record_v4(&file[1], &written);
        overrides.save(&store).expect("save");
        assert_eq!(Overrides::load(&store).apply_v4(&file)[1], written);
        Overrides::default().save(&store).expect("save nothing");
        assert!(!dir.path().join("tr181-writes.json").exists());
    }
}
