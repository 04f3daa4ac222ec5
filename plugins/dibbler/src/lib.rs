//! Turns one dibbler-client 1.0.1 script invocation (argv\[1\] = `add`, `update` or `delete`,
//! plus the environment) into a typed [`V6Event`] for the dhcpmgr daemon.
//!
//! This crate owns the dibbler side of the contract: which environment variables dibbler sets
//! (`IfaceMgr::notifyScripts`, `TNotifyScriptParams`), their formats, and how they map onto
//! [`V6Event`]. Everything here is pure and never panics on hostile input; sending the event is
//! left to the thin binary, [`support`] and `dhcpmgr-ipc`.
//!
//! Choices worth knowing:
//! * Only dibbler's own variable names are read: `IFACE`, `REMOTE_ADDR`, `CLNT_MESSAGE`,
//!   `SRV_MESSAGE`, `ADDRn*`, `PREFIXn*` and `SRV_OPTIONn`. `PATH`, `IFINDEX`, `DOWNLINK_*`,
//!   `CLNT_OPTIONn` and the rest of the environment never reach the message.
//! * dibbler's `n` counts over the server's REPLY first and then the client's own message, so a
//!   renewal lists its prefix twice. Duplicates (same address; same prefix and length) are
//!   dropped, keeping the first occurrence and its lifetimes, i.e. the server's. Indices need
//!   not be contiguous and are taken in numeric order.
//! * `ADDRn` needs `ADDRnPREF` and `ADDRnVALID`; `PREFIXn` needs `PREFIXnLEN` (0..=128),
//!   `PREFIXnPREF` and `PREFIXnVALID`. Lifetimes are plain decimal `u32`, passed through as given
//!   (4294967295 is infinite). A lone `ADDRnPREF` or `PREFIXnLEN` is ignored.
//! * A prefix with bits set beyond its length is rejected, not masked: masking would report a
//!   prefix the server never sent, and (as with the udhcpc plugin's non-contiguous `subnet`) a
//!   malformed value voids the event, with an error naming it, rather than being repaired.
//! * Names outside dibbler's format (`ADDR0`, `ADDR01`, `SRV_OPTION0`, `SRV_OPTION65536`, …) are
//!   ignored, not rejected, so a stray variable cannot block a lease.
//! * `REMOTE_ADDR` (an IPv6 address), `CLNT_MESSAGE` and `SRV_MESSAGE` are optional; an empty
//!   value counts as absent.
//! * `SRV_OPTIONn` values are trimmed (dibbler leaves a space after every list item); empty
//!   values and the `[generic]` placeholder (an option dibbler cannot render) are left out.
//! * RDK's patched dibbler-client also exports the server's IAID, T1 and T2 of the first IA_NA
//!   (`ADDR1IAID`, `ADDR1T1`, `ADDR1T2`) and IA_PD (`PREFIX1IAID`, `PREFIX1T1`, `PREFIX1T2`);
//!   they are read when present (plain decimal `u32`, like the lifetimes) and absent otherwise.
//!   A malformed one is left out: it is information for WAN Manager, not worth the lease.
//!   It also runs the script as `del` (= `delete`) and `expire`.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

pub use dhcpmgr_ipc::{V6Address, V6Event, V6EventKind, V6Prefix};

pub use dhcpmgr_ipc::plugin as support;
pub use dhcpmgr_ipc::IaParams;

use support::{clip, is_valid_ifname};

/// What dibbler writes for an option it has no text form for.
const GENERIC: &str = "[generic]";

/// Why dibbler's invocation could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// argv[1] is not an event this plugin knows.
    #[error("unknown dibbler event {0:?} (expected add, update, delete, del or expire)")]
    UnknownEvent(String),
    /// An environment variable the event needs is not set.
    #[error("required variable `{0}` is not set")]
    Missing(String),
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

/// Parses dibbler's argv\[1\] and environment into an event. All three kinds read the same
/// variables: for `delete` the addresses and prefixes are the released ones.
pub fn parse_event(arg: &str, env: &BTreeMap<String, String>) -> Result<V6Event, EnvError> {
    let kind = V6EventKind::from_arg(arg).ok_or_else(|| EnvError::UnknownEvent(clip(arg)))?;
    let interface = required(env, "IFACE")?;
    if !is_valid_ifname(interface) {
        return Err(invalid(
            "IFACE",
            interface,
            "not a valid Linux interface name",
        ));
    }
    let remote_addr = match env.get("REMOTE_ADDR").filter(|v| !v.is_empty()) {
        Some(value) => Some(ipv6("REMOTE_ADDR", value)?),
        None => None,
    };
    let text = |var: &str| env.get(var).filter(|v| !v.is_empty()).cloned();
    Ok(V6Event {
        interface: interface.clone(),
        kind,
        addresses: parse_addresses(env)?,
        prefixes: parse_prefixes(env)?,
        server_options: server_options(env),
        remote_addr,
        client_message: text("CLNT_MESSAGE"),
        server_message: text("SRV_MESSAGE"),
        ia_na: ia_params(env, "ADDR1"),
        ia_pd: ia_params(env, "PREFIX1"),
    })
}

