//! `[shield]`: the LAN-side DHCP shield's settings as written ([`RawShield`]) and validated
//! ([`ShieldConfig`]). Every number has a range, every unknown key is an error, and an enabled
//! shield needs at least one interface. The daemon embeds [`RawShield`] in its configuration
//! file and reports a [`ShieldConfigError`] as an invalid value of its key.

use dhcpmgr_base::InterfaceName;
use serde::Deserialize;

use crate::action::{Action, ClientKey, Lifetime};
use crate::filter::Filter;
use crate::own::TrustedServer;

/// Why a `[shield]` section was refused: the offending key as written (`shield.queue_rate`,
/// `shield.rule[0].filter`) and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ShieldConfigError {
    /// The key, from the top of the configuration file (`shield.…`).
    pub key: String,
    /// What is wrong with its value.
    pub message: String,
}

impl ShieldConfigError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Refuses the second occurrence of a value that must be unique within `section`.
fn unique<T: std::hash::Hash + Eq + std::fmt::Display>(
    section: &str,
    what: &str,
    values: impl Iterator<Item = T>,
) -> Result<(), ShieldConfigError> {
    dhcpmgr_base::all_unique(what, values)
        .map_err(|message| ShieldConfigError::invalid(section, message))
}

/// What happens to a packet the shield cannot parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the packet through uninspected (fail-open).
    Accept,
    /// Drop the packet.
    Drop,
}

impl Verdict {
    fn parse(key: &str, text: &str) -> Result<Self, ShieldConfigError> {
        match text {
            "accept" => Ok(Self::Accept),
            "drop" => Ok(Self::Drop),
            other => Err(ShieldConfigError::invalid(
                key,
                format!("{other:?} is not \"accept\" or \"drop\""),
            )),
        }
    }
}

/// How the shield sees LAN DHCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The kernel lets every packet on and hands userspace a copy (NFLOG); enforcement is the
    /// kernel's sets and meters alone. The LAN pays nothing for being watched.
    Observe,
    /// Every packet waits in an NFQUEUE for userspace's verdict (fail-open).
    Inline,
}

impl Mode {
    fn parse(text: &str) -> Result<Self, ShieldConfigError> {
        match text {
            "observe" => Ok(Self::Observe),
            "inline" => Ok(Self::Inline),
            other => Err(ShieldConfigError::invalid(
                "shield.mode",
                format!("{other:?} is not \"observe\" or \"inline\""),
            )),
        }
    }

    /// The mode's name as `[shield] mode` writes it (`observe`, `inline`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Observe => "observe",
            Self::Inline => "inline",
        }
    }
}

/// One `[[shield.client]]`: an action for one client set at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientActionConfig {
    /// The MAC or DUID it applies to.
    pub client: ClientKey,
    /// What the shield does with the client's DHCP.
    pub action: Action,
    /// How long it lasts.
    pub duration: Lifetime,
    /// Why, for the audit log and the events.
    pub reason: String,
}

/// One `[[shield.rule]]`: packets matching `filter` get `action` for their client.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    /// The rule's name, as the events' `rule` field carries it.
    pub name: String,
    /// What the matching packets' client gets.
    pub action: Action,
    /// Which packets match, in the stream's filter language (docs/shield.md).
    pub filter: Filter,
}

impl PartialEq for RuleConfig {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.action == other.action && self.filter == other.filter
    }
}

impl Eq for RuleConfig {}

