//! The MAP algorithm (RFC 7597 §5–§6, shared by MAP-T through RFC 7599 §5–§6): from a MAP
//! container and the delegated (End-user) IPv6 prefix to the CE's whole configuration, or a
//! reason why there is none. Nothing is ever half-computed.
//!
//! ```text
//! | n bits (rule IPv6 prefix) | o EA bits | s subnet | interface ID            |
//!                             | p IPv4 suffix | q PSID |
//! interface ID = 16 bits 0 | 32 bits IPv4 address | 16 bits PSID (right-aligned)
//! ```
//!
//! With r = prefix4-len and o = EA-len: o + r > 32 shares the address (p = 32 - r, k = q =
//! o - p), o + r = 32 gives the full address (k = 0, or k and PSID from an explicit
//! S46_PORTPARAMS), o + r < 32 would delegate an IPv4 prefix and is refused. The PSID offset a
//! is S46_PORTPARAMS's, else 6. An explicit PSID alongside EA-derived PSID bits must agree with
//! them.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::MapError;
use super::options::{MapContainer, MapTransport, Psid, S46Rule};
use super::ports::{port_ranges, PortRange};
use super::prefix::{mask128, mask32, Ipv6Prefix};
use super::rfc6052::check_dmr_len;

/// PSID offset when no S46_PORTPARAMS says otherwise (RFC 7597 §5.1: a = 6 excludes 0-1023).
pub const DEFAULT_PSID_OFFSET: u8 = 6;

/// A CE's MAP configuration, computed by [`compute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapConfig {
    /// The Basic Mapping Rule: the rule whose IPv6 prefix is the longest covering the
    /// delegated prefix (its F flag plays no part in choosing it).
    pub bmr: S46Rule,
    /// MAP-E BRs or the MAP-T DMR, as received.
    pub transport: MapTransport,
    /// The delegated End-user IPv6 prefix the configuration was computed for.
    pub end_user_prefix: Ipv6Prefix,
    /// The EA bits (o bits after the rule IPv6 prefix), right-aligned.
    pub ea_bits: u64,
    /// The CE's IPv4 address (shared when `psid.bits()` > 0).
    pub ipv4_address: Ipv4Addr,
    /// The PSID offset a.
    pub psid_offset: u8,
    /// The PSID and its length k.
    pub psid: Psid,
    /// 2^k: how many CEs share the IPv4 address.
    pub sharing_ratio: u32,
    /// The ports the CE may use, ascending ([`PortRange`] 0-65535 when k = 0).
    pub port_ranges: Vec<PortRange>,
    /// The MAP IPv6 address: End-user prefix, subnet ID 0, MAP interface identifier.
    pub map_ipv6_address: Ipv6Addr,
}

impl MapConfig {
    /// Whether the BMR is also a Forwarding Mapping Rule (F flag).
    pub fn is_fmr(&self) -> bool {
        self.bmr.is_fmr()
    }
}

/// The MAP configuration of a CE that was delegated `delegated` and received `container`.
pub fn compute(container: &MapContainer, delegated: Ipv6Prefix) -> Result<MapConfig, MapError> {
    let bmr = select_bmr(&container.rules, &delegated)?;
    if let MapTransport::Translation { dmr } = &container.transport {
        check_dmr_len(dmr.prefix_len())?;
    }
    let shape = Shape::of(bmr)?;
    let (n, o) = (bmr.ipv6_prefix.prefix_len(), bmr.ea_len);
    let needed = u32::from(n) + u32::from(o);
    if u32::from(delegated.prefix_len()) < needed {
        return Err(MapError::EndUserPrefixTooShort { delegated, needed });
    }
    let ea_bits = bits(u128::from(delegated.addr()), n, o);
    let suffix = ea_bits >> shape.q;
    let ipv4 = u32::from(bmr.ipv4_prefix.addr()) | low_u32(suffix);
    let derived = shape.psid(ea_bits & ((1 << shape.q) - 1))?;
    let psid = shape.resolve(derived)?;
    let ipv4_address = Ipv4Addr::from(ipv4);
    Ok(MapConfig {
        bmr: bmr.clone(),
        transport: container.transport.clone(),
        end_user_prefix: delegated,
        ea_bits,
        ipv4_address,
        psid_offset: shape.offset,
        psid,
        sharing_ratio: 1 << psid.bits(),
        port_ranges: port_ranges(shape.offset, psid),
        map_ipv6_address: map_address(&delegated, ipv4_address, psid),
    })
}

