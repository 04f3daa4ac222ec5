//! The daemon's configuration: the TOML file of docs/configuration.md parsed into wire structs
//! (`wire`), then checked and turned into the validated types the rest of the daemon uses.
//! Unknown keys are an error, and so is any value the daemon could not honour.

mod rbus;
mod reload;
mod settings;
#[cfg(test)]
mod shield;
mod sysevent;
mod table;
mod types;
mod wire;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use dhcpmgr_shield::{ClientActionConfig, Mode, RuleConfig, ShieldConfig, Verdict};
pub use rbus::{LeaseInfoVersion, RbusSettings};
pub use reload::{restart_required, RESTART_KEYS};
pub use settings::ClientSettings;
pub use sysevent::Profile;
pub use table::{default_alias, Row, Table};
pub use types::{
    ClientAlias, HexBytes, InterfaceName, OptionCode, ReqOption, SentOption, V6SentOption,
    V4_CLIENT_MANAGED_OPTIONS, V6_CLIENT_MANAGED_OPTIONS,
};

/// Why a configuration was refused. The message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has a key or type the schema does not know.
    #[error("{path}: {message}")]
    Syntax {
        /// The file read.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{key}: {message}")]
    Invalid {
        /// The offending key, dotted (`dhcpv4.client[0].interface`).
        key: String,
        /// What is wrong with its value.
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Which D-Bus bus the TR-181 service joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    /// The system bus (`/run/dbus/system_bus_socket`): a gateway's normal choice.
    System,
    /// The session bus of `DBUS_SESSION_BUS_ADDRESS` (development).
    Session,
    /// A D-Bus address such as `unix:path=/run/dbus/test.sock`.
    Address(String),
}

impl BusChoice {
    /// `system`, `session` or a D-Bus address (`unix:path=…`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "system" => Ok(Self::System),
            "session" => Ok(Self::Session),
            address if address.contains(':') && address.contains('=') => {
                Ok(Self::Address(address.to_string()))
            }
            other => Err(format!(
                "bus {other:?} is not system, session or a D-Bus address like unix:path=…"
            )),
        }
    }
}

/// Rows AddObject may grow a table to unless `[dbus] table_limit` says otherwise.
pub const DEFAULT_TABLE_LIMIT: usize = 32;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where leases, instance numbers, TR-181 writes and the system-event ledger persist (`/var/lib/dhcpmgr`).
    pub state_dir: PathBuf,
    /// Where the IPC socket, the shield's socket and each client's work directory live (`/run/dhcpmgr`).
    pub run_dir: PathBuf,
    /// `tracing` filter directive for the log, e.g. `info` or `dhcpmgr=debug`.
    pub log_level: String,
    /// Which D-Bus bus the TR-181 service joins (`[dbus] bus`).
    pub bus: BusChoice,
    /// Users besides root allowed to write through D-Bus.
    pub write_uids: Vec<u32>,
    /// Rows AddObject may grow a table to (`[dbus] table_limit`): a family's clients, or a
    /// client's option table.
    pub table_limit: usize,
    /// Program run as `<command> set <key> <value>`; `None` disables system events.
    pub sysevent_command: Option<PathBuf>,
    /// Which system events are set (`[sysevent] profile`).
    pub sysevent_profile: Profile,
    /// Program run as udhcpc (one named `busybox` is run as `busybox udhcpc`); by default
    /// `udhcpc` from `PATH`, else `busybox udhcpc`.
    pub udhcpc_command: Option<PathBuf>,
    /// Program run as dibbler-client (`dibbler-client run -w DIR`).
    pub dibbler_command: PathBuf,
    /// Where the plugin executables live; by default the daemon's own directory.
    pub plugin_dir: Option<PathBuf>,
    /// `[[dhcpv4.client]]`, in file order.
    pub dhcpv4_clients: Vec<V4ClientConfig>,
    /// `[[dhcpv6.client]]`, in file order.
    pub dhcpv6_clients: Vec<V6ClientConfig>,
    /// `[shield]`: the LAN-side DHCP shield.
    pub shield: ShieldConfig,
    /// `[rbus]`: the RBUS front end.
    pub rbus: RbusSettings,
}