/// The validated `[shield]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShieldConfig {
    /// Run the shield (`[shield] enable`).
    pub enable: bool,
    /// Observe (kernel enforcement, copies to userspace) or inline (NFQUEUE verdicts).
    pub mode: Mode,
    /// LAN interfaces (bridges or ports) whose DHCP the shield inspects.
    pub interfaces: Vec<InterfaceName>,
    /// Also inspect DHCPv6 (udp 547).
    pub ipv6: bool,
    /// NFQUEUE number (inline) or NFLOG group (observe).
    pub queue_num: u16,
    /// Packets the kernel holds for us before it fails open and accepts the rest.
    pub queue_maxlen: u32,
    /// Kernel meter in front of the queue (all clients): packets/s (0: none) and burst;
    /// packets over it are accepted without inspection.
    pub queue_rate: u32,
    /// Burst of the kernel meter in front of the queue, packets.
    pub queue_burst: u32,
    /// Kernel meter per source MAC: packets/s and burst; packets over it are dropped.
    pub mac_rate: u32,
    /// Burst of the per-MAC kernel meter, packets.
    pub mac_burst: u32,
    /// Verdict for packets that do not parse as DHCP.
    pub malformed: Verdict,
    /// Base of the verdict marks (see `decide::Mark`); 0 sets no mark.
    pub mark_base: u32,
    /// Recent events kept in memory.
    pub ring_size: usize,
    /// Events also go to `state_dir/shield-journal/`, kept within a size and an age.
    pub journal: bool,
    /// Most bytes the journal keeps; older files go first.
    pub journal_max_bytes: u64,
    /// Oldest event the journal keeps, seconds.
    pub journal_max_age_secs: u64,
    /// Clients (MACs / DUIDs) tracked at once; the least recently seen is evicted beyond it.
    pub max_clients: usize,
    /// Live-stream subscribers at once.
    pub max_subscribers: usize,
    /// Per-subscriber stream rate, events/s, and burst.
    pub stream_rate: u32,
    /// Events a subscriber may get at once beyond `stream_rate`.
    pub stream_burst: u32,
    /// Users besides root and the daemon's own allowed on the control socket (checked with
    /// SO_PEERCRED; listing any makes the socket file 0666 so they can connect, else it is 0600).
    pub control_uids: Vec<u32>,
    /// Throttled clients: packets per minute the kernel lets through.
    pub throttle_per_minute: u32,
    /// Starvation detection: distinct client MACs behind one source MAC within a minute.
    pub starvation_chaddrs: u32,
    /// Starvation detection: new client MACs within a minute, all sources together.
    pub starvation_new_macs: u32,
    /// DHCP servers on the LAN besides the gateway's own that are never a rogue (by MAC or
    /// address; an address can be forged, a MAC less easily).
    pub trusted_servers: Vec<TrustedServer>,
    /// `[[shield.client]]`: actions set at start.
    pub clients: Vec<ClientActionConfig>,
    /// `[[shield.rule]]`: actions set by matching packets.
    pub rules: Vec<RuleConfig>,
}

