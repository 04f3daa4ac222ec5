//! DHCPv6 lease decisions. dibbler-client reports IA_NA addresses and IA_PD prefixes in
//! separate transactions and never reports expiry, so [`plan`] merges each event into the
//! lease held so far and [`expire`] is driven by the daemon's own lifetime timers.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use dhcpmgr_ipc::{IaParams, V6Address, V6Event, V6EventKind, V6Prefix};
use serde::{Deserialize, Serialize};

use crate::boottime::BootSeconds;
use crate::lease::dropped::{Dropped, Notes};
use crate::lease::special::v6_not_global_unicast;
use crate::model::{EventKind, HeldAddress, HeldPrefix};
use crate::s46::{self, Ipv6Prefix, MapConfig, S46Container};

/// Everything DHCPv6 gave a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldV6 {
    pub addresses: Vec<HeldAddress>,
    pub prefixes: Vec<HeldPrefix>,
    /// Options of the last reply that carried any, as dibbler rendered them.
    pub options: BTreeMap<u16, String>,
    /// The server's IAID, T1 and T2 for the IA_NA and IA_PD, when RDK's dibbler reported them.
    #[serde(default)]
    pub ia_na: Option<IaParams>,
    #[serde(default)]
    pub ia_pd: Option<IaParams>,
}

impl HeldV6 {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.prefixes.is_empty()
    }

    /// The earliest time an address or prefix runs out.
    pub fn next_expiry(&self) -> Option<BootSeconds> {
        let addrs = self.addresses.iter().filter_map(HeldAddress::expires);
        let prefixes = self.prefixes.iter().filter_map(HeldPrefix::expires);
        addrs.chain(prefixes).min()
    }

    /// The same leases, ignoring when they were confirmed and their lifetimes.
    fn same_bindings(&self, other: &Self) -> bool {
        let addrs = |h: &Self| {
            h.addresses
                .iter()
                .map(|a| a.lease.address)
                .collect::<Vec<_>>()
        };
        let prefixes = |h: &Self| {
            h.prefixes
                .iter()
                .map(|p| (p.lease.prefix, p.lease.length))
                .collect::<Vec<_>>()
        };
        addrs(self) == addrs(other)
            && prefixes(self) == prefixes(other)
            && self.options == other.options
    }
}

/// Why a DHCPv6 event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum V6LeaseError {
    #[error("{0} is not a usable global address")]
    BadAddress(Ipv6Addr),
    #[error("{prefix}/{length} is not a usable delegated prefix")]
    BadPrefix { prefix: Ipv6Addr, length: u8 },
    #[error("stored lease holds {addresses} addresses and {prefixes} prefixes, more than kept")]
    TooMany { addresses: usize, prefixes: usize },
    #[error("preferred lifetime {preferred} exceeds valid lifetime {valid} for {what}")]
    Lifetimes {
        what: String,
        preferred: u32,
        valid: u32,
    },
}

/// IA_NA addresses and IA_PD prefixes kept from one event (the daemon asks for one IA of
/// each, so this is per IA), in the server's order; the rest are left out and said so.
pub(crate) const MAX_ADDRESSES: usize = 8;
pub(crate) const MAX_PREFIXES: usize = 8;
/// Server options kept from one reply (lowest codes first): each is a `ReceivedOption` row.
pub(crate) const MAX_SERVER_OPTIONS: usize = 64;
/// Delegated prefixes shorter than this are refused: no ISP delegates that much to a CPE.
pub(crate) const MIN_DELEGATED_LEN: u8 = 16;

/// Checks every address and prefix of `event`: one that is not usable refuses the event.
pub(crate) fn validate(event: &V6Event) -> Result<(), V6LeaseError> {
    check_addresses(&event.addresses)?;
    check_prefixes(&event.prefixes)
}

fn check_addresses(addresses: &[V6Address]) -> Result<(), V6LeaseError> {
    for a in addresses {
        if v6_not_global_unicast(a.address).is_some() {
            return Err(V6LeaseError::BadAddress(a.address));
        }
        if a.preferred > a.valid {
            return Err(V6LeaseError::Lifetimes {
                what: a.address.to_string(),
                preferred: a.preferred,
                valid: a.valid,
            });
        }
    }
    Ok(())
}

fn check_prefixes(prefixes: &[V6Prefix]) -> Result<(), V6LeaseError> {
    for p in prefixes {
        let host_bits_clear = u128::from(p.prefix)
            .checked_shl(u32::from(p.length))
            .unwrap_or(0)
            == 0;
        if !(MIN_DELEGATED_LEN..=128).contains(&p.length)
            || v6_not_global_unicast(p.prefix).is_some()
            || !host_bits_clear
        {
            return Err(V6LeaseError::BadPrefix {
                prefix: p.prefix,
                length: p.length,
            });
        }
        if p.preferred > p.valid {
            return Err(V6LeaseError::Lifetimes {
                what: format!("{}/{}", p.prefix, p.length),
                preferred: p.preferred,
                valid: p.valid,
            });
        }
    }
    Ok(())
}

