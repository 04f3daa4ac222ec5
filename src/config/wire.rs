//! The configuration file exactly as written: serde structs with defaults and no unknown keys.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub dbus: RawDbus,
    #[serde(default)]
    pub sysevent: RawSysevent,
    #[serde(default)]
    pub dhcpv4: RawV4Section,
    #[serde(default)]
    pub dhcpv6: RawV6Section,
    #[serde(default)]
    pub shield: RawShield,
    #[serde(default)]
    pub rbus: super::rbus::RawRbus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    pub state_dir: String,
    pub run_dir: String,
    pub log_level: String,
    pub udhcpc: Option<String>,
    pub dibbler: Option<String>,
    pub plugin_dir: Option<String>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        Self {
            state_dir: "/var/lib/dhcpmgr".into(),
            run_dir: "/run/dhcpmgr".into(),
            log_level: "info".into(),
            udhcpc: None,
            dibbler: None,
            plugin_dir: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDbus {
    pub bus: String,
    pub write_uids: Vec<u32>,
    pub table_limit: usize,
}

impl Default for RawDbus {
    fn default() -> Self {
        Self {
            bus: "system".into(),
            write_uids: Vec::new(),
            table_limit: super::DEFAULT_TABLE_LIMIT,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSysevent {
    pub command: String,
    /// `standalone` (every key) or `rdk-wanmanager` (only the C DHCP manager's keys).
    pub profile: String,
}

impl Default for RawSysevent {
    fn default() -> Self {
        Self {
            command: "sysevent".into(),
            profile: "standalone".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawV4Section {
    #[serde(default)]
    pub client: Vec<RawV4Client>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawV4Client {
    pub alias: String,
    pub interface: String,
    #[serde(default = "yes")]
    pub enable: bool,
    #[serde(default = "default_v4_request_options")]
    pub request_options: Vec<u16>,
    #[serde(default)]
    pub sent_options: Vec<RawSentOption>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub release_on_disable: bool,
    #[serde(default)]
    pub default_route: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSentOption {
    pub tag: u16,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawV6Section {
    #[serde(default)]
    pub client: Vec<RawV6Client>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawV6Client {
    pub alias: String,
    pub interface: String,
    #[serde(default = "yes")]
    pub enable: bool,
    #[serde(default = "yes")]
    pub request_addresses: bool,
    #[serde(default = "yes")]
    pub request_prefixes: bool,
    #[serde(default)]
    pub rapid_commit: bool,
    #[serde(default = "default_v6_requested_options")]
    pub requested_options: Vec<u16>,
    #[serde(default)]
    pub sent_options: Vec<RawSentOption>,
    #[serde(default)]
    pub t1: Option<u32>,
    #[serde(default)]
    pub t2: Option<u32>,
    #[serde(default)]
    pub release_on_disable: bool,
}

pub(super) use dhcpmgr_shield::RawShield;

fn yes() -> bool {
    true
}

pub(super) fn default_v6_requested_options() -> Vec<u16> {
    vec![23, 24]
}

pub(super) fn default_v4_request_options() -> Vec<u16> {
    vec![1, 3, 6, 15, 28, 42]
}