/// One `[[dhcpv4.client]]`, with what was written to it over TR-181 (see `overrides`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4ClientConfig {
    /// The configured alias: it names the client's state, processes and events for good.
    pub alias: ClientAlias,
    /// The TR-181 `Alias` when one was written over D-Bus.
    pub renamed: Option<ClientAlias>,
    /// `None` only for a client added over TR-181 before `X_RDK_LinuxInterface` is written;
    /// such a client cannot be enabled.
    pub interface: Option<InterfaceName>,
    /// TR-181 `Enable`: run udhcpc on the interface.
    pub enable: bool,
    /// Options asked for in the parameter request list (TR-181 `ReqOption`), besides
    /// udhcpc's defaults.
    pub request_options: Table<ReqOption>,
    /// Options sent in DISCOVER/REQUEST (TR-181 `SentOption`).
    pub sent_options: Table<SentOption>,
    /// Client identifier (option 61) to send; when absent one is derived once from the MAC
    /// address and persisted so that it never changes.
    pub client_id: Option<HexBytes>,
    /// Release the lease when the client is disabled (default: keep it with the server).
    pub release_on_disable: bool,
    /// Install a default route through the first router (for boxes without WAN Manager).
    pub default_route: bool,
}

/// One `[[dhcpv6.client]]`, with what was written to it over TR-181 (see `overrides`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6ClientConfig {
    /// The configured alias: it names the client's state, processes and events for good.
    pub alias: ClientAlias,
    /// The TR-181 `Alias` when one was written over D-Bus.
    pub renamed: Option<ClientAlias>,
    /// As for [`V4ClientConfig::interface`].
    pub interface: Option<InterfaceName>,
    /// TR-181 `Enable`: run dibbler-client on the interface.
    pub enable: bool,
    /// Ask for an IA_NA address (TR-181 `RequestAddresses`).
    pub request_addresses: bool,
    /// Ask for an IA_PD prefix (TR-181 `RequestPrefixes`).
    pub request_prefixes: bool,
    /// Send Rapid Commit (RFC 8415 §18.2.1; TR-181 `RapidCommit`).
    pub rapid_commit: bool,
    /// Options asked for in the ORO (23 DNS, 24 domain list, 64 AFTR, 94/95/96 S46, …).
    pub requested_options: Vec<u16>,
    /// Options sent to the server (TR-181 `SentOption`).
    pub sent_options: Table<V6SentOption>,
    /// Suggested T1/T2 for IA_NA and IA_PD, seconds.
    pub t1: Option<u32>,
    /// As `t1`: the suggested rebind time, seconds.
    pub t2: Option<u32>,
    /// Release address and prefix when the client is disabled (default: keep them).
    pub release_on_disable: bool,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: wire::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: PathBuf::from("<config>"),
            message: e.to_string(),
        })?;
        Self::try_from(raw)
    }

    /// The DHCPv4 client with this (configured) alias.
    pub fn v4_client(&self, alias: &str) -> Option<&V4ClientConfig> {
        self.dhcpv4_clients
            .iter()
            .find(|c| c.alias.as_str() == alias)
    }
}

