//! Packet headers below DHCP: Ethernet (pcap captures; NFQUEUE hands us the IP packet and the
//! source MAC separately), IPv4/IPv6 with extension headers, and UDP. Pure and panic-free: every
//! read is bounds-checked and a short or odd packet is a [`PacketError`].
//! The DHCP payloads are decoded by dhcproto, in [`dhcp4`] and [`dhcp6`].

pub(crate) mod dhcp4;
pub(crate) mod dhcp6;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[cfg(any(test, feature = "fuzzing"))]
use crate::action::Mac;

/// Why a packet could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PacketError {
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("not IPv4 or IPv6 (version {0})")]
    NotIp(u8),
    #[cfg(any(test, feature = "fuzzing"))]
    #[error("ethertype {0:#06x} is not IP")]
    NotIpEthertype(u16),
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
    #[error("non-first IP fragment")]
    Fragment,
    #[error("bad IPv4 header length {0}")]
    BadIhl(u8),
    #[error("UDP length {0} does not fit the packet")]
    BadUdpLength(u16),
    #[error("UDP ports {0}->{1} are not DHCP")]
    NotDhcpPorts(u16, u16),
    #[error("DHCPv4 message of {0} bytes is shorter than the 240-byte BOOTP header and cookie")]
    ShortDhcp4(usize),
    #[error("DHCPv6 {what} of {len} bytes is shorter than its {need}-byte header")]
    ShortDhcp6 {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("DHCPv6 relay messages nested more than {0} deep")]
    RelayTooDeep(usize),
}

/// One UDP datagram with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Datagram<'a> {
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// An Ethernet frame's addresses and its IP payload (802.1Q/802.1ad tags skipped).
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub ip: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Splits an Ethernet II frame (captures and fuzz input: the kernel hands the shield IP
/// packets).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn parse_ethernet(frame: &[u8]) -> Result<Frame<'_>, PacketError> {
    let t = PacketError::Truncated("Ethernet header");
    let dst_mac = Mac::from_slice(frame).ok_or(t.clone())?;
    let src_mac = Mac::from_slice(frame.get(6..).ok_or(t.clone())?).ok_or(t.clone())?;
    let mut at = 12;
    let mut ethertype = be16(frame, at).ok_or(t.clone())?;
    while matches!(ethertype, 0x8100 | 0x88a8) {
        at += 4;
        ethertype = be16(frame, at).ok_or(t.clone())?;
    }
    if ethertype != 0x0800 && ethertype != 0x86dd {
        return Err(PacketError::NotIpEthertype(ethertype));
    }
    Ok(Frame {
        src_mac,
        dst_mac,
        ip: frame.get(at + 2..).ok_or(t)?,
    })
}

/// Parses an IPv4 or IPv6 packet carrying UDP.
pub(crate) fn parse_ip(packet: &[u8]) -> Result<Datagram<'_>, PacketError> {
    let first = *packet.first().ok_or(PacketError::Truncated("IP header"))?;
    match first >> 4 {
        4 => parse_ipv4(packet),
        6 => parse_ipv6(packet),
        v => Err(PacketError::NotIp(v)),
    }
}

fn parse_ipv4(p: &[u8]) -> Result<Datagram<'_>, PacketError> {
    let t = PacketError::Truncated("IPv4 header");
    let ihl = p[0] & 0x0f;
    if ihl < 5 {
        return Err(PacketError::BadIhl(ihl));
    }
    let header_len = usize::from(ihl) * 4;
    if p.len() < header_len {
        return Err(t);
    }
    let total = usize::from(be16(p, 2).ok_or(t.clone())?);
    // Trust the total length when it fits (pcaps may carry Ethernet padding after it).
    let end = if total >= header_len && total <= p.len() {
        total
    } else {
        p.len()
    };
    let frag = be16(p, 6).ok_or(t.clone())?;
    if frag & 0x1fff != 0 {
        return Err(PacketError::Fragment);
    }
    let protocol = p[9];
    if protocol != 17 {
        return Err(PacketError::NotUdp(protocol));
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let udp = p.get(header_len..end).ok_or(t)?;
    parse_udp(IpAddr::V4(src), IpAddr::V4(dst), udp)
}

