//! DHCPv6 (RFC 8415) decoded by dhcproto: relay headers as `v6::RelayMessage` (relays unwrapped
//! down to the client's or server's message, at most 8 deep), that message's header as
//! `v6::Message`, and the options the record interprets — DUIDs, IA_NA/IA_TA/IA_PD with their
//! addresses, prefixes and lifetimes, vendor class — typed by dhcproto. Never panics.
//!
//! The few in-tree pieces are there because dhcproto 0.15 cannot do them:
//! - [`Tlvs`], a bounds-checked walk over the option list: dhcproto decodes a RELAY-MSG's
//!   contents always as another relay message (a relayed SOLICIT comes out as garbage), keeps no
//!   wire bytes of the options it types (the record shows every option's wire value), and stops
//!   silently at the first option it cannot decode or that is cut short (the record flags that,
//!   and one odd option must not hide the rest). So the walk unwraps relays and splits the
//!   options, and dhcproto decodes each option on its own.
//! - [`check`], before dhcproto sees an option: dhcproto subtracts a fixed size from the option
//!   length without checking (status code 2, vendor class 4, vendor options 4, authentication
//!   11; a panic with overflow checks), reads some options at their fixed size whatever their
//!   length says (preference, elapsed time, server unicast, rapid commit, …: inside an IA the
//!   options after them are then read out of step, and may underflow the same way) and
//!   recurses into nested options without bound, so such options, at any depth, must have a
//!   length dhcproto reads correctly and be at most [`MAX_DEPTH`] deep.
//! - DUID type and MAC ([`duid_type`], [`duid_mac`]): dhcproto's `Duid` is opaque bytes.

use std::net::Ipv6Addr;

use dhcproto::v6::{self, DhcpOption, VendorClass};
use dhcproto::{Decodable, Decoder};

use super::PacketError;

/// Relay layers unwrapped, and option nesting checked, at most this deep.
pub(crate) const MAX_DEPTH: usize = 8;

/// The options the record reads as typed values (client and server DUID, IA_NA, IA_TA, IA_PD,
/// vendor class).
const TYPED: [u16; 6] = [1, 2, 3, 4, 25, 16];

/// Why a DHCPv6 message is not entirely well-formed (its decodable parts are kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Defect {
    #[error("DHCPv6 options cut short")]
    CutShort,
    #[error("DHCPv6 option {code} of {len} bytes is shorter than its {min}-byte fixed part")]
    TooShort { code: u16, len: usize, min: usize },
    #[error("DHCPv6 option {code} of {len} bytes, not {size}")]
    BadLength { code: u16, len: usize, size: usize },
    #[error("DHCPv6 options nested more than {MAX_DEPTH} deep")]
    TooDeep,
}

/// One identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ia {
    /// `IA_NA`, `IA_TA` or `IA_PD`.
    pub kind: &'static str,
    pub iaid: u32,
    pub t1: Option<u32>,
    pub t2: Option<u32>,
    /// Addresses (IA_NA/IA_TA) or prefixes `addr/len` (IA_PD) with preferred and valid lifetimes.
    pub leases: Vec<IaLease>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaLease {
    pub addr: Ipv6Addr,
    /// Prefix length for IA_PD, `None` for addresses.
    pub prefix_len: Option<u8>,
    pub preferred: u32,
    pub valid: u32,
}

/// A decoded DHCPv6 message; for relayed messages, the outermost relay's fields plus the
/// innermost (client or server) message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Dhcp6 {
    /// The outer message type (e.g. 12 RELAY-FORW).
    pub msg_type: u8,
    /// The innermost message type, when relayed.
    pub inner_type: Option<u8>,
    /// Transaction id of the innermost client/server message.
    pub xid: Option<u32>,
    /// Link address of the outermost relay (the relay's interface toward the client).
    pub relay_link: Option<Ipv6Addr>,
    /// Options of the innermost message (code, wire value), in order.
    pub options: Vec<(u16, Vec<u8>)>,
    /// dhcproto's typed [`TYPED`] options of the innermost message, in order.
    pub typed: Vec<DhcpOption>,
    /// The first defect found (the decodable parts are kept).
    pub defect: Option<Defect>,
}

