//! Inspection: an IP packet (plus the link-layer addresses the kernel or a capture gives) turned
//! into one [`Event`] and the few [`Facts`] the decision needs. Pure; a packet that does not
//! parse becomes an event with `malformed` set, never a panic.

use crate::action::{ClientKey, Mac};
use crate::event::{option_text, Event};
use crate::hex;
use crate::packet::dhcp4::Dhcp4;
use crate::packet::dhcp6::{self, Dhcp6};
use crate::packet::{parse_ip, DhcpKind};

/// What came with the packet besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct PacketMeta {
    /// The frame's source MAC (NFQUEUE/NFLOG hardware address).
    pub source_mac: Option<Mac>,
    /// The frame's destination MAC, when the kernel gives it.
    pub dest_mac: Option<Mac>,
    /// The interface the packet came in on.
    pub interface: Option<String>,
}

/// What the decision needs to know, beyond the event's text fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Who the packet is about: chaddr (v4) or the client DUID (v6).
    pub client: Option<ClientKey>,
    /// The MAC of the client (chaddr, or the MAC inside a v6 DUID-LL/LLT).
    pub client_mac: Option<Mac>,
    /// The frame's source MAC.
    pub source_mac: Option<Mac>,
    /// The packet's source address.
    pub source_ip: Option<std::net::IpAddr>,
    /// A server message from the gateway's own server or a configured one (set by the caller,
    /// who knows the gateway's addresses).
    pub own_server: bool,
    /// A server-to-client message (OFFER/ACK/NAK, ADVERTISE/REPLY/RECONFIGURE, BOOTREPLY).
    pub from_server: bool,
    /// Relayed: giaddr set or hops > 0 (v4), or a RELAY-FORW (v6).
    pub relayed: bool,
    /// Option 82 (v4) present.
    pub has_option82: bool,
    /// Message type code (v4 option 53 or the innermost v6 type).
    pub message_type: Option<u8>,
    /// A DHCPv6 message.
    pub v6: bool,
}

/// Inspects one IP packet. `event.seq`, `time`, verdict fields and timings are left for the
/// caller.
pub fn inspect(meta: &PacketMeta, ip_packet: &[u8]) -> (Event, Facts) {
    let mut event = Event {
        proto: "unknown",
        interface: meta.interface.clone(),
        source_mac: meta.source_mac.map(|m| m.to_string()),
        dest_mac: meta.dest_mac.map(|m| m.to_string()),
        matched_rule: "unknown".into(),
        verdict: "accept",
        ..Event::default()
    };
    let mut facts = Facts {
        source_mac: meta.source_mac,
        ..Facts::default()
    };
    let datagram = match parse_ip(ip_packet) {
        Ok(d) => d,
        Err(e) => {
            event.malformed = Some(e.to_string());
            return (event, facts);
        }
    };
    event.source_ip = Some(datagram.src_ip.to_string());
    facts.source_ip = Some(datagram.src_ip);
    event.dest_ip = Some(datagram.dst_ip.to_string());
    event.source_port = Some(datagram.src_port);
    event.dest_port = Some(datagram.dst_port);
    match datagram.dhcp_kind() {
        Ok(DhcpKind::V4) => {
            event.proto = "v4";
            match Dhcp4::parse(datagram.payload) {
                Ok(m) => fill_v4(&mut event, &mut facts, &m),
                Err(e) => event.malformed = Some(e.to_string()),
            }
        }
        Ok(DhcpKind::V6) => {
            event.proto = "v6";
            facts.v6 = true;
            match Dhcp6::parse(datagram.payload) {
                Ok(m) => fill_v6(&mut event, &mut facts, &m),
                Err(e) => event.malformed = Some(e.to_string()),
            }
        }
        Err(e) => event.malformed = Some(e.to_string()),
    }
    (event, facts)
}