/// The MAP IPv6 address of the CE holding `ipv4`:`port` under `rule` used as a Forwarding
/// Mapping Rule (what a BR, or a CE in mesh mode, sends to; RFC 7597 §5.3).
pub fn forward(rule: &S46Rule, ipv4: Ipv4Addr, port: u16) -> Result<Ipv6Addr, MapError> {
    if !rule.ipv4_prefix.contains(ipv4) {
        return Err(MapError::Ipv4OutsideRule {
            addr: ipv4,
            rule: rule.ipv4_prefix,
        });
    }
    let shape = Shape::of(rule)?;
    let k = if shape.q > 0 {
        shape.q
    } else {
        u32::from(shape.explicit.bits())
    };
    let a = u32::from(shape.offset);
    let Some(m) = 16u32.checked_sub(a + k) else {
        return Err(shape.overflow(k));
    };
    let port = u32::from(port);
    let psid_value = if k == 0 {
        0
    } else {
        if a > 0 && port >> (16 - a) == 0 {
            return Err(MapError::PortExcluded {
                port: u16::try_from(port).unwrap_or(u16::MAX),
                offset: shape.offset,
            });
        }
        (port >> m) & ((1 << k) - 1)
    };
    let psid = u16::try_from(psid_value)
        .ok()
        .zip(u8::try_from(k).ok())
        .and_then(|(value, len)| Psid::new(value, len))
        .ok_or_else(|| shape.overflow(k))?;
    let (n, o) = (rule.ipv6_prefix.prefix_len(), rule.ea_len);
    let beyond = MapError::EaBitsBeyond128 {
        rule: rule.ipv6_prefix,
        ea_len: o,
    };
    let eup_len = u32::from(n) + u32::from(o);
    let Some(shift) = 128u32.checked_sub(eup_len) else {
        return Err(beyond);
    };
    // EA = IPv4 suffix (p bits) then the PSID when the EA bits carry it (q bits): < 2^o.
    let suffix = u128::from(u32::from(ipv4) & !mask32(rule.ipv4_prefix.prefix_len()));
    let psid_in_ea = if shape.q > 0 { psid_value } else { 0 };
    let ea = suffix << shape.q | u128::from(psid_in_ea);
    let addr = u128::from(rule.ipv6_prefix.addr()) | ea.checked_shl(shift).unwrap_or(0);
    let eup = u8::try_from(eup_len)
        .ok()
        .and_then(|len| Ipv6Prefix::new(Ipv6Addr::from(addr), len).ok())
        .ok_or(beyond)?;
    Ok(map_address(&eup, ipv4, psid))
}

/// The BMR: the longest rule IPv6 prefix covering `delegated`; equally long different matches
/// are ambiguous.
fn select_bmr<'a>(rules: &'a [S46Rule], delegated: &Ipv6Prefix) -> Result<&'a S46Rule, MapError> {
    let mut best: Option<&S46Rule> = None;
    let mut ambiguous = false;
    for rule in rules.iter().filter(|r| r.ipv6_prefix.covers(delegated)) {
        match best {
            Some(b) if b.ipv6_prefix.prefix_len() > rule.ipv6_prefix.prefix_len() => {}
            Some(b) if b.ipv6_prefix.prefix_len() == rule.ipv6_prefix.prefix_len() => {
                ambiguous |= b != rule
            }
            _ => {
                best = Some(rule);
                ambiguous = false;
            }
        }
    }
    match best {
        None => Err(MapError::NoMatchingRule(*delegated)),
        Some(b) if ambiguous => Err(MapError::AmbiguousRule(b.ipv6_prefix)),
        Some(b) => Ok(b),
    }
}