impl Default for ShieldConfig {
    fn default() -> Self {
        Self::from_wire(RawShield::default()).unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// `[shield]` exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawShield {
    /// `enable` as written; validated into [`ShieldConfig::enable`].
    pub enable: bool,
    /// `mode` as written; validated into [`ShieldConfig::mode`].
    pub mode: String,
    /// `interfaces` as written; validated into [`ShieldConfig::interfaces`].
    pub interfaces: Vec<String>,
    /// `ipv6` as written; validated into [`ShieldConfig::ipv6`].
    pub ipv6: bool,
    /// `queue_num` as written; validated into [`ShieldConfig::queue_num`].
    pub queue_num: u16,
    /// `queue_maxlen` as written; validated into [`ShieldConfig::queue_maxlen`].
    pub queue_maxlen: u32,
    /// `queue_rate` as written; validated into [`ShieldConfig::queue_rate`].
    pub queue_rate: u32,
    /// `queue_burst` as written; validated into [`ShieldConfig::queue_burst`].
    pub queue_burst: u32,
    /// `mac_rate` as written; validated into [`ShieldConfig::mac_rate`].
    pub mac_rate: u32,
    /// `mac_burst` as written; validated into [`ShieldConfig::mac_burst`].
    pub mac_burst: u32,
    /// `malformed` as written; validated into [`ShieldConfig::malformed`].
    pub malformed: String,
    /// `mark_base` as written; validated into [`ShieldConfig::mark_base`].
    pub mark_base: u32,
    /// `ring_size` as written; validated into [`ShieldConfig::ring_size`].
    pub ring_size: usize,
    /// `journal` as written; validated into [`ShieldConfig::journal`].
    pub journal: bool,
    /// `journal_max_bytes` as written; validated into [`ShieldConfig::journal_max_bytes`].
    pub journal_max_bytes: u64,
    /// `journal_max_age` as written; validated into [`ShieldConfig::journal_max_age_secs`].
    pub journal_max_age: String,
    /// `max_clients` as written; validated into [`ShieldConfig::max_clients`].
    pub max_clients: usize,
    /// `max_subscribers` as written; validated into [`ShieldConfig::max_subscribers`].
    pub max_subscribers: usize,
    /// `stream_rate` as written; validated into [`ShieldConfig::stream_rate`].
    pub stream_rate: u32,
    /// `stream_burst` as written; validated into [`ShieldConfig::stream_burst`].
    pub stream_burst: u32,
    /// `control_uids` as written; validated into [`ShieldConfig::control_uids`].
    pub control_uids: Vec<u32>,
    /// `throttle_per_minute` as written; validated into [`ShieldConfig::throttle_per_minute`].
    pub throttle_per_minute: u32,
    /// `starvation_chaddrs` as written; validated into [`ShieldConfig::starvation_chaddrs`].
    pub starvation_chaddrs: u32,
    /// `starvation_new_macs` as written; validated into [`ShieldConfig::starvation_new_macs`].
    pub starvation_new_macs: u32,
    /// `trusted_servers` as written; validated into [`ShieldConfig::trusted_servers`].
    pub trusted_servers: Vec<String>,
    /// `[[shield.client]]` as written.
    pub client: Vec<RawClientAction>,
    /// `[[shield.rule]]` as written.
    pub rule: Vec<RawRule>,
}

impl Default for RawShield {
    fn default() -> Self {
        Self {
            enable: false,
            mode: "observe".into(),
            interfaces: Vec::new(),
            ipv6: true,
            queue_num: 67,
            queue_maxlen: 16,
            queue_rate: 2000,
            queue_burst: 4000,
            mac_rate: 20,
            mac_burst: 40,
            malformed: "accept".into(),
            mark_base: 0x4453_0000,
            ring_size: 1024,
            journal: true,
            journal_max_bytes: 4 << 20,
            journal_max_age: "7d".into(),
            max_clients: 4096,
            max_subscribers: 4,
            stream_rate: 200,
            stream_burst: 400,
            control_uids: Vec::new(),
            throttle_per_minute: 10,
            starvation_chaddrs: 16,
            starvation_new_macs: 64,
            trusted_servers: Vec::new(),
            client: Vec::new(),
            rule: Vec::new(),
        }
    }
}

/// `[[shield.client]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientAction {
    /// A MAC address (`aa:bb:cc:dd:ee:ff`) or `duid:<hex>`.
    pub client: String,
    /// `block`, `deny`, `throttle`, `allow` or `monitor`.
    pub action: String,
    /// `30s`, `15m`, `2h`, `30d`, or `indefinite`.
    pub duration: Option<String>,
    /// Why, for the audit log (may be empty).
    #[serde(default)]
    pub reason: String,
}

/// `[[shield.rule]]` as written; `filter` is in the stream's filter language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// The rule's name (unique).
    pub name: String,
    /// `block`, `deny`, `throttle`, `allow` or `monitor`.
    pub action: String,
    /// The filter, as JSON in the stream's filter language.
    pub filter: serde_json::Value,
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, ShieldConfigError> {
    if value < min || value > max {
        return Err(ShieldConfigError::invalid(
            format!("shield.{key}"),
            format!("{value} is outside {min}..={max}"),
        ));
    }
    Ok(value)
}

