//! DHCPv4 (RFC 2131/2132): the BOOTP header, the magic cookie, options (with RFC 3396 long
//! options concatenated and option 52 overload into `file`/`sname`), and the relay agent
//! information sub-options of option 82. Pure, bounds-checked, never panics.

use std::net::Ipv4Addr;

/// The fixed BOOTP header is 236 bytes; options follow the 4-byte magic cookie.
const HEADER: usize = 236;
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// A parsed DHCPv4 (or plain BOOTP) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp4 {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub hops: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// `hlen` bytes of `chaddr` (at most 16).
    pub chaddr: Vec<u8>,
    /// Whether the magic cookie was there (without it: BOOTP, no options).
    pub magic: bool,
    /// Options in order of first appearance; repeated codes concatenated (RFC 3396).
    pub options: Vec<(u8, Vec<u8>)>,
    /// Options were cut short (the parsed ones are kept).
    pub truncated_options: bool,
}

impl Dhcp4 {
    /// Parses a DHCPv4 payload; `Err` only when even the fixed header is missing.
    pub fn parse(b: &[u8]) -> Result<Dhcp4, String> {
        if b.len() < HEADER {
            return Err(format!(
                "DHCPv4 message of {} bytes is shorter than the {HEADER}-byte BOOTP header",
                b.len()
            ));
        }
        let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        let hlen = b[2];
        let chaddr = b[28..28 + usize::from(hlen.min(16))].to_vec();
        let mut msg = Dhcp4 {
            op: b[0],
            htype: b[1],
            hlen,
            hops: b[3],
            xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            secs: u16::from_be_bytes([b[8], b[9]]),
            flags: u16::from_be_bytes([b[10], b[11]]),
            ciaddr: ip(12),
            yiaddr: ip(16),
            siaddr: ip(20),
            giaddr: ip(24),
            chaddr,
            magic: b.get(HEADER..HEADER + 4) == Some(&MAGIC[..]),
            options: Vec::new(),
            truncated_options: false,
        };
        if !msg.magic {
            return Ok(msg);
        }
        let mut truncated = read_options(&b[HEADER + 4..], &mut msg.options);
        // Option 52: more options in `file` (1), `sname` (2) or both (3), in that order.
        let overload = msg.option(52).and_then(|v| v.first().copied()).unwrap_or(0);
        if overload & 1 != 0 {
            truncated |= read_options(&b[108..236], &mut msg.options);
        }
        if overload & 2 != 0 {
            truncated |= read_options(&b[44..108], &mut msg.options);
        }
        msg.truncated_options = truncated;
        Ok(msg)
    }

    /// The value of option `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// Option 53, if present and one byte long.
    pub fn message_type(&self) -> Option<u8> {
        match self.option(53) {
            Some([t]) => Some(*t),
            _ => None,
        }
    }

    /// The message type's name: `DISCOVER`, `ACK`, …; `BOOTREQUEST`/`BOOTREPLY` without option
    /// 53; `TYPE<n>` for codes without a name.
    pub fn message_type_name(&self) -> String {
        match self.message_type() {
            Some(t) => type_name(t)
                .map(str::to_string)
                .unwrap_or_else(|| format!("TYPE{t}")),
            None if self.op == 2 => "BOOTREPLY".into(),
            None => "BOOTREQUEST".into(),
        }
    }

    /// A 4-byte option as an address.
    pub fn option_ip(&self, code: u8) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.option(code)?.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// A 4-byte option as a number.
    pub fn option_u32(&self, code: u8) -> Option<u32> {
        let v: [u8; 4] = self.option(code)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// Sub-options of option 82 (relay agent information), if present.
    pub fn relay_agent_info(&self) -> Vec<(u8, &[u8])> {
        let mut out = Vec::new();
        let Some(mut rest) = self.option(82) else {
            return out;
        };
        while let [code, len, tail @ ..] = rest {
            let Some(value) = tail.get(..usize::from(*len)) else {
                break;
            };
            out.push((*code, value));
            rest = &tail[usize::from(*len)..];
        }
        out
    }
}

/// Names of DHCPv4 message types (RFC 2132, 3203, 4388, 6926, 7724).
pub fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        14 => "BULKLEASEQUERY",
        15 => "LEASEQUERYDONE",
        16 => "ACTIVELEASEQUERY",
        17 => "LEASEQUERYSTATUS",
        18 => "TLS",
        _ => return None,
    })
}

/// Reads options up to END into `out`, concatenating repeated codes; true if cut short.
fn read_options(mut b: &[u8], out: &mut Vec<(u8, Vec<u8>)>) -> bool {
    loop {
        match b {
            [] | [255, ..] => return false,
            [0, rest @ ..] => b = rest,
            [code, len, rest @ ..] => {
                let len = usize::from(*len);
                let Some(value) = rest.get(..len) else {
                    return true;
                };
                match out.iter_mut().find(|(c, _)| c == code) {
                    Some((_, existing)) => existing.extend_from_slice(value),
                    None => out.push((*code, value.to_vec())),
                }
                b = &rest[len..];
            }
            [_] => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn message(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(options);
        b
    }

    #[test]
    fn discover_with_options() {
        let m = Dhcp4::parse(&message(&[
            53, 1, 1, 12, 3, b'p', b'c', b'1', 0, 61, 2, 1, 2, 255,
        ]))
        .unwrap();
        assert_eq!(m.message_type_name(), "DISCOVER");
        assert_eq!(m.xid, 0xdeadbeef);
        assert_eq!(m.chaddr, vec![2, 0, 0, 0, 0, 1]);
        assert_eq!(m.option(12), Some(&b"pc1"[..]));
        assert_eq!(m.options.len(), 3);
        assert!(!m.truncated_options);
    }

    #[test]
    fn long_options_concatenate_and_truncation_is_flagged() {
        let m = Dhcp4::parse(&message(&[
            12, 2, b'a', b'b', 12, 1, b'c', 53, 1, 3, 60, 9, 1,
        ]))
        .unwrap();
        assert_eq!(m.option(12), Some(&b"abc"[..]));
        assert_eq!(m.message_type_name(), "REQUEST");
        assert!(m.truncated_options);
        assert!(Dhcp4::parse(&[0; 100]).is_err());
    }

    #[test]
    fn overload_reads_file_and_sname() {
        let mut b = message(&[53, 1, 1, 52, 1, 3, 255]);
        b[108..113].copy_from_slice(&[12, 3, b'f', b'i', b'l']);
        b[113] = 255;
        b[44..50].copy_from_slice(&[15, 3, b'l', b'a', b'n', 255]);
        let m = Dhcp4::parse(&b).unwrap();
        assert_eq!(m.option(12), Some(&b"fil"[..]));
        assert_eq!(m.option(15), Some(&b"lan"[..]));
    }

    #[test]
    fn relay_agent_sub_options() {
        let m = Dhcp4::parse(&message(&[82, 7, 1, 2, 0xab, 0xcd, 2, 1, 9, 255])).unwrap();
        assert_eq!(
            m.relay_agent_info(),
            vec![(1, &[0xab, 0xcd][..]), (2, &[9][..])]
        );
    }
}
