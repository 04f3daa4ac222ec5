//! What a DHCPv4 lease may carry before anything uses it: [`checked`] refuses a lease whose
//! address cannot be configured, and drops from it every other value that is unusable for its
//! role or beyond what TR-181 and the system events can carry, saying what it dropped.
//!
//! Limits: `IPRouters` and `DNSServers` are lists of at most 256 characters; eight addresses
//! (at most 127 characters) always fit, and the system events carry `gw_0` and `dns_0..dns_7`.
//! An option value is at most 255 octets (`ReqOption.{i}.Value`, hexBinary maxLength 255).

use std::net::Ipv4Addr;

use dhcpmgr_ipc::{StaticRoute, V4Lease};

use super::{LeaseError, MTU_RANGE};
use crate::lease::dropped::{Dropped, Notes};
use crate::lease::special::v4_not_unicast;

/// Routers kept from option 3, in the server's order.
pub(super) const MAX_ROUTERS: usize = 8;
/// DNS servers kept from option 6, in the server's order.
pub(crate) const MAX_DNS_SERVERS: usize = 8;
/// NTP servers kept from option 42.
pub(super) const MAX_NTP_SERVERS: usize = 8;
/// Classless static routes kept from option 121.
pub(super) const MAX_STATIC_ROUTES: usize = 16;
/// Hex digits of one raw option value (255 octets).
pub(super) const MAX_OPTION_HEX: usize = 510;
/// A domain or host name (RFC 1035 presentation form).
pub(super) const MAX_NAME: usize = 253;
/// Named variables kept verbatim, and the length of each value.
pub(super) const MAX_OTHER: usize = 32;
pub(super) const MAX_OTHER_VALUE: usize = 255;
/// Shortest prefix a lease may configure: a shorter one would make the kernel's connected
/// route cover a large part of the Internet.
pub(super) const MIN_PREFIX_LEN: u8 = 8;

/// The lease as it may be used, and what was left out of it; `Err` when its address, prefix
/// or lease time cannot be honoured at all.
pub(super) fn checked(lease: &V4Lease) -> Result<(V4Lease, Vec<Dropped>), LeaseError> {
    let a = lease.address;
    if v4_not_unicast(a).is_some() {
        return Err(LeaseError::BadAddress(a));
    }
    let len = lease.prefix_len;
    if !(MIN_PREFIX_LEN..=32).contains(&len) {
        return Err(LeaseError::BadPrefix(len));
    }
    let subnet = Subnet::of(a, len);
    if subnet.is_edge(a) {
        return Err(LeaseError::NotAHost {
            address: a,
            prefix_len: len,
        });
    }
    if lease.lease_secs == Some(0) {
        return Err(LeaseError::ZeroLeaseTime);
    }
    let mut notes = Notes::default();
    let mut out = lease.clone();
    out.routers = peers(&lease.routers, "routers", MAX_ROUTERS, &mut notes, |r| {
        if r == a {
            Some("the lease's own address")
        } else if subnet.contains(r) && subnet.is_edge(r) {
            Some("the network or broadcast address of the subnet")
        } else {
            None
        }
    });
    out.dns_servers = peers(
        &lease.dns_servers,
        "dns",
        MAX_DNS_SERVERS,
        &mut notes,
        |_| None,
    );
    out.ntp_servers = peers(
        &lease.ntp_servers,
        "ntpsrv",
        MAX_NTP_SERVERS,
        &mut notes,
        |_| None,
    );
    out.server_id = lease.server_id.filter(|&s| match v4_not_unicast(s) {
        Some(why) => {
            notes.drop("serverid", format!("are {why}"), s);
            false
        }
        None => true,
    });
    out.broadcast = lease.broadcast.filter(|&b| {
        let ok = b.is_broadcast() || (len <= 30 && b == subnet.broadcast());
        if !ok {
            notes.drop("broadcast", "are not the subnet's broadcast address", b);
        }
        ok
    });
    out.static_routes = static_routes(&lease.static_routes, &mut notes);
    out.mtu = lease.mtu.filter(|m| {
        let ok = MTU_RANGE.contains(m);
        if !ok {
            notes.drop("mtu", "are outside 576..=9216", m);
        }
        ok
    });
    check_timers(&mut out, &mut notes);
    out.domain = name(lease.domain.as_deref(), "domain", &mut notes, true);
    out.hostname = name(lease.hostname.as_deref(), "hostname", &mut notes, false);
    out.raw_options.retain(|code, hex| {
        let ok = hex.len() <= MAX_OPTION_HEX
            && hex.len() % 2 == 0
            && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            notes.drop("raw option", "are not hex of at most 255 octets", code);
        }
        ok
    });
    out.other = lease
        .other
        .iter()
        .filter(|(key, value)| {
            let ok = value.len() <= MAX_OTHER_VALUE;
            if !ok {
                notes.drop("other", "are longer than 255 octets", key);
            }
            ok
        })
        .take(MAX_OTHER)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some((key, _)) = lease.other.iter().nth(MAX_OTHER) {
        notes.drop("other", "are beyond the first 32 named variables", key);
    }
    Ok((out, notes.into_vec()))
}

