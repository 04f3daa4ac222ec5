//! Turns one busybox `udhcpc` script invocation (argv\[1\] plus the environment) into a typed
//! [`V4Event`] for the dhcpmgr daemon.
//!
//! This crate owns the udhcpc side of the contract: which environment variables udhcpc sets,
//! their formats, and how they map onto [`V4Lease`]. Everything here is pure and never panics
//! on hostile input; sending the event is left to the thin binary and `dhcpmgr-ipc`.
//!
//! Choices worth knowing:
//! * Only udhcpc's own variable names are read; the rest of the process environment is ignored.
//! * `optNNN` names outside udhcpc's format (code 1..=254 in plain decimal) are ignored, not
//!   rejected, so a stray variable cannot block a lease.
//! * When both `mask` and `subnet` are set they must agree, and `subnet` must be contiguous.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dhcpmgr_ipc::plugin::{clip, is_valid_ifname};

pub use dhcpmgr_ipc::{StaticRoute, V4Event, V4EventKind, V4Lease};

/// Named variables udhcpc may set that have no field of their own in [`V4Lease`]; they are
/// kept verbatim in [`V4Lease::other`]. From busybox's `dhcp_option_strings` and BOOTP fields,
/// plus the extra names RDK's busybox patches add.
pub const OTHER_VARS: &[&str] = &[
    // Named DHCP options (busybox networking/udhcp/common.c).
    "timezone",
    "lprsrv",
    "bootsize",
    "swapsrv",
    "rootpath",
    "ipttl",
    "routes",
    "nisdomain",
    "nissrv",
    "wins",
    "message",
    "vendor",
    "tftp",
    "bootfile",
    "tzstr",
    "tzdbstr",
    "search",
    "sipsrv",
    "vlanid",
    "vlanpriority",
    "pxeconffile",
    "pxepathprefix",
    "reboottime",
    "ip6rd",
    "msstaticroutes",
    "wpad",
    // BOOTP header fields.
    "siaddr",
    "giaddr",
    "sname",
    "boot_file",
    // RDK busybox patches (not upstream).
    "upstreamrate",
    "downstreamrate",
    "timeoffset",
    "renewaltime",
    "rebindingtime",
];

/// Why udhcpc's invocation could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// argv[1] is not an event this plugin knows.
    #[error("unknown udhcpc event {0:?} (expected deconfig, bound, renew, nak or leasefail)")]
    UnknownEvent(String),
    /// An environment variable the event needs is not set.
    #[error("required variable `{0}` is not set")]
    Missing(&'static str),
    /// The lease has no subnet mask, so its prefix length is unknown.
    #[error("neither `mask` nor `subnet` is set, so the prefix length is unknown")]
    NoPrefix,
    /// An environment variable does not parse.
    #[error("variable `{var}`={value:?} is invalid: {why}")]
    Invalid {
        /// The variable's name.
        var: String,
        /// Its value as given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
}

fn invalid(var: &str, value: &str, why: impl Into<String>) -> EnvError {
    EnvError::Invalid {
        var: var.to_owned(),
        value: clip(value),
        why: why.into(),
    }
}

/// Parses udhcpc's argv\[1\] and environment into an event. `bound` and `renew` carry a lease;
/// `deconfig`, `nak` and `leasefail` only name the interface.
pub fn parse_event(arg: &str, env: &BTreeMap<String, String>) -> Result<V4Event, EnvError> {
    let kind = V4EventKind::from_arg(arg).ok_or_else(|| EnvError::UnknownEvent(clip(arg)))?;
    let interface = env.get("interface").ok_or(EnvError::Missing("interface"))?;
    check_ifname(interface)?;
    let lease = match kind {
        V4EventKind::Bound | V4EventKind::Renew => Some(parse_lease(env)?),
        V4EventKind::Deconfig | V4EventKind::Nak | V4EventKind::Leasefail => None,
    };
    Ok(V4Event {
        interface: interface.clone(),
        kind,
        lease,
    })
}

/// The lease carried by a `bound` or `renew` event.
pub fn parse_lease(env: &BTreeMap<String, String>) -> Result<V4Lease, EnvError> {
    let ip = env.get("ip").ok_or(EnvError::Missing("ip"))?;
    let mut lease = V4Lease::new(addr("ip", ip)?, prefix_len(env)?);
    lease.routers = addr_list(env, "router")?;
    lease.dns_servers = addr_list(env, "dns")?;
    lease.ntp_servers = addr_list(env, "ntpsrv")?;
    lease.domain = optional(env, "domain", host_name)?;
    lease.hostname = optional(env, "hostname", host_name)?;
    lease.lease_secs = optional(env, "lease", number)?;
    lease.mtu = optional(env, "mtu", number)?;
    lease.server_id = optional(env, "serverid", addr)?;
    lease.broadcast = optional(env, "broadcast", addr)?;
    lease.static_routes = optional(env, "staticroutes", static_routes)?.unwrap_or_default();
    for (name, value) in env {
        if let Some(code) = opt_code(name) {
            lease.raw_options.insert(code, hex(name, value)?);
        } else if OTHER_VARS.contains(&name.as_str()) {
            lease.other.insert(name.clone(), value.clone());
        }
    }
    lease.renewal_secs = be_u32(&lease.raw_options, 58)?;
    lease.rebinding_secs = be_u32(&lease.raw_options, 59)?;
    Ok(lease)
}

/// Linux's `dev_valid_name`, as the `interface` variable.
fn check_ifname(name: &str) -> Result<(), EnvError> {
    if !is_valid_ifname(name) {
        return Err(invalid(
            "interface",
            name,
            "not a valid Linux interface name",
        ));
    }
    Ok(())
}

/// Parses `var` if set. An empty value is what udhcpc writes for a zero-length option, so it
/// counts as absent.
fn optional<T>(
    env: &BTreeMap<String, String>,
    var: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, EnvError>,
) -> Result<Option<T>, EnvError> {
    env.get(var)
        .filter(|value| !value.is_empty())
        .map(|value| parse(var, value))
        .transpose()
}

fn addr(var: &str, value: &str) -> Result<Ipv4Addr, EnvError> {
    value
        .parse()
        .map_err(|_| invalid(var, value, "not an IPv4 address"))
}

fn number<T: std::str::FromStr>(var: &str, value: &str) -> Result<T, EnvError> {
    value
        .parse()
        .map_err(|_| invalid(var, value, "not a number in range"))
}

fn addr_list(env: &BTreeMap<String, String>, var: &str) -> Result<Vec<Ipv4Addr>, EnvError> {
    let Some(value) = env.get(var) else {
        return Ok(Vec::new());
    };
    value
        .split_whitespace()
        .map(|item| {
            item.parse().map_err(|_| {
                invalid(
                    var,
                    value,
                    format!("{:?} is not an IPv4 address", clip(item)),
                )
            })
        })
        .collect()
}

/// udhcpc replaces names failing its `good_hostname()` with "bad", so a leading `-` or anything
/// outside letters, digits, `-`, `_` and `.` did not come from udhcpc.
fn host_name(var: &str, value: &str) -> Result<String, EnvError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if value.starts_with('-') || value.len() > 253 || !value.chars().all(ok) {
        return Err(invalid(var, value, "not a host or domain name"));
    }
    Ok(value.to_owned())
}

