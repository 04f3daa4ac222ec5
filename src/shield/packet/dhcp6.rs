//! DHCPv6 (RFC 8415): client/server and relay messages (relays unwrapped down to the client's
//! message, at most 8 deep), options, DUIDs, IA_NA/IA_TA/IA_PD with their addresses, prefixes
//! and lifetimes. Pure, bounds-checked, never panics.

use std::net::Ipv6Addr;

/// One identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ia {
    /// `IA_NA`, `IA_TA` or `IA_PD`.
    pub kind: &'static str,
    pub iaid: u32,
    pub t1: Option<u32>,
    pub t2: Option<u32>,
    /// Addresses (IA_NA/IA_TA) or prefixes `addr/len` (IA_PD) with preferred and valid lifetimes.
    pub leases: Vec<IaLease>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaLease {
    pub addr: Ipv6Addr,
    /// Prefix length for IA_PD, `None` for addresses.
    pub prefix_len: Option<u8>,
    pub preferred: u32,
    pub valid: u32,
}

/// A parsed DHCPv6 message; for relayed messages, the outermost relay's fields plus the
/// innermost (client or server) message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dhcp6 {
    /// The outer message type (e.g. 12 RELAY-FORW).
    pub msg_type: u8,
    /// The innermost message type, when relayed.
    pub inner_type: Option<u8>,
    /// Transaction id of the innermost client/server message.
    pub xid: Option<u32>,
    /// Link address of the outermost relay (the relay's interface toward the client).
    pub relay_link: Option<Ipv6Addr>,
    pub relay_peer: Option<Ipv6Addr>,
    pub hop_count: Option<u8>,
    /// Options of the innermost message (code, value), in order.
    pub options: Vec<(u16, Vec<u8>)>,
    /// Options of the relay layers (interface-id, remote-id, …), outermost first.
    pub relay_options: Vec<(u16, Vec<u8>)>,
    pub ias: Vec<Ia>,
    /// Options were cut short (the parsed ones are kept).
    pub truncated: bool,
}

impl Dhcp6 {
    pub fn parse(b: &[u8]) -> Result<Dhcp6, String> {
        let mut msg = Dhcp6 {
            msg_type: *b.first().ok_or("empty DHCPv6 message")?,
            ..Dhcp6::default()
        };
        let mut current = b;
        for depth in 0..=8 {
            let t = *current.first().ok_or("empty relayed DHCPv6 message")?;
            if !matches!(t, 12 | 13) {
                let header = current
                    .get(..4)
                    .ok_or("DHCPv6 message shorter than 4 bytes")?;
                if depth > 0 {
                    msg.inner_type = Some(t);
                }
                msg.xid = Some(u32::from_be_bytes([0, header[1], header[2], header[3]]));
                msg.truncated |= read_options(&current[4..], &mut msg.options);
                msg.ias = ias(&msg.options);
                return Ok(msg);
            }
            let header = current
                .get(..34)
                .ok_or("DHCPv6 relay message shorter than 34 bytes")?;
            if depth == 0 {
                msg.hop_count = Some(header[1]);
                msg.relay_link = ip6(&header[2..18]);
                msg.relay_peer = ip6(&header[18..34]);
            }
            let mut inner = None;
            let mut rest = &current[34..];
            while !rest.is_empty() {
                let Some((code, value, tail)) = split_option(rest) else {
                    msg.truncated = true;
                    break;
                };
                if code == 9 && inner.is_none() {
                    inner = Some(value);
                } else {
                    msg.relay_options.push((code, value.to_vec()));
                }
                rest = tail;
            }
            match inner {
                Some(inner) => {
                    msg.inner_type = inner.first().copied();
                    current = inner;
                }
                None => return Ok(msg),
            }
        }
        Err("DHCPv6 relay messages nested more than 8 deep".into())
    }

