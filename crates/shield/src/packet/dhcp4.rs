//! DHCPv4 (RFC 2131/2132) decoded by dhcproto: its zero-copy [`borrowed::Message`] gives the
//! BOOTP header and the raw options (long options split over consecutive pieces concatenated,
//! RFC 3396), option 52 overload is followed into `file`/`sname`, and the values the event record
//! interprets (message type, addresses, times, overload) are typed by dhcproto. Never panics.
//!
//! The few in-tree pieces are there because dhcproto 0.15 cannot do them:
//! - [`cut_short`]: dhcproto's option iterator ends silently at an option that does not fit,
//!   so it cannot tell a cut-short option list from a finished one; the record flags it.
//! - `chaddr`: `borrowed::Message::chaddr` slices `hlen` bytes unchecked (a client's `hlen` over
//!   16 reads into `sname`, or past a 240-byte message: a panic), so `hlen` is clamped here.
//! - the overload areas: `borrowed::Message` shows `sname`/`file` only up to their first NUL,
//!   so dhcproto's option iterator is given them at their fixed BOOTP offsets.
//! - only [`TYPED`] options go through dhcproto's typed decoders: the record needs no others,
//!   and some (81 client FQDN, 94, 151) assert on or underflow with lengths a client chooses.

use std::net::Ipv4Addr;

use dhcproto::v4::borrowed::{self, DhcpOptionIterator};
use dhcproto::v4::{DhcpOption, DhcpOptions, MessageType, OptionCode};

use super::PacketError;

/// The fixed BOOTP header plus the magic cookie; dhcproto needs at least this much.
const MIN_LEN: usize = 240;
/// `sname` and `file` in the BOOTP header (option overload areas).
const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// The options the record reads as typed values (message type, requested IP, lease time,
/// overload, server identifier, router, T1, T2).
const TYPED: [u8; 8] = [53, 50, 51, 52, 54, 3, 58, 59];

/// A DHCPv4 (or plain BOOTP) message.
#[derive(Debug)]
pub(crate) struct Dhcp4<'a> {
    msg: borrowed::Message<'a>,
    /// `hlen` bytes of `chaddr` (at most 16).
    pub chaddr: &'a [u8],
    /// Options (raw values) in order of first appearance; a code seen again later, also in the
    /// overload areas, is concatenated to the first (RFC 3396).
    pub options: Vec<(u8, Vec<u8>)>,
    /// dhcproto's typed values of the [`TYPED`] options (first appearance).
    typed: DhcpOptions,
    /// Options were cut short (the parsed ones are kept).
    pub truncated_options: bool,
}