/// What a rule's lengths imply: PSID bits q carried in the EA bits, the PSID offset and the
/// explicit PSID of its S46_PORTPARAMS (if any).
struct Shape {
    q: u32,
    offset: u8,
    explicit: Psid,
    ea_len: u8,
    prefix4_len: u8,
}

impl Shape {
    fn of(rule: &S46Rule) -> Result<Self, MapError> {
        let (ea_len, prefix4_len) = (rule.ea_len, rule.ipv4_prefix.prefix_len());
        let Some(q) = (u32::from(ea_len) + u32::from(prefix4_len)).checked_sub(32) else {
            return Err(MapError::Ipv4PrefixDelegation {
                ea_len,
                prefix4_len,
            });
        };
        if q > 16 {
            return Err(MapError::PsidTooLong {
                psid_len: q,
                ea_len,
                prefix4_len,
            });
        }
        let params = rule.port_params;
        Ok(Self {
            q,
            offset: params.map_or(DEFAULT_PSID_OFFSET, |p| p.offset()),
            explicit: params.map_or(Psid::NONE, |p| p.psid()),
            ea_len,
            prefix4_len,
        })
    }

    /// The q-bit PSID `value` taken from the EA bits.
    fn psid(&self, value: u64) -> Result<Psid, MapError> {
        u16::try_from(value)
            .ok()
            .zip(u8::try_from(self.q).ok())
            .and_then(|(v, len)| Psid::new(v, len))
            .ok_or(MapError::PsidTooLong {
                psid_len: self.q,
                ea_len: self.ea_len,
                prefix4_len: self.prefix4_len,
            })
    }

    /// The PSID in force: the EA-derived one, or the explicit one when the EA bits carry none
    /// (full address); both present must agree. Also checks a + k ≤ 16.
    fn resolve(&self, derived: Psid) -> Result<Psid, MapError> {
        let psid = match (self.explicit.bits(), derived.bits()) {
            (0, _) => derived,
            (_, 0) => self.explicit,
            _ if self.explicit == derived => derived,
            _ => return Err(MapError::psid_conflict(self.explicit, derived)),
        };
        if u32::from(self.offset) + u32::from(psid.bits()) > 16 {
            return Err(self.overflow(u32::from(psid.bits())));
        }
        Ok(psid)
    }

    fn overflow(&self, k: u32) -> MapError {
        MapError::PortBitsOverflow {
            offset: self.offset,
            psid_len: u8::try_from(k).unwrap_or(u8::MAX),
        }
    }
}

/// `len` (≤ 64) bits of `value` starting `start` bits from the most significant one.
fn bits(value: u128, start: u8, len: u8) -> u64 {
    let v = value
        .checked_shl(u32::from(start))
        .and_then(|v| v.checked_shr(128 - u32::from(len.min(64))))
        .unwrap_or(0);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The low 32 bits of `v`.
fn low_u32(v: u64) -> u32 {
    u32::try_from(v & u64::from(u32::MAX)).unwrap_or(0)
}

/// `prefix`, subnet ID 0, then the MAP interface identifier (0 | IPv4 | PSID); a prefix longer
/// than 64 overwrites the identifier's leading bits (RFC 7599 §6).
fn map_address(prefix: &Ipv6Prefix, ipv4: Ipv4Addr, psid: Psid) -> Ipv6Addr {
    let iid = u128::from(u32::from(ipv4)) << 16 | u128::from(psid.value());
    let mask = mask128(prefix.prefix_len());
    Ipv6Addr::from(u128::from(prefix.addr()) & mask | iid & !mask)
}