/// From `mask` (0..=32) and/or `subnet` (a contiguous netmask); when both are set they agree.
fn prefix_len(env: &BTreeMap<String, String>) -> Result<u8, EnvError> {
    let mask = optional(env, "mask", |var, v| match v.parse::<u8>() {
        Ok(len) if len <= 32 => Ok(len),
        _ => Err(invalid(var, v, "not a prefix length 0..=32")),
    })?;
    let subnet = optional(env, "subnet", |var, v| {
        let bits = u32::from(addr(var, v)?);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return Err(invalid(var, v, "not a contiguous netmask"));
        }
        // leading_ones() is at most 32.
        Ok(bits.leading_ones() as u8)
    })?;
    match (mask, subnet) {
        (Some(m), Some(s)) if m != s => Err(invalid(
            "mask",
            &m.to_string(),
            format!("disagrees with `subnet` (/{s})"),
        )),
        (Some(len), _) | (None, Some(len)) => Ok(len),
        (None, None) => Err(EnvError::NoPrefix),
    }
}

/// `"net/len gw net/len gw ..."`.
fn static_routes(var: &str, value: &str) -> Result<Vec<StaticRoute>, EnvError> {
    let items: Vec<&str> = value.split_whitespace().collect();
    if items.len() % 2 != 0 {
        return Err(invalid(
            var,
            value,
            "odd number of items; expected `net/len gw` pairs",
        ));
    }
    items
        .chunks_exact(2)
        .map(|pair| {
            let bad = |what: &str| invalid(var, value, format!("{what} {:?}", clip(pair[0])));
            let (net, len) = pair[0].split_once('/').ok_or_else(|| bad("no `/len` in"))?;
            let destination = net.parse().map_err(|_| bad("bad network in"))?;
            let prefix_len = match len.parse::<u8>() {
                Ok(len) if len <= 32 => len,
                _ => return Err(bad("bad prefix length in")),
            };
            let gateway = pair[1].parse().map_err(|_| {
                invalid(
                    var,
                    value,
                    format!("gateway {:?} is not an IPv4 address", clip(pair[1])),
                )
            })?;
            Ok(StaticRoute {
                destination,
                prefix_len,
                gateway,
            })
        })
        .collect()
}

/// The option code of an `optNNN` name as udhcpc writes it (`opt%u`, 1..=254), else `None`.
fn opt_code(name: &str) -> Option<u8> {
    let digits = name.strip_prefix("opt")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u8>()
        .ok()
        .filter(|code| (1..=254).contains(code))
}

/// Validates a hex payload (possibly empty, e.g. rapid commit) and lowercases it.
fn hex(var: &str, value: &str) -> Result<String, EnvError> {
    if value.len() % 2 != 0 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(var, value, "not an even number of hex digits"));
    }
    Ok(value.to_ascii_lowercase())
}

/// A 4-byte big-endian option (T1 = 58, T2 = 59) from its validated hex payload.
fn be_u32(raw: &BTreeMap<u8, String>, code: u8) -> Result<Option<u32>, EnvError> {
    let Some(value) = raw.get(&code) else {
        return Ok(None);
    };
    let var = format!("opt{code}");
    if value.len() != 8 {
        return Err(invalid(&var, value, "expected 4 bytes (8 hex digits)"));
    }
    u32::from_str_radix(value, 16)
        .map(Some)
        .map_err(|_| invalid(&var, value, "not hex"))
}

#[cfg(test)]
mod tests;