impl<'a> Dhcp4<'a> {
    /// Decodes a DHCPv4 payload; `Err` only when even the header and cookie are missing.
    pub(crate) fn parse(b: &'a [u8]) -> Result<Dhcp4<'a>, PacketError> {
        let msg = borrowed::Message::new(b).map_err(|_| PacketError::ShortDhcp4(b.len()))?;
        let hlen = usize::from(msg.hlen()).min(16);
        let mut m = Dhcp4 {
            chaddr: b.get(28..28 + hlen).unwrap_or_default(),
            options: Vec::new(),
            typed: DhcpOptions::default(),
            truncated_options: false,
            msg,
        };
        if b.get(236..MIN_LEN) != Some(&dhcproto::v4::MAGIC[..]) {
            return Ok(m);
        }
        let main = b.get(MIN_LEN..).unwrap_or_default();
        m.read(m.msg.opts(), main);
        // Option 52: more options in `file` (1), `sname` (2) or both (3), in that order.
        let overload = match m.typed.get(OptionCode::OptionOverload) {
            Some(DhcpOption::OptionOverload(o)) => *o,
            _ => 0,
        };
        for (bit, area) in [(1, FILE), (2, SNAME)] {
            if overload & bit != 0 {
                let area = b.get(area).unwrap_or_default();
                m.read(DhcpOptionIterator::new(area), area);
            }
        }
        Ok(m)
    }

    /// Collects the options of one area (`bytes`, iterated by dhcproto as `iter`).
    fn read(&mut self, iter: DhcpOptionIterator<'_>, bytes: &[u8]) {
        for opt in iter {
            let code = u8::from(opt.code());
            match self.options.iter_mut().find(|(c, _)| *c == code) {
                Some((_, value)) => value.extend_from_slice(opt.data()),
                None => {
                    self.options.push((code, opt.data().to_vec()));
                    if TYPED.contains(&code) {
                        if let Ok(typed) = opt.into_option() {
                            self.typed.insert(typed);
                        }
                    }
                }
            }
        }
        self.truncated_options |= cut_short(bytes);
    }

    pub(crate) fn op(&self) -> u8 {
        self.msg.opcode().into()
    }

    pub(crate) fn htype(&self) -> u8 {
        self.msg.htype().into()
    }

    pub(crate) fn hlen(&self) -> u8 {
        self.msg.hlen()
    }

    pub(crate) fn hops(&self) -> u8 {
        self.msg.hops()
    }

    pub(crate) fn xid(&self) -> u32 {
        self.msg.xid()
    }

    pub(crate) fn ciaddr(&self) -> Ipv4Addr {
        self.msg.ciaddr()
    }

    pub(crate) fn yiaddr(&self) -> Ipv4Addr {
        self.msg.yiaddr()
    }

    pub(crate) fn siaddr(&self) -> Ipv4Addr {
        self.msg.siaddr()
    }

    pub(crate) fn giaddr(&self) -> Ipv4Addr {
        self.msg.giaddr()
    }

    /// The raw value of option `code`.
    pub(crate) fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    fn typed(&self, code: OptionCode) -> Option<&DhcpOption> {
        self.typed.get(code)
    }

    /// Option 53.
    pub(crate) fn message_type(&self) -> Option<MessageType> {
        match self.typed(OptionCode::MessageType)? {
            DhcpOption::MessageType(t) => Some(*t),
            _ => None,
        }
    }

    /// The message type's name: `DISCOVER`, `ACK`, …; `BOOTREQUEST`/`BOOTREPLY` without option
    /// 53; `TYPE<n>` for codes without a name.
    pub(crate) fn message_type_name(&self) -> String {
        match self.message_type() {
            Some(t) => type_name(t).map_or_else(|| format!("TYPE{}", u8::from(t)), str::to_string),
            None if self.op() == 2 => "BOOTREPLY".into(),
            None => "BOOTREQUEST".into(),
        }
    }

    /// Option 50.
    pub(crate) fn requested_ip(&self) -> Option<Ipv4Addr> {
        match self.typed(OptionCode::RequestedIpAddress)? {
            DhcpOption::RequestedIpAddress(a) => Some(*a),
            _ => None,
        }
    }

    /// Option 54.
    pub(crate) fn server_identifier(&self) -> Option<Ipv4Addr> {
        match self.typed(OptionCode::ServerIdentifier)? {
            DhcpOption::ServerIdentifier(a) => Some(*a),
            _ => None,
        }
    }

    /// The first router of option 3.
    pub(crate) fn router(&self) -> Option<Ipv4Addr> {
        match self.typed(OptionCode::Router)? {
            DhcpOption::Router(a) => a.first().copied(),
            _ => None,
        }
    }

    /// Options 51, 58 and 59: lease time, T1 and T2.
    pub(crate) fn times(&self) -> [Option<u32>; 3] {
        let lease = match self.typed(OptionCode::AddressLeaseTime) {
            Some(DhcpOption::AddressLeaseTime(t)) => Some(*t),
            _ => None,
        };
        let t1 = match self.typed(OptionCode::Renewal) {
            Some(DhcpOption::Renewal(t)) => Some(*t),
            _ => None,
        };
        let t2 = match self.typed(OptionCode::Rebinding) {
            Some(DhcpOption::Rebinding(t)) => Some(*t),
            _ => None,
        };
        [lease, t1, t2]
    }
}

/// Names of DHCPv4 message types (RFC 2132, 3203, 4388, 6926, 7724).
pub(crate) fn type_name(t: MessageType) -> Option<&'static str> {
    Some(match t {
        MessageType::Discover => "DISCOVER",
        MessageType::Offer => "OFFER",
        MessageType::Request => "REQUEST",
        MessageType::Decline => "DECLINE",
        MessageType::Ack => "ACK",
        MessageType::Nak => "NAK",
        MessageType::Release => "RELEASE",
        MessageType::Inform => "INFORM",
        MessageType::ForceRenew => "FORCERENEW",
        MessageType::LeaseQuery => "LEASEQUERY",
        MessageType::LeaseUnassigned => "LEASEUNASSIGNED",
        MessageType::LeaseUnknown => "LEASEUNKNOWN",
        MessageType::LeaseActive => "LEASEACTIVE",
        MessageType::BulkLeaseQuery => "BULKLEASEQUERY",
        MessageType::LeaseQueryDone => "LEASEQUERYDONE",
        MessageType::ActiveLeaseQuery => "ACTIVELEASEQUERY",
        MessageType::LeaseQueryStatus => "LEASEQUERYSTATUS",
        MessageType::Tls => "TLS",
        MessageType::Unknown(_) => return None,
    })
}