fn parse_ipv6(p: &[u8]) -> Result<Datagram<'_>, PacketError> {
    let t = PacketError::Truncated("IPv6 header");
    if p.len() < 40 {
        return Err(t);
    }
    let payload_len = usize::from(be16(p, 4).ok_or(t.clone())?);
    let end = (40 + payload_len).min(p.len());
    let src: [u8; 16] = p[8..24].try_into().map_err(|_| t.clone())?;
    let dst: [u8; 16] = p[24..40].try_into().map_err(|_| t.clone())?;
    let mut next = p[6];
    let mut at = 40;
    // Hop-by-hop, routing, fragment and destination options, at most 8 of them.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let h = p
                    .get(at..at + 2)
                    .ok_or(PacketError::Truncated("IPv6 extension header"))?;
                next = h[0];
                at += (usize::from(h[1]) + 1) * 8;
            }
            44 => {
                let h = p
                    .get(at..at + 8)
                    .ok_or(PacketError::Truncated("IPv6 fragment header"))?;
                if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 != 0 {
                    return Err(PacketError::Fragment);
                }
                next = h[0];
                at += 8;
            }
            _ => break,
        }
    }
    if next != 17 {
        return Err(PacketError::NotUdp(next));
    }
    let udp = p.get(at..end).ok_or(t)?;
    parse_udp(
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        udp,
    )
}

fn parse_udp(src_ip: IpAddr, dst_ip: IpAddr, udp: &[u8]) -> Result<Datagram<'_>, PacketError> {
    let t = PacketError::Truncated("UDP header");
    let src_port = be16(udp, 0).ok_or(t.clone())?;
    let dst_port = be16(udp, 2).ok_or(t.clone())?;
    let len = be16(udp, 4).ok_or(t)?;
    let end = usize::from(len);
    if end < 8 || end > udp.len() {
        return Err(PacketError::BadUdpLength(len));
    }
    Ok(Datagram {
        src_ip,
        dst_ip,
        src_port,
        dst_port,
        payload: &udp[8..end],
    })
}

/// Which DHCP a datagram carries, by its ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DhcpKind {
    V4,
    V6,
}

impl Datagram<'_> {
    /// DHCPv4 when either port is 67 or 68 over IPv4, DHCPv6 when either is 546 or 547 over IPv6.
    pub(crate) fn dhcp_kind(&self) -> Result<DhcpKind, PacketError> {
        let ports = [self.src_port, self.dst_port];
        match self.src_ip {
            IpAddr::V4(_) if ports.iter().any(|p| matches!(p, 67 | 68)) => Ok(DhcpKind::V4),
            IpAddr::V6(_) if ports.iter().any(|p| matches!(p, 546 | 547)) => Ok(DhcpKind::V6),
            _ => Err(PacketError::NotDhcpPorts(self.src_port, self.dst_port)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp4(payload: &[u8], sport: u16, dport: u16) -> Vec<u8> {
        let udp_len = 8 + payload.len();
        let total = 20 + udp_len;
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ];
        p.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 255]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&(udp_len as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ipv4_udp() {
        let p = udp4(b"hello", 68, 67);
        let d = parse_ip(&p).unwrap();
        assert_eq!(d.src_port, 68);
        assert_eq!(d.dst_ip, IpAddr::V4(Ipv4Addr::BROADCAST));
        assert_eq!(d.payload, b"hello");
        assert_eq!(d.dhcp_kind(), Ok(DhcpKind::V4));
    }

    #[test]
    fn every_prefix_of_a_packet_is_handled() {
        let p = udp4(b"hello", 68, 67);
        for n in 0..p.len() {
            let _ = parse_ip(&p[..n]);
            let _ = parse_ethernet(&p[..n]);
        }
        let mut bad = p.clone();
        bad[0] = 0x41;
        assert_eq!(parse_ip(&bad), Err(PacketError::BadIhl(1)));
        bad[0] = 0x75;
        assert_eq!(parse_ip(&bad), Err(PacketError::NotIp(7)));
        let mut frag = p.clone();
        frag[7] = 1;
        assert_eq!(parse_ip(&frag), Err(PacketError::Fragment));
        let mut tcp = p;
        tcp[9] = 6;
        assert_eq!(parse_ip(&tcp), Err(PacketError::NotUdp(6)));
    }
}