impl ShieldConfig {
    /// Validates `[shield]` as written.
    pub fn from_wire(raw: RawShield) -> Result<Self, ShieldConfigError> {
        let interfaces = raw
            .interfaces
            .iter()
            .map(|i| {
                InterfaceName::new(i)
                    .map_err(|m| ShieldConfigError::invalid("shield.interfaces", m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        unique(
            "shield",
            "interface",
            interfaces.iter().map(InterfaceName::as_str),
        )?;
        if raw.enable && interfaces.is_empty() {
            return Err(ShieldConfigError::invalid(
                "shield.interfaces",
                "the shield is enabled but no LAN interface is named",
            ));
        }
        let clients = raw
            .client
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let key = format!("shield.client[{i}]");
                let client = ClientKey::parse(&c.client)
                    .map_err(|m| ShieldConfigError::invalid(format!("{key}.client"), m))?;
                let action = Action::parse(&c.action)
                    .map_err(|m| ShieldConfigError::invalid(format!("{key}.action"), m))?;
                let duration = match c.duration.as_deref() {
                    None => Lifetime::Default,
                    Some(text) => Lifetime::parse(text)
                        .map_err(|m| ShieldConfigError::invalid(format!("{key}.duration"), m))?,
                };
                Ok(ClientActionConfig {
                    client,
                    action,
                    duration,
                    reason: c.reason,
                })
            })
            .collect::<Result<Vec<_>, ShieldConfigError>>()?;
        unique(
            "shield.client",
            "client",
            clients.iter().map(|c| c.client.to_string()),
        )?;
        let rules = raw
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let key = format!("shield.rule[{i}]");
                if r.name.trim().is_empty() || r.name.len() > 64 {
                    return Err(ShieldConfigError::invalid(
                        format!("{key}.name"),
                        "must be 1 to 64 characters",
                    ));
                }
                let action = Action::parse(&r.action)
                    .map_err(|m| ShieldConfigError::invalid(format!("{key}.action"), m))?;
                let filter = Filter::from_json(&r.filter).map_err(|e| {
                    ShieldConfigError::invalid(format!("{key}.filter"), e.to_string())
                })?;
                Ok(RuleConfig {
                    name: r.name,
                    action,
                    filter,
                })
            })
            .collect::<Result<Vec<_>, ShieldConfigError>>()?;
        unique("shield.rule", "name", rules.iter().map(|r| r.name.as_str()))?;
        let trusted_servers = raw
            .trusted_servers
            .iter()
            .map(|t| {
                TrustedServer::parse(t)
                    .map_err(|m| ShieldConfigError::invalid("shield.trusted_servers", m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // iptables' limit match caps rate and burst at 10000.
        let queue_burst = range("queue_burst", raw.queue_burst, 1, 10_000)?;
        let mac_burst = range("mac_burst", raw.mac_burst, 1, 100_000)?;
        let stream_burst = range("stream_burst", raw.stream_burst, 1, 1_000_000)?;
        Ok(Self {
            enable: raw.enable,
            mode: Mode::parse(&raw.mode)?,
            interfaces,
            ipv6: raw.ipv6,
            queue_num: raw.queue_num,
            queue_maxlen: range("queue_maxlen", raw.queue_maxlen, 1, 65_536)?,
            queue_rate: range("queue_rate", raw.queue_rate, 0, 10_000)?,
            queue_burst,
            mac_rate: range("mac_rate", raw.mac_rate, 1, 100_000)?,
            mac_burst,
            malformed: Verdict::parse("shield.malformed", &raw.malformed)?,
            mark_base: if raw.mark_base & 0xff != 0 {
                return Err(ShieldConfigError::invalid(
                    "shield.mark_base",
                    format!(
                        "{:#x} has bits in the low byte, which holds the verdict code",
                        raw.mark_base
                    ),
                ));
            } else {
                raw.mark_base
            },
            ring_size: range("ring_size", raw.ring_size, 1, 1_000_000)?,
            journal: raw.journal,
            journal_max_bytes: range(
                "journal_max_bytes",
                raw.journal_max_bytes,
                64 << 10,
                1 << 30,
            )?,
            journal_max_age_secs: match crate::action::parse_duration(&raw.journal_max_age) {
                Ok(Some(secs)) => secs,
                Ok(None) => u64::MAX,
                Err(m) => return Err(ShieldConfigError::invalid("shield.journal_max_age", m)),
            },
            max_clients: range("max_clients", raw.max_clients, 16, 10_000_000)?,
            max_subscribers: range("max_subscribers", raw.max_subscribers, 1, 64)?,
            stream_rate: range("stream_rate", raw.stream_rate, 1, 1_000_000)?,
            stream_burst,
            control_uids: raw.control_uids,
            throttle_per_minute: range("throttle_per_minute", raw.throttle_per_minute, 1, 6000)?,
            starvation_chaddrs: range("starvation_chaddrs", raw.starvation_chaddrs, 2, 1_000_000)?,
            starvation_new_macs: range(
                "starvation_new_macs",
                raw.starvation_new_macs,
                2,
                10_000_000,
            )?,
            trusted_servers,
            clients,
            rules,
        })
    }
}