/// One option: its code, value and whole wire form (code and length included).
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    code: u16,
    value: &'a [u8],
    wire: &'a [u8],
}

/// The options of `b` in order; one that does not fit ends the walk with [`Defect::CutShort`].
struct Tlvs<'a>(&'a [u8]);

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, Defect>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = std::mem::take(&mut self.0);
        if b.is_empty() {
            return None;
        }
        let split = || {
            let code = u16::from_be_bytes(b.get(..2)?.try_into().ok()?);
            let len = usize::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?));
            let (wire, rest) = (b.get(..4 + len)?, b.get(4 + len..)?);
            Some((
                Tlv {
                    code,
                    value: wire.get(4..)?,
                    wire,
                },
                rest,
            ))
        };
        Some(match split() {
            Some((tlv, rest)) => {
                self.0 = rest;
                Ok(tlv)
            }
            None => Err(Defect::CutShort),
        })
    }
}

fn short(what: &'static str, len: usize, need: usize) -> PacketError {
    PacketError::ShortDhcp6 { what, len, need }
}

impl Dhcp6 {
    /// Decodes a DHCPv6 payload; `Err` only when a message header is missing or relays nest
    /// deeper than [`MAX_DEPTH`].
    pub(crate) fn parse(b: &[u8]) -> Result<Dhcp6, PacketError> {
        let mut msg = Dhcp6 {
            msg_type: *b.first().ok_or(short("message", 0, 4))?,
            ..Dhcp6::default()
        };
        let mut current = b;
        for depth in 0..=MAX_DEPTH {
            let t = *current.first().ok_or(short("relayed message", 0, 4))?;
            if !matches!(
                v6::MessageType::from(t),
                v6::MessageType::RelayForw | v6::MessageType::RelayRepl
            ) {
                let header = current.get(..4).ok_or(short("message", current.len(), 4))?;
                let m = v6::Message::decode(&mut Decoder::new(header))
                    .map_err(|_| short("message", current.len(), 4))?;
                if depth > 0 {
                    msg.inner_type = Some(t);
                }
                msg.xid = Some(m.xid_num());
                msg.read_options(current.get(4..).unwrap_or_default());
                return Ok(msg);
            }
            let header = current
                .get(..34)
                .ok_or(short("relay message", current.len(), 34))?;
            let relay = v6::RelayMessage::decode(&mut Decoder::new(header))
                .map_err(|_| short("relay message", current.len(), 34))?;
            if depth == 0 {
                msg.relay_link = Some(relay.link_addr());
            }
            let mut inner = None;
            for tlv in Tlvs(current.get(34..).unwrap_or_default()) {
                match tlv {
                    Ok(tlv) if tlv.code == 9 => {
                        inner = Some(tlv.value);
                        break;
                    }
                    Ok(_) => {}
                    Err(d) => msg.note(d),
                }
            }
            match inner {
                Some(inner) => {
                    msg.inner_type = inner.first().copied();
                    current = inner;
                }
                None => return Ok(msg),
            }
        }
        Err(PacketError::RelayTooDeep(MAX_DEPTH))
    }

    fn note(&mut self, defect: Defect) {
        self.defect.get_or_insert(defect);
    }

    /// Splits the innermost message's options and has dhcproto type the [`TYPED`] ones.
    fn read_options(&mut self, body: &[u8]) {
        for tlv in Tlvs(body) {
            let tlv = match tlv {
                Ok(tlv) => tlv,
                Err(d) => {
                    self.note(d);
                    break;
                }
            };
            self.options.push((tlv.code, tlv.value.to_vec()));
            let top = At {
                depth: 0,
                vendor: false,
            };
            if !TYPED.contains(&tlv.code) || !check(tlv.code, tlv.value, top, &mut self.defect) {
                continue;
            }
            match DhcpOption::decode(&mut Decoder::new(tlv.wire)) {
                Ok(o) => self.typed.push(o),
                Err(e) => tracing::debug!(code = tlv.code, error = %e, "DHCPv6 option not decoded"),
            }
        }
    }