fn fill_v4(e: &mut Event, f: &mut Facts, m: &Dhcp4<'_>) {
    let ip = |a: std::net::Ipv4Addr| (!a.is_unspecified()).then(|| a.to_string());
    e.message_type = Some(m.message_type_name());
    e.op_code = Some(match m.op() {
        1 => "BOOTREQUEST".into(),
        2 => "BOOTREPLY".into(),
        n => n.to_string(),
    });
    e.hw_type = Some(match m.htype() {
        1 => "ethernet".into(),
        n => n.to_string(),
    });
    e.xid = Some(format!("0x{:08x}", m.xid()));
    let mac = (m.htype() == 1 && m.hlen() == 6)
        .then(|| Mac::from_slice(m.chaddr))
        .flatten();
    e.client_mac = Some(match mac {
        Some(mac) => mac.to_string(),
        None => hex::encode(m.chaddr),
    });
    e.hostname = m.option(12).map(option_text);
    e.vendor_class = m.option(60).map(option_text);
    e.client_identifier = m.option(61).map(hex::encode);
    e.server_ip = m
        .server_identifier()
        .map(|a| a.to_string())
        .or_else(|| ip(m.siaddr()));
    e.relay_ip = ip(m.giaddr());
    e.gateway_ip = m.router().map(|a| a.to_string());
    e.client_ip = ip(m.ciaddr());
    e.your_ip = ip(m.yiaddr());
    e.requested_ip = m.requested_ip().map(|a| a.to_string());
    [e.lease_time, e.renewal_time, e.rebinding_time] = m.times();
    e.option_count = u32::try_from(m.options.len()).unwrap_or(u32::MAX);
    e.dhcp_options = m
        .options
        .iter()
        .map(|(c, v)| (u16::from(*c), option_text(v)))
        .collect();
    if m.truncated_options {
        e.malformed = Some("DHCPv4 options cut short".into());
    }
    let message_type = m.message_type().map(u8::from);
    f.client_mac = mac;
    f.client = mac
        .map(ClientKey::Mac)
        .or_else(|| (!m.chaddr.is_empty()).then(|| ClientKey::Duid(m.chaddr.to_vec())));
    f.message_type = message_type;
    f.from_server = match message_type {
        Some(t) => matches!(t, 2 | 5 | 6),
        None => m.op() == 2,
    };
    f.relayed = !m.giaddr().is_unspecified() || m.hops() > 0;
    f.has_option82 = m.option(82).is_some();
}

fn fill_v6(e: &mut Event, f: &mut Facts, m: &Dhcp6) {
    let name = |t: u8| {
        dhcp6::type_name(t)
            .map(str::to_string)
            .unwrap_or_else(|| format!("TYPE{t}"))
    };
    e.message_type = Some(name(m.msg_type));
    e.inner_message_type = m.inner_type.map(name);
    e.xid = m.xid.map(|x| format!("0x{x:06x}"));
    e.relay_ip = m.relay_link.map(|a| a.to_string());
    let client_duid = m.client_id();
    e.client_duid = client_duid.map(hex::encode);
    e.server_duid = m.server_id().map(hex::encode);
    e.duid_type = client_duid.and_then(dhcp6::duid_type);
    let duid_mac = client_duid.and_then(dhcp6::duid_mac).map(Mac);
    e.client_mac = duid_mac.map(|m| m.to_string()).or(e.source_mac.clone());
    e.client_identifier = e.client_duid.clone();
    // Client FQDN (39): flags byte then a DNS name in wire format (dhcproto 0.15 has no type
    // for this option).
    e.hostname = m.option(39).and_then(|v| dns_name(v.get(1..)?));
    // Vendor class (16): enterprise number, then data items; the first is the class.
    e.vendor_class = m
        .vendor_class()
        .and_then(|v| v.data.first())
        .map(|d| option_text(d));
    e.option_count = u32::try_from(m.options.len()).unwrap_or(u32::MAX);
    e.dhcp_options = m
        .options
        .iter()
        .map(|(c, v)| (*c, option_text(v)))
        .collect();
    let ias = m.ias();
    if !ias.is_empty() {
        let kinds: Vec<&str> = ias.iter().map(|ia| ia.kind).collect();
        e.ia_type = Some(kinds.join(","));
        e.iaid = ias.first().map(|ia| ia.iaid);
        e.renewal_time = ias.iter().find_map(|ia| ia.t1);
        e.rebinding_time = ias.iter().find_map(|ia| ia.t2);
    }
    for ia in &ias {
        for lease in &ia.leases {
            match lease.prefix_len {
                Some(len) => e.delegated_prefixes.push(format!("{}/{len}", lease.addr)),
                None => e.ia_addresses.push(lease.addr.to_string()),
            }
            e.preferred_lifetime.get_or_insert(lease.preferred);
            e.valid_lifetime.get_or_insert(lease.valid);
        }
    }
    e.requested_ip = e.ia_addresses.first().cloned();
    e.lease_time = e.valid_lifetime;
    if let Some(defect) = &m.defect {
        e.malformed = Some(defect.to_string());
    }
    f.client_mac = duid_mac;
    f.client = client_duid.map(|d| ClientKey::Duid(d.to_vec()));
    let t = m.client_type();
    f.message_type = Some(t);
    f.from_server = matches!(t, 2 | 7 | 10) || m.msg_type == 13;
    f.relayed = m.msg_type == 12;
}

/// A DNS name in wire format as dotted text (no compression in DHCPv6).
fn dns_name(mut b: &[u8]) -> Option<String> {
    let mut labels = Vec::new();
    while let [len, rest @ ..] = b {
        if *len == 0 {
            break;
        }
        let label = rest.get(..usize::from(*len))?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        b = &rest[usize::from(*len)..];
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let (e, f) = inspect(&PacketMeta::default(), &[0x45, 0, 0]);
        assert!(e.malformed.is_some());
        assert_eq!(f, Facts::default());
        assert_eq!(
            dns_name(&[4, b'h', b'o', b's', b't', 3, b'l', b'a', b'n', 0]).as_deref(),
            Some("host.lan")
        );
        assert_eq!(dns_name(&[9, b'x']), None);
    }
}
