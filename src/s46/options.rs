//! The decoded S46 options of RFC 7598 as typed values: option codes, PSID and port parameters,
//! rules, bindings and the three containers. Building these from bytes is `decode`'s job,
//! turning them back into bytes is `encode`'s.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{Field, S46Error};
use super::prefix::{Ipv4Prefix, Ipv6Prefix};

/// A DHCPv6 option code, displayed with its RFC 7598 name when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionCode(pub u16);

impl OptionCode {
    /// OPTION_S46_RULE.
    pub const RULE: Self = Self(89);
    /// OPTION_S46_BR.
    pub const BR: Self = Self(90);
    /// OPTION_S46_DMR.
    pub const DMR: Self = Self(91);
    /// OPTION_S46_V4V6BIND.
    pub const V4V6BIND: Self = Self(92);
    /// OPTION_S46_PORTPARAMS.
    pub const PORTPARAMS: Self = Self(93);
    /// OPTION_S46_CONT_MAPE.
    pub const CONT_MAPE: Self = Self(94);
    /// OPTION_S46_CONT_MAPT.
    pub const CONT_MAPT: Self = Self(95);
    /// OPTION_S46_CONT_LW.
    pub const CONT_LW: Self = Self(96);

    fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            89 => "S46_RULE",
            90 => "S46_BR",
            91 => "S46_DMR",
            92 => "S46_V4V6BIND",
            93 => "S46_PORTPARAMS",
            94 => "S46_CONT_MAPE",
            95 => "S46_CONT_MAPT",
            96 => "S46_CONT_LW",
            _ => return None,
        })
    }
}

impl fmt::Display for OptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "option {}", self.0),
        }
    }
}

/// A Port Set ID: `len` (k, 0..=16) significant bits holding `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Psid {
    value: u16,
    len: u8,
}

impl Psid {
    /// No PSID: k = 0, the address is not shared.
    pub const NONE: Self = Self { value: 0, len: 0 };

    /// A `len`-bit PSID; `None` when `len` > 16 or `value` does not fit in `len` bits.
    pub fn new(value: u16, len: u8) -> Option<Self> {
        let fits = len >= 16 || u32::from(value) >> len == 0;
        (len <= 16 && fits).then_some(Self { value, len })
    }

    /// The PSID of an S46_PORTPARAMS `field` (left-aligned: the first `len` bits are the PSID,
    /// the rest must be zero). With `len` = 0 the field "is to be ignored" (RFC 7598 §4.5), so
    /// any content is accepted and dropped.
    pub(crate) fn from_field(field: u16, len: u8) -> Result<Self, S46Error> {
        if len > 16 {
            return Err(S46Error::OutOfRange {
                option: OptionCode::PORTPARAMS,
                field: Field::PsidLen,
                value: len,
                max: 16,
            });
        }
        if len == 0 {
            return Ok(Self::NONE);
        }
        let shift = 16 - u32::from(len);
        if u32::from(field) & ((1u32 << shift) - 1) != 0 {
            return Err(S46Error::NonZeroPadding {
                option: OptionCode::PORTPARAMS,
                field: Field::Psid,
                len,
            });
        }
        Ok(Self {
            value: field >> shift,
            len,
        })
    }

    /// The left-aligned 16-bit field of S46_PORTPARAMS.
    pub(crate) fn to_field(self) -> u16 {
        u16::try_from(u32::from(self.value) << (16 - u32::from(self.len.min(16)))).unwrap_or(0)
    }

    /// The PSID value (right-aligned).
    pub fn value(&self) -> u16 {
        self.value
    }

    /// k, the number of PSID bits.
    pub fn bits(&self) -> u8 {
        self.len
    }
}

/// S46_PORTPARAMS (93): PSID offset `a` (0..=15) and an explicit PSID, with `a + k` ≤ 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortParams {
    offset: u8,
    psid: Psid,
}

impl PortParams {
    /// Port parameters with PSID offset `offset` and the explicit `psid` (`Psid::NONE` for none).
    pub fn new(offset: u8, psid: Psid) -> Result<Self, S46Error> {
        if offset > 15 {
            return Err(S46Error::OutOfRange {
                option: OptionCode::PORTPARAMS,
                field: Field::PsidOffset,
                value: offset,
                max: 15,
            });
        }
        if offset + psid.bits() > 16 {
            return Err(S46Error::PortBitsOverflow {
                offset,
                psid_len: psid.bits(),
            });
        }
        Ok(Self { offset, psid })
    }

    /// The PSID offset `a`: how many leading port bits are excluded from the PSID.
    pub fn offset(&self) -> u8 {
        self.offset
    }

    /// The explicit PSID (`bits()` = 0 when none was given).
    pub fn psid(&self) -> Psid {
        self.psid
    }
}

/// S46_RULE (89): a Basic and/or Forwarding Mapping Rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S46Rule {
    /// The raw flags octet; only F (the least significant bit) is defined, the other seven bits
    /// are reserved and kept as received (Kea sends 0x80).
    pub flags: u8,
    /// EA-bits length (0..=48 on the wire).
    pub ea_len: u8,
    /// Rule IPv4 prefix (bits after its length are ignored on receipt, as RFC 7598 §4.1 says).
    pub ipv4_prefix: Ipv4Prefix,
    /// Rule IPv6 prefix.
    pub ipv6_prefix: Ipv6Prefix,
    /// The nested S46_PORTPARAMS, if any.
    pub port_params: Option<PortParams>,
}