/// The usable unicast peers of `list` (no duplicates), at most `cap` of them, in order.
fn peers(
    list: &[Ipv4Addr],
    field: &'static str,
    cap: usize,
    notes: &mut Notes,
    role: impl Fn(Ipv4Addr) -> Option<&'static str>,
) -> Vec<Ipv4Addr> {
    let mut kept: Vec<Ipv4Addr> = Vec::new();
    for &peer in list {
        if let Some(why) = v4_not_unicast(peer).or_else(|| role(peer)) {
            notes.drop(field, format!("are {why}"), peer);
        } else if kept.contains(&peer) {
            notes.drop(field, "are repeated", peer);
        } else if kept.len() == cap {
            notes.drop(field, format!("are beyond the first {cap}"), peer);
        } else {
            kept.push(peer);
        }
    }
    kept
}

fn static_routes(routes: &[StaticRoute], notes: &mut Notes) -> Vec<StaticRoute> {
    let mut kept = Vec::new();
    for r in routes {
        let shown = format!("{}/{} via {}", r.destination, r.prefix_len, r.gateway);
        let destination_ok = r.prefix_len <= 32
            && Subnet::of(r.destination, r.prefix_len).network() == r.destination
            && (r.prefix_len == 0 || r.destination.octets()[0] < 224)
            && !r.destination.is_loopback();
        // A gateway of 0.0.0.0 means "on link" (RFC 3442 practice).
        let gateway_ok = r.gateway.is_unspecified() || v4_not_unicast(r.gateway).is_none();
        if !destination_ok {
            notes.drop("staticroutes", "have an unusable destination", shown);
        } else if !gateway_ok {
            notes.drop("staticroutes", "have an unusable gateway", shown);
        } else if kept.len() == MAX_STATIC_ROUTES {
            notes.drop(
                "staticroutes",
                format!("are beyond the first {MAX_STATIC_ROUTES}"),
                shown,
            );
        } else {
            kept.push(*r);
        }
    }
    kept
}

/// T1 ≤ T2 ≤ lease time (RFC 2131 §4.4.5); inconsistent timers are both left out, so that
/// udhcpc's own defaults (0.5 and 0.875 of the lease) apply.
fn check_timers(lease: &mut V4Lease, notes: &mut Notes) {
    let limit = lease.lease_secs.unwrap_or(u32::MAX);
    let t2 = lease.rebinding_secs.unwrap_or(limit);
    let t1 = lease.renewal_secs.unwrap_or(t2);
    if t1 > t2 || t2 > limit {
        notes.drop(
            "renewal/rebinding",
            "break T1 <= T2 <= lease time",
            format!("{t1}/{t2}/{limit}"),
        );
        lease.renewal_secs = None;
        lease.rebinding_secs = None;
    }
}

/// A host or domain name of at most 253 octets of letters, digits, `-`, `_` and `.`
/// (and spaces between the names of a domain list).
fn name(value: Option<&str>, field: &'static str, notes: &mut Notes, list: bool) -> Option<String> {
    let value = value?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c) || (list && c == ' ');
    if value.is_empty() || value.len() > MAX_NAME || !value.chars().all(allowed) {
        notes.drop(field, "are not a name of at most 253 octets", value);
        return None;
    }
    Some(value.to_owned())
}

/// An IPv4 subnet: address and prefix length.
#[derive(Clone, Copy)]
struct Subnet {
    network: u32,
    host_bits: u32,
}

impl Subnet {
    fn of(address: Ipv4Addr, prefix_len: u8) -> Self {
        let host_bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
        Self {
            network: u32::from(address) & !host_bits,
            host_bits,
        }
    }

    fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network | self.host_bits)
    }

    fn contains(self, a: Ipv4Addr) -> bool {
        u32::from(a) & !self.host_bits == self.network
    }

    /// The network or broadcast address, for subnets that have them (/30 and shorter).
    fn is_edge(self, a: Ipv4Addr) -> bool {
        self.host_bits >= 3 && (a == self.network() || a == self.broadcast())
    }
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