/// `<stem>IAID`, `<stem>T1` and `<stem>T2` as RDK's dibbler exports them; `None` when none
/// of the three is set (upstream dibbler) or well-formed.
pub fn ia_params(env: &BTreeMap<String, String>, stem: &str) -> Option<IaParams> {
    let read = |suffix: &str| {
        let var = format!("{stem}{suffix}");
        decimal::<u32>(&var, env.get(&var)?).ok()
    };
    let params = IaParams {
        iaid: read("IAID"),
        t1: read("T1"),
        t2: read("T2"),
    };
    let any = params.iaid.is_some() || params.t1.is_some() || params.t2.is_some();
    any.then_some(params)
}

/// The `ADDRn` addresses (IA_NA and IA_TA) in order of `n`, without duplicates.
pub fn parse_addresses(env: &BTreeMap<String, String>) -> Result<Vec<V6Address>, EnvError> {
    let mut seen = BTreeSet::new();
    let mut addresses = Vec::new();
    for (n, value) in indexed(env, "ADDR") {
        let var = format!("ADDR{n}");
        let address = ipv6(&var, value)?;
        let preferred = lifetime(env, &format!("{var}PREF"))?;
        let valid = lifetime(env, &format!("{var}VALID"))?;
        if seen.insert(address) {
            addresses.push(V6Address {
                address,
                preferred,
                valid,
            });
        }
    }
    Ok(addresses)
}

/// The `PREFIXn` delegated prefixes in order of `n`, without duplicates.
pub fn parse_prefixes(env: &BTreeMap<String, String>) -> Result<Vec<V6Prefix>, EnvError> {
    let mut seen = BTreeSet::new();
    let mut prefixes = Vec::new();
    for (n, value) in indexed(env, "PREFIX") {
        let var = format!("PREFIX{n}");
        let prefix = ipv6(&var, value)?;
        let len_var = format!("{var}LEN");
        let length = match decimal::<u8>(&len_var, required(env, &len_var)?)? {
            len if len <= 128 => len,
            len => return Err(invalid(&len_var, &len.to_string(), "not 0..=128")),
        };
        // Bits after the first `length`; `checked_shr` is None for a full-length prefix.
        let host_bits = u128::MAX.checked_shr(u32::from(length)).unwrap_or(0);
        if u128::from(prefix) & host_bits != 0 {
            return Err(invalid(
                &var,
                value,
                format!("has bits set beyond its length /{length}"),
            ));
        }
        let preferred = lifetime(env, &format!("{var}PREF"))?;
        let valid = lifetime(env, &format!("{var}VALID"))?;
        if seen.insert((prefix, length)) {
            prefixes.push(V6Prefix {
                prefix,
                length,
                preferred,
                valid,
            });
        }
    }
    Ok(prefixes)
}

/// Every `SRV_OPTIONn` (n = 1..=65535 in plain decimal) with a text value, trimmed.
pub fn server_options(env: &BTreeMap<String, String>) -> BTreeMap<u16, String> {
    env.iter()
        .filter_map(|(name, value)| {
            let code = index(name, "SRV_OPTION")?;
            let value = value.trim();
            (!value.is_empty() && value != GENERIC).then(|| (code, value.to_owned()))
        })
        .collect()
}

/// The `stem<n>` variables (n ≥ 1 in plain decimal) with their values, in order of `n`.
fn indexed<'a>(env: &'a BTreeMap<String, String>, stem: &str) -> Vec<(u32, &'a str)> {
    let mut found: Vec<(u32, &str)> = env
        .iter()
        .filter_map(|(name, value)| Some((index(name, stem)?, value.as_str())))
        .collect();
    found.sort_unstable_by_key(|&(n, _)| n);
    found
}

/// `n` of a name `stem<n>` as dibbler writes it (decimal, no sign or leading zero, n ≥ 1).
fn index<T: std::str::FromStr>(name: &str, stem: &str) -> Option<T> {
    let digits = name.strip_prefix(stem)?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn required<'a>(env: &'a BTreeMap<String, String>, var: &str) -> Result<&'a String, EnvError> {
    env.get(var)
        .ok_or_else(|| EnvError::Missing(var.to_owned()))
}

fn ipv6(var: &str, value: &str) -> Result<Ipv6Addr, EnvError> {
    value
        .parse()
        .map_err(|_| invalid(var, value, "not an IPv6 address"))
}

/// Digits only, as dibbler prints them: no sign, no spaces.
fn decimal<T: std::str::FromStr>(var: &str, value: &str) -> Result<T, EnvError> {
    let parsed = if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| invalid(var, value, "not a decimal number in range"))
}

/// A required lifetime in seconds.
fn lifetime(env: &BTreeMap<String, String>, var: &str) -> Result<u32, EnvError> {
    decimal(var, required(env, var)?)
}

#[cfg(test)]
mod tests;