impl S46Rule {
    /// The F flag: this rule is also a Forwarding Mapping Rule.
    pub fn is_fmr(&self) -> bool {
        self.flags & 0x01 != 0
    }
}

/// S46_V4V6BIND (92): the full or shared IPv4 address of a Lightweight 4over6 CE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct V4V6Binding {
    /// The CE's IPv4 address.
    pub ipv4_address: Ipv4Addr,
    /// The IPv6 prefix the tunnel source is taken from.
    pub ipv6_prefix: Ipv6Prefix,
    /// The nested S46_PORTPARAMS, if any.
    pub port_params: Option<PortParams>,
}

/// What distinguishes a MAP-E domain from a MAP-T one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapTransport {
    /// MAP-E (option 94): encapsulation towards one or more Border Relays (S46_BR).
    Encapsulation {
        /// The BR addresses (S46_BR, 90), in the order received; at least one after decoding.
        border_relays: Vec<Ipv6Addr>,
    },
    /// MAP-T (option 95): translation with the Default Mapping Rule's prefix (S46_DMR).
    Translation {
        /// The DMR's IPv6 prefix (S46_DMR, 91), the RFC 6052 prefix IPv4 destinations outside
        /// the MAP domain are translated behind.
        dmr: Ipv6Prefix,
    },
}

/// The content of S46_CONT_MAPE (94) or S46_CONT_MAPT (95).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapContainer {
    /// The rules, in the order received (at least one after decoding).
    pub rules: Vec<S46Rule>,
    /// BRs (MAP-E) or the DMR (MAP-T).
    pub transport: MapTransport,
}

/// The content of S46_CONT_LW (96).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lw4o6Container {
    /// The binding, if the server sent one.
    pub binding: Option<V4V6Binding>,
    /// The lwAFTR addresses (at least one after decoding).
    pub border_relays: Vec<Ipv6Addr>,
}

/// A decoded S46 container option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum S46Container {
    /// MAP-E (94) or MAP-T (95), told apart by [`MapContainer::transport`].
    Map(MapContainer),
    /// Lightweight 4over6 (96).
    Lw4o6(Lw4o6Container),
}

impl S46Container {
    /// The container's option code: 94, 95 or 96.
    pub fn code(&self) -> OptionCode {
        match self {
            Self::Map(MapContainer {
                transport: MapTransport::Encapsulation { .. },
                ..
            }) => OptionCode::CONT_MAPE,
            Self::Map(MapContainer {
                transport: MapTransport::Translation { .. },
                ..
            }) => OptionCode::CONT_MAPT,
            Self::Lw4o6(_) => OptionCode::CONT_LW,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s46_psid_field_is_left_aligned() {
        // V1 (Kea): k = 6, field 0xfc00 → 63; V2 (dhcpkit): k = 7, 0xfe00 → 127;
        // V3: k = 5, 0xa800 → 21; V5 (FreeRADIUS): k = 8, field 1024 → 4.
        for (field, len, value) in [
            (0xfc00, 6, 63),
            (0xfe00, 7, 127),
            (0xa800, 5, 21),
            (0x0400, 8, 4),
            (0x3000, 4, 3),
            (0xffff, 16, 0xffff),
            (0x1234, 0, 0),
        ] {
            let psid = Psid::from_field(field, len).unwrap();
            assert_eq!(
                (psid.value(), psid.bits()),
                (value, len),
                "{field:#x}/{len}"
            );
            if len > 0 {
                assert_eq!(psid.to_field(), field);
            }
        }
        assert_eq!(Psid::NONE.to_field(), 0);
        assert!(matches!(
            Psid::from_field(0xfc01, 6),
            Err(S46Error::NonZeroPadding {
                field: Field::Psid,
                ..
            })
        ));
        assert!(Psid::from_field(0, 17).is_err());
        assert_eq!(Psid::new(0x34, 8).map(|p| p.value()), Some(0x34));
        assert!(Psid::new(0x100, 8).is_none());
        assert!(Psid::new(0, 17).is_none());
        assert!(Psid::new(0xffff, 16).is_some());
    }

    #[test]
    fn s46_port_params_limits() {
        assert!(PortParams::new(15, Psid::NONE).is_ok());
        assert!(matches!(
            PortParams::new(16, Psid::NONE),
            Err(S46Error::OutOfRange {
                field: Field::PsidOffset,
                value: 16,
                ..
            })
        ));
        let k10 = Psid::new(1, 10).unwrap();
        assert!(PortParams::new(6, k10).is_ok());
        assert_eq!(
            PortParams::new(7, k10),
            Err(S46Error::PortBitsOverflow {
                offset: 7,
                psid_len: 10
            })
        );
    }

    #[test]
    fn s46_option_code_names() {
        assert_eq!(OptionCode::CONT_MAPT.to_string(), "S46_CONT_MAPT (95)");
        assert_eq!(OptionCode(7).to_string(), "option 7");
    }
}