/// What was read back from `state_dir`, checked exactly as an event from the plugin: a held
/// lease with anything unusable in it is not put back at all.
pub(crate) fn restored(held: HeldV6) -> Result<HeldV6, V6LeaseError> {
    let addresses: Vec<V6Address> = held.addresses.iter().map(|a| a.lease).collect();
    let prefixes: Vec<V6Prefix> = held.prefixes.iter().map(|p| p.lease).collect();
    check_addresses(&addresses)?;
    check_prefixes(&prefixes)?;
    if addresses.len() > MAX_ADDRESSES || prefixes.len() > MAX_PREFIXES {
        return Err(V6LeaseError::TooMany {
            addresses: addresses.len(),
            prefixes: prefixes.len(),
        });
    }
    Ok(held)
}

/// The first `cap` of `items`; the rest noted as dropped.
fn capped<T: Copy + std::fmt::Debug>(
    items: &[T],
    cap: usize,
    field: &'static str,
    notes: &mut Notes,
) -> Vec<T> {
    for extra in items.iter().skip(cap) {
        notes.drop(
            field,
            format!("are beyond the first {cap}"),
            format!("{extra:?}"),
        );
    }
    items.iter().take(cap).copied().collect()
}

/// The MAP-T (option 95) or MAP-E (option 94) configuration the held lease implies, if the
/// server sent either: `Err` with the reason when the option or its combination with the
/// delegated prefix is invalid (then nothing of it may be applied).
pub(crate) fn map_config(held: &HeldV6) -> Option<Result<MapConfig, MapConfigError>> {
    let (code, text) = [95u16, 94]
        .iter()
        .find_map(|code| held.options.get(code).map(|text| (*code, text)))?;
    Some((|| {
        let container = match s46::decode_colon_hex(code, text) {
            Ok(S46Container::Map(container)) => container,
            Ok(S46Container::Lw4o6(_)) => return Err(MapConfigError::NotMap(code)),
            Err(source) => return Err(MapConfigError::Option { code, source }),
        };
        let delegated = held
            .prefixes
            .first()
            .ok_or(MapConfigError::NoPrefix(code))?;
        let prefix = Ipv6Prefix::new(delegated.lease.prefix, delegated.lease.length)
            .map_err(MapConfigError::Prefix)?;
        s46::compute(&container, prefix).map_err(MapConfigError::Map)
    })())
}

/// Why the MAP option the server sent gives no MAP configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MapConfigError {
    /// Option 94/95 holds a lightweight 4over6 container instead.
    #[error("option {0} is not a MAP container")]
    NotMap(u16),
    /// The option's bytes do not decode (RFC 7598).
    #[error("option {code}: {source}")]
    Option { code: u16, source: s46::S46Error },
    /// MAP needs the delegated prefix to find the basic mapping rule.
    #[error("option {0} came without a delegated prefix")]
    NoPrefix(u16),
    /// The delegated prefix is not a valid IPv6 prefix.
    #[error("delegated prefix: {0}")]
    Prefix(s46::PrefixError),
    /// No basic mapping rule fits the prefix, or the rule does not work out.
    #[error("MAP: {0}")]
    Map(s46::MapError),
}

/// What to do for one event or expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V6Plan {
    /// Addresses to put on the interface or refresh (lifetimes), in order.
    pub configure: Vec<V6Address>,
    /// Addresses to take off the interface, after `configure`.
    pub remove: Vec<Ipv6Addr>,
    /// The lease to hold afterwards.
    pub held: HeldV6,
    /// The `Event` to report, if any.
    pub event: Option<EventKind>,
    /// What the event carried beyond what is kept.
    pub dropped: Vec<Dropped>,
}

