//! The MAP system events (docs/contracts.md#system-events) for a computed [`MapConfig`], formatted as RDK-B's WAN
//! Manager sets them (`maptInfo_set`, fed by dhcp-manager's option 94/95 parser):
//!
//! | key | value | example (RFC 7599 Ex. 1) |
//! |---|---|---|
//! | `mapt_config_flag` | `set` (RDK writes `reset` on teardown; we clear with "") | `set` |
//! | `map_transport_mode` | `MAPT` or `MAPE` | `MAPT` |
//! | `map_rule_ipv6_address` | rule IPv6 prefix/len | `2001:db8::/40` |
//! | `map_rule_ip_address` | rule IPv4 prefix/len (RDK writes the bare address) | `192.0.2.0/24` |
//! | `map_ea_length` | decimal | `16` |
//! | `map_is_fmr` | `TRUE` or `FALSE` | `TRUE` |
//! | `map_br_ipv6_prefix` | MAP-T: DMR prefix/len; MAP-E: first BR as addr/128 | `2001:db8:ffff::/64` |
//! | `mapt_psid_offset` | decimal a | `6` |
//! | `mapt_psid_length` | decimal k | `8` |
//! | `mapt_psid_value` | decimal PSID | `52` |
//! | `mapt_ip_address` | dotted quad | `192.0.2.18` |
//! | `mapt_ratio` | decimal 2^k | `256` |

use std::collections::BTreeMap;

use super::map::MapConfig;
use super::options::MapTransport;

/// Every key [`sysevents`] sets, e.g. to clear them all (docs/contracts.md#system-events: deletion sets "").
pub const MAP_SYSEVENT_KEYS: [&str; 12] = [
    "mapt_config_flag",
    "map_transport_mode",
    "map_rule_ipv6_address",
    "map_rule_ip_address",
    "map_ea_length",
    "map_is_fmr",
    "map_br_ipv6_prefix",
    "mapt_psid_offset",
    "mapt_psid_length",
    "mapt_psid_value",
    "mapt_ip_address",
    "mapt_ratio",
];

/// The MAP key/value pairs of docs/contracts.md#system-events for `config` (all of [`MAP_SYSEVENT_KEYS`]).
pub fn sysevents(config: &MapConfig) -> BTreeMap<String, String> {
    let (mode, border) = match &config.transport {
        MapTransport::Translation { dmr } => ("MAPT", dmr.to_string()),
        MapTransport::Encapsulation { border_relays } => (
            "MAPE",
            border_relays
                .first()
                .map(|br| format!("{br}/128"))
                .unwrap_or_default(),
        ),
    };
    let bmr = &config.bmr;
    let fmr = if config.is_fmr() { "TRUE" } else { "FALSE" };
    [
        ("mapt_config_flag", "set".to_string()),
        ("map_transport_mode", mode.to_string()),
        ("map_rule_ipv6_address", bmr.ipv6_prefix.to_string()),
        ("map_rule_ip_address", bmr.ipv4_prefix.to_string()),
        ("map_ea_length", bmr.ea_len.to_string()),
        ("map_is_fmr", fmr.to_string()),
        ("map_br_ipv6_prefix", border),
        ("mapt_psid_offset", config.psid_offset.to_string()),
        ("mapt_psid_length", config.psid.bits().to_string()),
        ("mapt_psid_value", config.psid.value().to_string()),
        ("mapt_ip_address", config.ipv4_address.to_string()),
        ("mapt_ratio", config.sharing_ratio.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