    /// The client's (or, relayed, the innermost) message type.
    pub fn client_type(&self) -> u8 {
        self.inner_type.unwrap_or(self.msg_type)
    }

    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// The 48-bit link-layer address inside a DUID-LLT or DUID-LL with hardware type 1.
    pub fn duid_mac(duid: &[u8]) -> Option<[u8; 6]> {
        let addr = match duid {
            [0, 1, 0, 1, _, _, _, _, rest @ ..] => rest,
            [0, 3, 0, 1, rest @ ..] => rest,
            _ => return None,
        };
        addr.try_into().ok()
    }

    /// `LLT`, `EN`, `LL`, `UUID` or the number.
    pub fn duid_type(duid: &[u8]) -> Option<String> {
        let t = u16::from_be_bytes(duid.get(..2)?.try_into().ok()?);
        Some(match t {
            1 => "LLT".into(),
            2 => "EN".into(),
            3 => "LL".into(),
            4 => "UUID".into(),
            n => n.to_string(),
        })
    }
}

/// Names of DHCPv6 message types (RFC 8415, 5007, 5460, 7341).
pub fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        13 => "RELAY-REPL",
        14 => "LEASEQUERY",
        15 => "LEASEQUERY-REPLY",
        16 => "LEASEQUERY-DONE",
        17 => "LEASEQUERY-DATA",
        20 => "DHCPV4-QUERY",
        21 => "DHCPV4-RESPONSE",
        _ => return None,
    })
}

fn ip6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The first option of `b` as (code, value, rest), or `None` if it is cut short.
fn split_option(b: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let code = u16::from_be_bytes(b.get(..2)?.try_into().ok()?);
    let len = usize::from(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?));
    let value = b.get(4..4 + len)?;
    Some((code, value, &b[4 + len..]))
}

/// Reads (code, len, value) options into `out`; true if cut short.
fn read_options(mut b: &[u8], out: &mut Vec<(u16, Vec<u8>)>) -> bool {
    while !b.is_empty() {
        let Some((code, value, rest)) = split_option(b) else {
            return true;
        };
        out.push((code, value.to_vec()));
        b = rest;
    }
    false
}

fn ias(options: &[(u16, Vec<u8>)]) -> Vec<Ia> {
    options
        .iter()
        .filter_map(|(code, v)| {
            let (kind, header) = match code {
                3 => ("IA_NA", 12),
                4 => ("IA_TA", 4),
                25 => ("IA_PD", 12),
                _ => return None,
            };
            let iaid = be32(v, 0)?;
            let (t1, t2) = if header == 12 {
                (be32(v, 4), be32(v, 8))
            } else {
                (None, None)
            };
            let mut sub = Vec::new();
            read_options(v.get(header..).unwrap_or_default(), &mut sub);
            let leases = sub
                .iter()
                .filter_map(|(c, s)| match (c, kind) {
                    (5, "IA_NA" | "IA_TA") => Some(IaLease {
                        addr: ip6(s.get(..16)?)?,
                        prefix_len: None,
                        preferred: be32(s, 16)?,
                        valid: be32(s, 20)?,
                    }),
                    (26, "IA_PD") => Some(IaLease {
                        preferred: be32(s, 0)?,
                        valid: be32(s, 4)?,
                        prefix_len: Some(*s.get(8)?),
                        addr: ip6(s.get(9..25)?)?,
                    }),
                    _ => None,
                })
                .collect();
            Some(Ia {
                kind,
                iaid,
                t1,
                t2,
                leases,
            })
        })
        .collect()
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
        assert_eq!(m.relay_options, vec![(18, b"eth0".to_vec())]);
        assert_eq!(
            Dhcp6::duid_mac(m.option(1).unwrap()),
            Some([2, 0, 0, 0, 0, 9])
        );
        assert_eq!(m.ias[0].kind, "IA_PD");
        assert_eq!(m.ias[0].leases[0].prefix_len, Some(56));
        assert_eq!(m.ias[0].leases[0].valid, 7200);
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
        assert!(Dhcp6::parse(&msg).is_err());
    }
}