/// Merges `event` into `held`. An `update` without addresses keeps the held addresses (IA_NA
/// and IA_PD renew separately); likewise for prefixes. Addresses with a valid lifetime of 0
/// are withdrawn by the server, except in the answer to a CONFIRM: its REPLY carries no IA, so
/// dibbler-client reports the addresses of its own CONFIRM, whose lifetimes are 0 by RFC 8415
/// §18.2.3; those confirm what is held and change nothing.
pub(crate) fn plan(
    event: &V6Event,
    held: &HeldV6,
    now: BootSeconds,
) -> Result<V6Plan, V6LeaseError> {
    validate(event)?;
    let confirm = event.client_message.as_deref() == Some("CONFIRM");
    let mut notes = Notes::default();
    for code in event.server_options.keys().skip(MAX_SERVER_OPTIONS) {
        notes.drop(
            "server options",
            format!("are beyond the first {MAX_SERVER_OPTIONS}"),
            code,
        );
    }
    let event = &V6Event {
        addresses: capped(
            &event.addresses,
            MAX_ADDRESSES,
            "IA_NA addresses",
            &mut notes,
        )
        .into_iter()
        .filter(|a| !(confirm && a.valid == 0))
        .collect(),
        prefixes: capped(&event.prefixes, MAX_PREFIXES, "IA_PD prefixes", &mut notes)
            .into_iter()
            .filter(|p| !(confirm && p.valid == 0))
            .collect(),
        server_options: event
            .server_options
            .iter()
            .take(MAX_SERVER_OPTIONS)
            .map(|(k, v)| (*k, v.clone()))
            .collect(),
        ..event.clone()
    };
    let dropped = notes.into_vec();
    let whole = event.addresses.is_empty() && event.prefixes.is_empty();
    if event.kind == V6EventKind::Delete || (event.kind == V6EventKind::Expire && whole) {
        return Ok(V6Plan {
            configure: Vec::new(),
            remove: held.addresses.iter().map(|a| a.lease.address).collect(),
            held: HeldV6::default(),
            event: (!held.is_empty()).then_some(EventKind::LeaseDeleted),
            dropped,
        });
    }
    if event.kind == V6EventKind::Expire {
        return Ok(expire_listed(event, held, dropped));
    }
    let mut next = held.clone();
    if !event.addresses.is_empty() {
        next.addresses = event
            .addresses
            .iter()
            .filter(|a| a.valid > 0)
            .map(|&lease| HeldAddress {
                lease,
                obtained: now,
            })
            .collect();
    }
    if !event.prefixes.is_empty() {
        next.prefixes = event
            .prefixes
            .iter()
            .filter(|p| p.valid > 0)
            .map(|&lease| HeldPrefix {
                lease,
                obtained: now,
            })
            .collect();
    }
    if !event.server_options.is_empty() {
        next.options = event.server_options.clone();
    }
    if event.ia_na.is_some() {
        next.ia_na = event.ia_na;
    }
    if event.ia_pd.is_some() {
        next.ia_pd = event.ia_pd;
    }
    let remove = held
        .addresses
        .iter()
        .map(|a| a.lease.address)
        .filter(|old| !next.addresses.iter().any(|a| a.lease.address == *old))
        .collect();
    let configure = if event.addresses.is_empty() {
        Vec::new()
    } else {
        next.addresses.iter().map(|a| a.lease).collect()
    };
    let event_kind = if next.is_empty() && held.is_empty() {
        None
    } else if next.same_bindings(held) {
        Some(EventKind::LeaseRenewed)
    } else if next.is_empty() {
        Some(EventKind::LeaseDeleted)
    } else {
        Some(EventKind::LeaseUpdated)
    };
    Ok(V6Plan {
        configure,
        remove,
        held: next,
        event: event_kind,
        dropped,
    })
}

/// RDK's `expire` listing what ran out: those addresses and prefixes go, the rest stays.
fn expire_listed(event: &V6Event, held: &HeldV6, dropped: Vec<Dropped>) -> V6Plan {
    let listed_addr =
        |a: &HeldAddress| event.addresses.iter().any(|e| e.address == a.lease.address);
    let listed_prefix = |p: &HeldPrefix| {
        event
            .prefixes
            .iter()
            .any(|e| (e.prefix, e.length) == (p.lease.prefix, p.lease.length))
    };
    V6Plan {
        dropped,
        ..withdraw(held, listed_addr, listed_prefix)
    }
}

/// Drops whatever ran out by `now`.
pub(crate) fn expire(held: &HeldV6, now: BootSeconds) -> V6Plan {
    let ran_out = |e: Option<BootSeconds>| e.is_some_and(|e| e <= now);
    withdraw(held, |a| ran_out(a.expires()), |p| ran_out(p.expires()))
}

/// Drops everything held, infinite lifetimes included (the client stops or is disabled).
pub(crate) fn drop_all(held: &HeldV6) -> V6Plan {
    withdraw(held, |_| true, |_| true)
}

/// Takes the addresses and prefixes `gone` says are gone out of `held`; what is left keeps
/// its options, unless nothing is left.
fn withdraw(
    held: &HeldV6,
    gone_addr: impl Fn(&HeldAddress) -> bool,
    gone_prefix: impl Fn(&HeldPrefix) -> bool,
) -> V6Plan {
    let mut next = held.clone();
    next.addresses.retain(|a| !gone_addr(a));
    next.prefixes.retain(|p| !gone_prefix(p));
    if next.is_empty() {
        next = HeldV6::default();
    }
    let remove = held
        .addresses
        .iter()
        .filter(|a| gone_addr(a))
        .map(|a| a.lease.address)
        .collect();
    let event = (next != *held).then_some(if next.is_empty() {
        EventKind::LeaseDeleted
    } else {
        EventKind::LeaseUpdated
    });
    V6Plan {
        configure: Vec::new(),
        remove,
        held: next,
        event,
        dropped: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