impl TryFrom<wire::RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: wire::RawConfig) -> Result<Self, ConfigError> {
        let daemon = raw.daemon;
        let state_dir = absolute_dir("daemon.state_dir", daemon.state_dir)?;
        let run_dir = absolute_dir("daemon.run_dir", daemon.run_dir)?;
        let plugin_dir = daemon
            .plugin_dir
            .map(|dir| absolute_dir("daemon.plugin_dir", dir))
            .transpose()?;
        let udhcpc_command = program("daemon.udhcpc", daemon.udhcpc)?;
        let dibbler_command = program("daemon.dibbler", daemon.dibbler)?
            .unwrap_or_else(|| PathBuf::from("dibbler-client"));
        if daemon.log_level.trim().is_empty() {
            return Err(ConfigError::invalid(
                "daemon.log_level",
                "must not be empty",
            ));
        }
        let bus = BusChoice::parse(&raw.dbus.bus)
            .map_err(|message| ConfigError::invalid("dbus.bus", message))?;
        if !(1..=1024).contains(&raw.dbus.table_limit) {
            return Err(ConfigError::invalid(
                "dbus.table_limit",
                "must be 1 to 1024 rows",
            ));
        }
        let sysevent_command = match raw.sysevent.command.trim() {
            "" => None,
            cmd => Some(PathBuf::from(cmd)),
        };
        let sysevent_profile = Profile::parse(&raw.sysevent.profile).ok_or_else(|| {
            ConfigError::invalid(
                "sysevent.profile",
                format!(
                    "{:?} is not \"standalone\" or \"rdk-wanmanager\"",
                    raw.sysevent.profile
                ),
            )
        })?;
        let dhcpv4_clients = raw
            .dhcpv4
            .client
            .into_iter()
            .enumerate()
            .map(|(i, c)| V4ClientConfig::from_wire(&format!("dhcpv4.client[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;
        let dhcpv6_clients = raw
            .dhcpv6
            .client
            .into_iter()
            .enumerate()
            .map(|(i, c)| V6ClientConfig::from_wire(&format!("dhcpv6.client[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;
        unique(
            "dhcpv4.client",
            "alias",
            dhcpv4_clients.iter().map(|c| c.alias.as_str()),
        )?;
        unique(
            "dhcpv4.client",
            "interface",
            dhcpv4_clients.iter().map(|c| c.interface_name()),
        )?;
        unique(
            "dhcpv6.client",
            "alias",
            dhcpv6_clients.iter().map(|c| c.alias.as_str()),
        )?;
        unique(
            "dhcpv6.client",
            "interface",
            dhcpv6_clients.iter().map(|c| c.interface_name()),
        )?;
        let shield = ShieldConfig::from_wire(raw.shield)
            .map_err(|e| ConfigError::invalid(e.key, e.message))?;
        let rbus = raw
            .rbus
            .validate()
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        Ok(Self {
            state_dir,
            run_dir,
            log_level: daemon.log_level,
            bus,
            write_uids: raw.dbus.write_uids,
            table_limit: raw.dbus.table_limit,
            sysevent_command,
            sysevent_profile,
            udhcpc_command,
            dibbler_command,
            plugin_dir,
            dhcpv4_clients,
            dhcpv6_clients,
            shield,
            rbus,
        })
    }
}

impl V4ClientConfig {
    /// A client AddObject created: disabled, without an interface, asking for udhcpc's
    /// usual options, as a `[[dhcpv4.client]]` with only `alias` would.
    pub fn added(alias: ClientAlias) -> Self {
        let request_options = wire::default_v4_request_options()
            .into_iter()
            .filter_map(|code| OptionCode::new(code).ok());
        Self {
            alias,
            renamed: None,
            interface: None,
            enable: false,
            request_options: Table::from_items(request_options.zip(1..).map(|(tag, order)| {
                ReqOption {
                    order,
                    tag: Some(tag),
                }
            })),
            sent_options: Table::default(),
            client_id: None,
            release_on_disable: false,
            default_route: false,
        }
    }

    /// The TR-181 `Alias`: the written one, else the configured one.
    pub fn tr181_alias(&self) -> &ClientAlias {
        self.renamed.as_ref().unwrap_or(&self.alias)
    }

    /// The Linux interface, or `""` while there is none.
    pub fn interface_name(&self) -> &str {
        self.interface.as_ref().map_or("", InterfaceName::as_str)
    }

    /// Option codes for the parameter request list: enabled rows with a tag, by `Order`.
    pub fn requested_codes(&self) -> Vec<OptionCode> {
        let mut rows: Vec<&ReqOption> = self.request_options.enabled().collect();
        rows.sort_by_key(|r| r.order);
        rows.iter().filter_map(|r| r.tag).collect()
    }

    /// The options to send: enabled rows with a tag and a payload.
    pub fn options_to_send(&self) -> impl Iterator<Item = (OptionCode, &HexBytes)> {
        self.sent_options
            .enabled()
            .filter_map(|o| Some((o.tag?, &o.value)))
            .filter(|(_, value)| !value.0.is_empty())
    }

    fn from_wire(key: &str, raw: wire::RawV4Client) -> Result<Self, ConfigError> {
        let alias = ClientAlias::new(&raw.alias)
            .map_err(|m| ConfigError::invalid(format!("{key}.alias"), m))?;
        let interface = InterfaceName::new(&raw.interface)
            .map_err(|m| ConfigError::invalid(format!("{key}.interface"), m))?;
        let request_options = raw
            .request_options
            .iter()
            .map(|&code| OptionCode::new(code))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| ConfigError::invalid(format!("{key}.request_options"), m))?;
        unique(key, "request_options", request_options.iter().map(|c| c.0))?;
        let request_options = Table::from_items(request_options.into_iter().zip(1..).map(
            |(tag, order)| ReqOption {
                order,
                tag: Some(tag),
            },
        ));
        let sent_options = raw
            .sent_options
            .into_iter()
            .map(|o| SentOption::new(o.tag, &o.value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| ConfigError::invalid(format!("{key}.sent_options"), m))?;
        unique(
            key,
            "sent_options tag",
            sent_options.iter().filter_map(|o| o.tag.map(|t| t.0)),
        )?;
        let client_id = raw
            .client_id
            .map(|hex| HexBytes::parse(&hex))
            .transpose()
            .map_err(|m| ConfigError::invalid(format!("{key}.client_id"), m))?;
        if client_id.as_ref().is_some_and(|id| id.0.len() < 2) {
            return Err(ConfigError::invalid(
                format!("{key}.client_id"),
                "needs at least 2 bytes (type and value, RFC 2132 §9.14)",
            ));
        }
        if client_id.is_some() && sent_options.iter().any(|o| o.tag == Some(OptionCode(61))) {
            return Err(ConfigError::invalid(
                format!("{key}.sent_options"),
                "option 61 conflicts with client_id; set only one",
            ));
        }
        Ok(Self {
            alias,
            renamed: None,
            interface: Some(interface),
            enable: raw.enable,
            request_options,
            sent_options: Table::from_items(sent_options),
            client_id,
            release_on_disable: raw.release_on_disable,
            default_route: raw.default_route,
        })
    }
}

impl V6ClientConfig {
    /// A client AddObject created: disabled, without an interface, otherwise as a
    /// `[[dhcpv6.client]]` with only `alias` would be.
    pub fn added(alias: ClientAlias) -> Self {
        Self {
            alias,
            renamed: None,
            interface: None,
            enable: false,
            request_addresses: true,
            request_prefixes: true,
            rapid_commit: false,
            requested_options: wire::default_v6_requested_options(),
            sent_options: Table::default(),
            t1: None,
            t2: None,
            release_on_disable: false,
        }
    }

    /// The TR-181 `Alias`: the written one, else the configured one.
    pub fn tr181_alias(&self) -> &ClientAlias {
        self.renamed.as_ref().unwrap_or(&self.alias)
    }

    /// The Linux interface, or `""` while there is none.
    pub fn interface_name(&self) -> &str {
        self.interface.as_ref().map_or("", InterfaceName::as_str)
    }

    /// The options to send: enabled rows with a tag and a payload.
    pub fn options_to_send(&self) -> impl Iterator<Item = (u16, &HexBytes)> {
        self.sent_options
            .enabled()
            .filter_map(|o| Some((o.tag?, &o.value)))
            .filter(|(_, value)| !value.0.is_empty())
    }

    fn from_wire(key: &str, raw: wire::RawV6Client) -> Result<Self, ConfigError> {
        let alias = ClientAlias::new(&raw.alias)
            .map_err(|m| ConfigError::invalid(format!("{key}.alias"), m))?;
        let interface = InterfaceName::new(&raw.interface)
            .map_err(|m| ConfigError::invalid(format!("{key}.interface"), m))?;
        if let Some(bad) = raw.requested_options.iter().find(|&&c| c == 0) {
            return Err(ConfigError::invalid(
                format!("{key}.requested_options"),
                format!("{bad} is not a DHCPv6 option code"),
            ));
        }
        unique(key, "requested_options", raw.requested_options.iter())?;
        let sent_options = raw
            .sent_options
            .into_iter()
            .map(|o| {
                if V6_CLIENT_MANAGED_OPTIONS.contains(&o.tag) {
                    return Err(format!(
                        "option {} is managed by the DHCP client itself and cannot be sent from configuration",
                        o.tag
                    ));
                }
                let value = HexBytes::parse(&o.value).map_err(|e| format!("option {}: {e}", o.tag))?;
                Ok(V6SentOption { tag: Some(o.tag), value })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| ConfigError::invalid(format!("{key}.sent_options"), m))?;
        if let (Some(t1), Some(t2)) = (raw.t1, raw.t2) {
            if t1 > t2 {
                return Err(ConfigError::invalid(
                    format!("{key}.t1"),
                    format!("T1 {t1} is larger than T2 {t2}"),
                ));
            }
        }
        if !raw.request_addresses && !raw.request_prefixes {
            return Err(ConfigError::invalid(
                key.to_string(),
                "request_addresses and request_prefixes are both false: nothing to ask for",
            ));
        }
        unique(
            key,
            "sent_options tag",
            sent_options.iter().filter_map(|o| o.tag),
        )?;
        Ok(Self {
            alias,
            renamed: None,
            interface: Some(interface),
            enable: raw.enable,
            request_addresses: raw.request_addresses,
            request_prefixes: raw.request_prefixes,
            rapid_commit: raw.rapid_commit,
            requested_options: raw.requested_options,
            sent_options: Table::from_items(sent_options),
            t1: raw.t1,
            t2: raw.t2,
            release_on_disable: raw.release_on_disable,
        })
    }
}

fn program(key: &str, command: Option<String>) -> Result<Option<PathBuf>, ConfigError> {
    match command {
        Some(cmd) if cmd.trim().is_empty() => Err(ConfigError::invalid(key, "must not be empty")),
        other => Ok(other.map(PathBuf::from)),
    }
}

fn absolute_dir(key: &str, path: String) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(ConfigError::invalid(key, "must be an absolute path"));
    }
    Ok(path)
}

/// Refuses the second occurrence of a value that must be unique within `section`.
fn unique<T: std::hash::Hash + Eq + std::fmt::Display>(
    section: &str,
    what: &str,
    values: impl Iterator<Item = T>,
) -> Result<(), ConfigError> {
    dhcpmgr_base::all_unique(what, values).map_err(|message| ConfigError::invalid(section, message))
}

#[cfg(test)]
mod tests;