    /// The client's (or, relayed, the innermost) message type.
    pub(crate) fn client_type(&self) -> u8 {
        self.inner_type.unwrap_or(self.msg_type)
    }

    /// The wire value of option `code`.
    pub(crate) fn option(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// The client DUID (option 1).
    pub(crate) fn client_id(&self) -> Option<&[u8]> {
        self.typed.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// The server DUID (option 2).
    pub(crate) fn server_id(&self) -> Option<&[u8]> {
        self.typed.iter().find_map(|o| match o {
            DhcpOption::ServerId(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// The vendor class (option 16).
    pub(crate) fn vendor_class(&self) -> Option<&VendorClass> {
        self.typed.iter().find_map(|o| match o {
            DhcpOption::VendorClass(v) => Some(v),
            _ => None,
        })
    }

    /// The identity associations, in order, with their addresses or prefixes.
    pub(crate) fn ias(&self) -> Vec<Ia> {
        self.typed
            .iter()
            .filter_map(|o| {
                let (kind, iaid, times, opts) = match o {
                    DhcpOption::IANA(ia) => ("IA_NA", ia.id, Some((ia.t1, ia.t2)), &ia.opts),
                    DhcpOption::IATA(ia) => ("IA_TA", ia.id, None, &ia.opts),
                    DhcpOption::IAPD(ia) => ("IA_PD", ia.id, Some((ia.t1, ia.t2)), &ia.opts),
                    _ => return None,
                };
                let leases = opts
                    .iter()
                    .filter_map(|sub| match (sub, kind) {
                        (DhcpOption::IAAddr(a), "IA_NA" | "IA_TA") => Some(IaLease {
                            addr: a.addr,
                            prefix_len: None,
                            preferred: a.preferred_life,
                            valid: a.valid_life,
                        }),
                        (DhcpOption::IAPrefix(p), "IA_PD") => Some(IaLease {
                            addr: p.prefix_ip,
                            prefix_len: Some(p.prefix_len),
                            preferred: p.preferred_lifetime,
                            valid: p.valid_lifetime,
                        }),
                        _ => None,
                    })
                    .collect();
                Some(Ia {
                    kind,
                    iaid,
                    t1: times.map(|t| t.0),
                    t2: times.map(|t| t.1),
                    leases,
                })
            })
            .collect()
    }
}

/// How dhcproto 0.15 decodes an option's value, where that matters for [`check`].
enum Shape {
    /// A fixed part of this many bytes, then options (decoded recursively). `outer`: the fixed
    /// part is read from the enclosing option list rather than from the option's own bytes
    /// (vendor options), and the rest's length is computed unchecked, so a shorter value would
    /// read its neighbours and underflow.
    Nested { fixed: usize, outer: bool },
    /// This many bytes are subtracted from the length unchecked.
    AtLeast(usize),
    /// Read as exactly this many bytes whatever the length says: any other length would make
    /// dhcproto read the following options out of step with their boundaries (a different
    /// walk from the one [`check`] looked at, and an unchecked subtraction further on).
    Exact(usize),
}

fn shape(code: u16) -> Option<Shape> {
    let nested = |fixed| Shape::Nested {
        fixed,
        outer: false,
    };
    Some(match code {
        // IA_NA, IA_PD; IA_TA; IAADDR; IAPREFIX; RELAY-MSG (a relay header); vendor options.
        3 | 25 => nested(12),
        4 => nested(4),
        5 => nested(24),
        26 => nested(25),
        9 => nested(34),
        17 => Shape::Nested {
            fixed: 4,
            outer: true,
        },
        // Authentication, status code, vendor class.
        11 => Shape::AtLeast(11),
        13 => Shape::AtLeast(2),
        16 => Shape::AtLeast(4),
        // Preference, elapsed time, server unicast, rapid commit, reconfigure message,
        // reconfigure accept.
        7 | 19 => Shape::Exact(1),
        8 => Shape::Exact(2),
        12 => Shape::Exact(16),
        14 | 20 => Shape::Exact(0),
        _ => return None,
    })
}

/// Where an option sits, for [`check`].
#[derive(Debug, Clone, Copy)]
struct At {
    depth: usize,
    /// Inside vendor options (17): sub-option codes are the vendor's, not DHCPv6 option codes,
    /// but dhcproto decodes them as DHCPv6 options all the same. What it would misread there is
    /// kept from it, but is no defect of the packet.
    vendor: bool,
}

impl At {
    fn note(self, defect: &mut Option<Defect>, d: Defect) {
        if !self.vendor {
            defect.get_or_insert(d);
        }
    }
}

/// Whether dhcproto may decode option `code` with `value`: no option in it, at any depth, has a
/// length dhcproto would misread (shorter than an [`Shape::AtLeast`] or outer-read fixed part,
/// other than an [`Shape::Exact`] size) or is nested deeper than [`MAX_DEPTH`]. With that,
/// dhcproto walks the same option boundaries as [`Tlvs`]. Records the first defect of the
/// message's own structure in `defect`.
fn check(code: u16, value: &[u8], at: At, defect: &mut Option<Defect>) -> bool {
    let too_short = |min| Defect::TooShort {
        code,
        len: value.len(),
        min,
    };
    match shape(code) {
        Some(Shape::AtLeast(min))
        | Some(Shape::Nested {
            fixed: min,
            outer: true,
        }) if value.len() < min => {
            at.note(defect, too_short(min));
            false
        }
        Some(Shape::Exact(size)) if value.len() != size => {
            at.note(
                defect,
                Defect::BadLength {
                    code,
                    len: value.len(),
                    size,
                },
            );
            false
        }
        // dhcproto fails cleanly on it (its fixed part is read from its own bytes); nothing
        // further down to look at.
        Some(Shape::Nested { fixed, .. }) if value.len() < fixed => {
            at.note(defect, too_short(fixed));
            true
        }
        Some(Shape::Nested { .. }) if at.depth >= MAX_DEPTH => {
            at.note(defect, Defect::TooDeep);
            false
        }
        Some(Shape::Nested { fixed, .. }) => {
            let inner = At {
                depth: at.depth + 1,
                vendor: at.vendor || code == 17,
            };
            let mut ok = true;
            for tlv in Tlvs(value.get(fixed..).unwrap_or_default()) {
                match tlv {
                    Ok(tlv) => ok &= check(tlv.code, tlv.value, inner, defect),
                    // Not necessarily where dhcproto stops: the fixed-size reads ignore the
                    // length, so it may read on, out of step, past what this walk checked.
                    Err(d) => {
                        inner.note(defect, d);
                        ok = false;
                    }
                }
            }
            ok
        }
        _ => true,
    }
}

/// The 48-bit link-layer address inside a DUID-LLT or DUID-LL with hardware type 1.
pub(crate) fn duid_mac(duid: &[u8]) -> Option<[u8; 6]> {
    let addr = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] => rest,
        [0, 3, 0, 1, rest @ ..] => rest,
        _ => return None,
    };
    addr.try_into().ok()
}

/// `LLT`, `EN`, `LL`, `UUID` or the number.
pub(crate) fn duid_type(duid: &[u8]) -> Option<String> {
    let t = u16::from_be_bytes(duid.get(..2)?.try_into().ok()?);
    Some(match t {
        1 => "LLT".into(),
        2 => "EN".into(),
        3 => "LL".into(),
        4 => "UUID".into(),
        n => n.to_string(),
    })
}

/// Names of DHCPv6 message types (RFC 8415, 5007, 5460, 6977, 7341).
pub(crate) fn type_name(t: u8) -> Option<&'static str> {
    use v6::MessageType as M;
    Some(match M::from(t) {
        M::Solicit => "SOLICIT",
        M::Advertise => "ADVERTISE",
        M::Request => "REQUEST",
        M::Confirm => "CONFIRM",
        M::Renew => "RENEW",
        M::Rebind => "REBIND",
        M::Reply => "REPLY",
        M::Release => "RELEASE",
        M::Decline => "DECLINE",
        M::Reconfigure => "RECONFIGURE",
        M::InformationRequest => "INFORMATION-REQUEST",
        M::RelayForw => "RELAY-FORW",
        M::RelayRepl => "RELAY-REPL",
        M::LeaseQuery => "LEASEQUERY",
        M::LeaseQueryReply => "LEASEQUERY-REPLY",
        M::LeaseQueryDone => "LEASEQUERY-DONE",
        M::LeaseQueryData => "LEASEQUERY-DATA",
        M::ReconfigureRequest => "RECONFIGURE-REQUEST",
        M::ReconfigureReply => "RECONFIGURE-REPLY",
        M::DHCPv4Query => "DHCPV4-QUERY",
        M::DHCPv4Response => "DHCPV4-RESPONSE",
        M::Unknown(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(code: u16, value: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&(value.len() as u16).to_be_bytes());
        o.extend_from_slice(value);
        o
    }

    #[test]
    fn solicit_with_ia_pd_inside_a_relay() {
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0, 9];
        let mut prefix = Vec::new();
        prefix.extend_from_slice(&4500u32.to_be_bytes());
        prefix.extend_from_slice(&7200u32.to_be_bytes());
        prefix.push(56);
        prefix.extend_from_slice(&"2001:db8:1:100::".parse::<Ipv6Addr>().unwrap().octets());
        let mut pd = 7u32.to_be_bytes().to_vec();
        pd.extend_from_slice(&[0; 8]);
        pd.extend(opt(26, &prefix));
        let mut solicit = vec![1, 0x12, 0x34, 0x56];
        solicit.extend(opt(1, &duid));
        solicit.extend(opt(25, &pd));
        let mut relay = vec![12, 0];
        relay.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        relay.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        relay.extend(opt(18, b"eth0"));
        relay.extend(opt(9, &solicit));
        let m = Dhcp6::parse(&relay).unwrap();
        assert_eq!(m.msg_type, 12);
        assert_eq!(m.client_type(), 1);
        assert_eq!(m.xid, Some(0x123456));
        assert_eq!(m.relay_link, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(m.client_id().and_then(duid_mac), Some([2, 0, 0, 0, 0, 9]));
        assert_eq!(m.option(1), Some(&duid[..]));
        let ias = m.ias();
        assert_eq!(ias[0].kind, "IA_PD");
        assert_eq!((ias[0].iaid, ias[0].t1), (7, Some(0)));
        assert_eq!(ias[0].leases[0].prefix_len, Some(56));
        assert_eq!(ias[0].leases[0].valid, 7200);
        assert_eq!(m.defect, None);
        for n in 0..relay.len() {
            let _ = Dhcp6::parse(&relay[..n]);
        }
    }

    #[test]
    fn deep_relays_are_refused_not_overflowed() {
        let mut msg = vec![1, 0, 0, 1];
        for _ in 0..20 {
            let mut relay = vec![12, 0];
            relay.extend_from_slice(&[0; 32]);
            relay.extend(opt(9, &msg));
            msg = relay;
        }
        assert_eq!(
            Dhcp6::parse(&msg),
            Err(PacketError::RelayTooDeep(MAX_DEPTH))
        );
    }

    #[test]
    fn options_dhcproto_would_misread_are_defects_not_panics() {
        // A status code of one byte inside an IA_NA: dhcproto would compute 1 - 2.
        let mut ia = 1u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]);
        ia.extend(opt(13, &[0]));
        let mut reply = vec![7, 0, 0, 1];
        reply.extend(opt(3, &ia));
        reply.extend(opt(16, &[0, 0]));
        reply.extend(opt(2, &[0, 2, 0, 0, 0, 9]));
        let m = Dhcp6::parse(&reply).unwrap();
        assert_eq!(
            m.defect,
            Some(Defect::TooShort {
                code: 13,
                len: 1,
                min: 2
            })
        );
        assert!(m.ias().is_empty() && m.vendor_class().is_none());
        assert_eq!(m.server_id(), Some(&[0, 2, 0, 0, 0, 9][..]));
        assert_eq!(m.options.len(), 3);
        // RELAY-MSG inside a client message, nested deeper than the limit.
        let mut nest = Vec::new();
        for _ in 0..12 {
            let mut relay = vec![12, 0];
            relay.extend_from_slice(&[0; 32]);
            relay.extend(opt(9, &nest));
            nest = relay;
        }
        let mut ia = 1u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]);
        ia.extend(opt(9, &nest));
        let mut solicit = vec![1, 0, 0, 1];
        solicit.extend(opt(3, &ia));
        let m = Dhcp6::parse(&solicit).unwrap();
        assert_eq!(m.defect, Some(Defect::TooDeep));
        // Vendor options of one byte inside an IA_NA: dhcproto would read their enterprise
        // number from the bytes after them, then compute 1 - 4.
        let mut ia = 1u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]);
        ia.extend(opt(17, &[0]));
        ia.extend_from_slice(&[0; 12]);
        let mut solicit = vec![1, 0, 0, 1];
        solicit.extend(opt(3, &ia));
        let m = Dhcp6::parse(&solicit).unwrap();
        assert_eq!(
            m.defect,
            Some(Defect::TooShort {
                code: 17,
                len: 1,
                min: 4
            })
        );
        assert!(m.ias().is_empty());
        // A preference of no bytes inside an IA_NA: dhcproto would take the next byte as the
        // preference and read the rest out of step, here as a status code of one byte.
        let mut ia = 1u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]);
        ia.extend(opt(7, &[]));
        ia.extend_from_slice(&[0xaa, 0, 13, 0, 1, 0, 0, 0]);
        let mut solicit = vec![1, 0, 0, 1];
        solicit.extend(opt(3, &ia));
        let m = Dhcp6::parse(&solicit).unwrap();
        assert_eq!(
            m.defect,
            Some(Defect::BadLength {
                code: 7,
                len: 0,
                size: 1
            })
        );
        assert!(m.ias().is_empty());
        // A well-formed preference and status code next to the address are fine.
        let mut addr = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        addr.extend_from_slice(&300u32.to_be_bytes());
        addr.extend_from_slice(&600u32.to_be_bytes());
        let mut ia = 1u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]);
        ia.extend(opt(13, &[0, 0, b'o', b'k']));
        ia.extend(opt(7, &[255]));
        ia.extend(opt(5, &addr));
        let mut reply = vec![7, 0, 0, 1];
        reply.extend(opt(3, &ia));
        let m = Dhcp6::parse(&reply).unwrap();
        assert_eq!(m.defect, None);
        assert_eq!(m.ias()[0].leases[0].valid, 600);
        // A reconfigure message cut short inside an IA_NA (found by cargo fuzz with debug
        // assertions): dhcproto reads its one byte whatever the length says and goes on out of
        // step, into a vendor class of two bytes (2 - 4).
        let reply = crate::hex::decode(
            "071459510003005e46859adf25003f0011005400001313131313130000000000000010000001000000\
             0000000000000000000000000000000600000000000000000000000000000000000000000000000000\
             00000000000000000000000000000000120000000000000000000000000000005f000086ff00050018\
             2a02810846859adf2541618c2a6161616161616161616161616161616161616161616161616161616161\
             616161e161616161616161612b0000000000be00000000086d",
        )
        .unwrap();
        let m = Dhcp6::parse(&reply).unwrap();
        assert_eq!(m.defect, Some(Defect::CutShort));
        assert!(m.ias().is_empty());
        assert_eq!(m.option(3).map(<[u8]>::len), Some(94));
        // Cut short: kept up to the cut.
        let mut cut = vec![1, 0, 0, 1];
        cut.extend(opt(1, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 9]));
        cut.extend_from_slice(&[0, 8, 0, 9, 1]);
        let m = Dhcp6::parse(&cut).unwrap();
        assert_eq!(m.defect, Some(Defect::CutShort));
        assert_eq!(m.options.len(), 1);
    }
}