/// Whether an option area stops inside an option instead of at END or its last byte (the
/// same walk as dhcproto's iterator: PAD skipped, END stops).
fn cut_short(mut b: &[u8]) -> bool {
    loop {
        match b {
            [] | [255, ..] => return false,
            [0, rest @ ..] => b = rest,
            [_, len, rest @ ..] => match rest.get(usize::from(*len)..) {
                Some(tail) => b = tail,
                None => return true,
            },
            [_] => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: usize = 236;

    fn message(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&dhcproto::v4::MAGIC);
        b.extend_from_slice(options);
        b
    }

    #[test]
    fn discover_with_options() {
        let b = message(&[53, 1, 1, 12, 3, b'p', b'c', b'1', 0, 61, 2, 1, 2, 255]);
        let m = Dhcp4::parse(&b).unwrap();
        assert_eq!(m.message_type_name(), "DISCOVER");
        assert_eq!(m.xid(), 0xdeadbeef);
        assert_eq!(m.chaddr, &[2, 0, 0, 0, 0, 1]);
        assert_eq!(m.option(12), Some(&b"pc1"[..]));
        assert_eq!(m.options.len(), 3);
        assert!(!m.truncated_options);
    }

    #[test]
    fn long_options_concatenate_and_truncation_is_flagged() {
        let b = message(&[
            12, 2, b'a', b'b', 12, 1, b'c', 53, 1, 3, 12, 1, b'd', 60, 9, 1,
        ]);
        let m = Dhcp4::parse(&b).unwrap();
        assert_eq!(m.option(12), Some(&b"abcd"[..]));
        assert_eq!(m.message_type_name(), "REQUEST");
        assert!(m.truncated_options);
        assert!(Dhcp4::parse(&[0; 239]).is_err());
    }

    #[test]
    fn typed_values_and_odd_lengths() {
        let b = message(&[
            51, 4, 0, 0, 14, 16, 58, 2, 0, 1, 50, 4, 10, 0, 0, 9, 3, 8, 10, 0, 0, 1, 10, 0, 0, 2,
            53, 1, 99, 255,
        ]);
        let m = Dhcp4::parse(&b).unwrap();
        assert_eq!(m.times(), [Some(3600), None, None]);
        assert_eq!(m.requested_ip(), Some(Ipv4Addr::new(10, 0, 0, 9)));
        assert_eq!(m.router(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(m.message_type_name(), "TYPE99");
        assert_eq!(m.option(58), Some(&[0, 1][..]));
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
    fn oversized_hlen_and_missing_cookie() {
        let mut b = message(&[53, 1, 1]);
        b[2] = 255;
        let m = Dhcp4::parse(&b[..240]).unwrap();
        assert_eq!(m.chaddr.len(), 16);
        b[236] = 0;
        let m = Dhcp4::parse(&b).unwrap();
        assert!(m.options.is_empty() && m.message_type().is_none());
        assert_eq!(m.message_type_name(), "BOOTREQUEST");
    }
}
