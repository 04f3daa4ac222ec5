//! `LeaseInfo`, the bytes of an RBUS lease event: the C structs `DHCP_MGR_IPV4_MSG` and
//! `DHCP_MGR_IPV6_MSG` laid out exactly as WAN Manager's compiler lays them out (natural
//! alignment, `bool` one byte, `uint32_t`/`int32_t` four). docs/rbus.md lists every field with
//! its offset; tests/rbus_layout.rs checks these offsets and the encoded values against a C
//! program compiled from that layout. Pure: snapshot in, bytes out.

use std::net::Ipv4Addr;

use dhcpmgr_ipc::V4Lease;

use crate::model::V6ClientSnapshot;
use crate::s46::{MapConfig, MapTransport};

/// `sizeof(DHCP_MGR_IPV4_MSG)` (v1).
pub const V4_SIZE: usize = 372;
/// `sizeof(DHCP_MGR_IPV6_MSG)` (v1).
pub const V6_SIZE: usize = 912;

/// Field offsets of `DHCP_MGR_IPV4_MSG` (v1): (name, offset, size).
pub const V4_FIELDS: &[(&str, usize, usize)] = &[
    ("ifname", 0, 64),
    ("address", 64, 32),
    ("netmask", 96, 32),
    ("gateway", 128, 32),
    ("dnsServer", 160, 64),
    ("dnsServer1", 224, 64),
    ("timeZone", 288, 64),
    ("mtuSize", 352, 4),
    ("timeOffset", 356, 4),
    ("isTimeOffsetAssigned", 360, 1),
    ("upstreamCurrRate", 364, 4),
    ("downstreamCurrRate", 368, 4),
];

/// Field offsets of `DHCP_MGR_IPV6_MSG` (v1), `mapInfo`'s fields flattened as `mapInfo.x`.
pub const V6_FIELDS: &[(&str, usize, usize)] = &[
    ("ifname", 0, 32),
    ("address", 32, 48),
    ("nameserver", 80, 128),
    ("nameserver1", 208, 128),
    ("domainName", 336, 64),
    ("sitePrefix", 400, 48),
    ("prefixPltime", 448, 4),
    ("prefixVltime", 452, 4),
    ("addrAssigned", 456, 1),
    ("prefixAssigned", 457, 1),
    ("domainNameAssigned", 458, 1),
    ("mapInfo.brIPv6Prefix", 460, 128),
    ("mapInfo.ruleIPv4Prefix", 588, 32),
    ("mapInfo.ruleIPv6Prefix", 620, 128),
    ("mapInfo.pdIPv6Prefix", 748, 128),
    ("mapInfo.iapdPrefixLen", 876, 4),
    ("mapInfo.eaLen", 880, 4),
    ("mapInfo.psidOffset", 884, 4),
    ("mapInfo.psidLen", 888, 4),
    ("mapInfo.psid", 892, 4),
    ("mapInfo.ipv4Len", 896, 4),
    ("mapInfo.ipv6Len", 900, 4),
    ("mapInfo.ratio", 904, 4),
    ("mapInfo.isFMR", 908, 1),
];

/// One field's value, as the C struct holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A `char[N]`, already cut to at most N-1 bytes.
    Text(String),
    /// A `uint32_t` (lifetimes in seconds, MTU, rates, the `mapInfo` lengths and PSID).
    U32(u32),
    /// An `int32_t`: `timeOffset`, DHCPv4 option 2 in seconds east of UTC.
    I32(i32),
    /// A C `bool` (one byte, 0 or 1): the `…Assigned` flags and `mapInfo.isFMR`.
    Bool(bool),
}

impl FieldValue {
    /// The value as text: C's view (`bool` as `1`/`0`, integers in decimal).
    pub fn render(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::U32(n) => n.to_string(),
            Self::I32(n) => n.to_string(),
            Self::Bool(b) => u8::from(*b).to_string(),
        }
    }
}

/// A `LeaseInfo` struct by field: what the RBUS event carries as bytes ([`LeaseInfo::to_bytes`])
/// and the D-Bus `Event` signal as named values ([`LeaseInfo::named`]). Fields never set are
/// zero, as in the C manager's `memset` struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    size: usize,
    fields: &'static [(&'static str, usize, usize)],
    values: Vec<(&'static str, FieldValue)>,
}

impl LeaseInfo {
    fn new(size: usize, fields: &'static [(&'static str, usize, usize)]) -> Self {
        Self {
            size,
            fields,
            values: Vec::new(),
        }
    }

    fn layout_of(&self, name: &str) -> (&'static str, usize, usize) {
        self.fields
            .iter()
            .find(|(n, _, _)| *n == name)
            .copied()
            .unwrap_or_else(|| unreachable!("{name} is a field of the layout"))
    }

    fn set(&mut self, name: &str, value: FieldValue) {
        let (name, _, _) = self.layout_of(name);
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value));
    }

    /// A `char[N]`: at most N-1 bytes (cut like `strncpy(dest, src, sizeof(dest) - 1)`, at a
    /// character boundary), NUL-terminated.
    fn text(&mut self, name: &str, value: &str) {
        let (_, _, size) = self.layout_of(name);
        let mut n = value.len().min(size - 1);
        while !value.is_char_boundary(n) {
            n -= 1;
        }
        self.set(name, FieldValue::Text(value[..n].to_string()));
    }

    fn u32(&mut self, name: &str, value: u32) {
        self.set(name, FieldValue::U32(value));
    }

    fn i32(&mut self, name: &str, value: i32) {
        self.set(name, FieldValue::I32(value));
    }

    fn bool(&mut self, name: &str, value: bool) {
        self.set(name, FieldValue::Bool(value));
    }

    /// The value of field `name` (zero or empty when not set).
    pub fn get(&self, name: &str) -> Option<String> {
        let (name, _, size) = *self.fields.iter().find(|(n, _, _)| *n == name)?;
        Some(
            self.values
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| zero(size), |(_, v)| v.render()),
        )
    }

    /// Every field in layout order with its value as text (`mapInfo`'s as `mapInfo.x`).
    pub fn named(&self) -> Vec<(&'static str, String)> {
        self.fields
            .iter()
            .map(|(name, _, _)| (*name, self.get(name).unwrap_or_default()))
            .collect()
    }

    /// The struct's bytes: zero-filled, each field at its offset in the host's byte order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.size];
        for (name, value) in &self.values {
            let (_, offset, size) = self.layout_of(name);
            let dest = &mut bytes[offset..offset + size];
            match value {
                FieldValue::Text(text) => dest[..text.len()].copy_from_slice(text.as_bytes()),
                FieldValue::U32(n) => dest.copy_from_slice(&n.to_ne_bytes()),
                FieldValue::I32(n) => dest.copy_from_slice(&n.to_ne_bytes()),
                FieldValue::Bool(b) => dest[0] = u8::from(*b),
            }
        }
        bytes
    }
}

/// A field never set, as text: integers and `bool` 0, strings empty.
fn zero(size: usize) -> String {
    match size {
        1 | 4 => "0".to_string(),
        _ => String::new(),
    }
}

/// `DHCP_MGR_IPV4_MSG` for a lease on `ifname`.
pub fn v4(ifname: &str, lease: &V4Lease) -> LeaseInfo {
    let mut m = LeaseInfo::new(V4_SIZE, V4_FIELDS);
    m.text("ifname", ifname);
    m.text("address", &lease.address.to_string());
    m.text("netmask", &netmask(lease.prefix_len).to_string());
    if let Some(router) = lease.routers.first() {
        m.text("gateway", &router.to_string());
    }
    for (field, dns) in ["dnsServer", "dnsServer1"].iter().zip(&lease.dns_servers) {
        m.text(field, &dns.to_string());
    }
    // udhcpc exports option 2 (time offset) as `timezone` (some builds print the signed
    // value as unsigned), option 100 (POSIX TZ string) as `tzstr`, 101 (tz database) as
    // `tzdbstr`.
    if let Some(offset) = lease.other.get("timezone").and_then(|z| time_offset(z)) {
        m.i32("timeOffset", offset);
        m.bool("isTimeOffsetAssigned", true);
    }
    if let Some(zone) = lease
        .other
        .get("tzstr")
        .or_else(|| lease.other.get("tzdbstr"))
    {
        m.text("timeZone", zone);
    }
    m.u32("mtuSize", lease.mtu.map_or(0, u32::from));
    for (field, var) in [
        ("upstreamCurrRate", "upstreamrate"),
        ("downstreamCurrRate", "downstreamrate"),
    ] {
        if let Some(rate) = lease.other.get(var).and_then(|r| r.trim().parse().ok()) {
            m.u32(field, rate);
        }
    }
    m
}

/// What a DHCPv6 lease event tells of the lease (`DHCP_MGR_IPV6_MSG` v1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V6Lease {
    /// The IA_NA address (`address`, and `addrAssigned` = 1); `None` leaves both zero.
    pub address: Option<String>,
    /// The delegated prefix as `prefix/length` (`sitePrefix`, and `prefixAssigned` = 1);
    /// `None` leaves `sitePrefix`, `prefixAssigned` and both lifetimes zero.
    pub prefix: Option<String>,
    /// The prefix's preferred lifetime in seconds (`prefixPltime`).
    pub preferred_secs: u32,
    /// The prefix's valid lifetime in seconds (`prefixVltime`).
    pub valid_secs: u32,
    /// The DNS servers (option 23); the first two go to `nameserver` and `nameserver1`.
    pub dns: Vec<String>,
    /// The domain name (`domainName`; `domainNameAssigned` = 1 unless empty); `None` when
    /// the server sent no domain search list (option 24).
    pub domain: Option<String>,
}

impl V6Lease {
    /// What the client holds: the first IA_NA address, the first delegated prefix with the
    /// lifetimes the server gave it, the DNS servers (option 23) and the first name of the
    /// domain search list (option 24) of the last reply.
    pub fn of(client: &V6ClientSnapshot) -> V6Lease {
        let prefix = client.prefixes.first().map(|p| p.lease);
        V6Lease {
            address: client
                .addresses
                .first()
                .map(|a| a.lease.address.to_string()),
            prefix: prefix.map(|p| format!("{}/{}", p.prefix, p.length)),
            preferred_secs: prefix.map_or(0, |p| p.preferred),
            valid_secs: prefix.map_or(0, |p| p.valid),
            dns: client
                .dns_servers()
                .iter()
                .map(ToString::to_string)
                .collect(),
            domain: client
                .received_options
                .get(&24)
                .and_then(|names| names.split_ascii_whitespace().next())
                .map(|name| name.strip_suffix('.').unwrap_or(name).to_string()),
        }
    }
}

/// `DHCP_MGR_IPV6_MSG` for a lease on `ifname`, with `map` when MAP is configured.
pub fn v6(ifname: &str, lease: &V6Lease, map: Option<&MapConfig>) -> LeaseInfo {
    let mut m = LeaseInfo::new(V6_SIZE, V6_FIELDS);
    m.text("ifname", ifname);
    if let Some(address) = &lease.address {
        m.text("address", address);
        m.bool("addrAssigned", true);
    }
    for (field, dns) in ["nameserver", "nameserver1"].iter().zip(&lease.dns) {
        m.text(field, dns);
    }
    if let Some(domain) = &lease.domain {
        m.text("domainName", domain);
        m.bool("domainNameAssigned", !domain.is_empty());
    }
    if let Some(prefix) = &lease.prefix {
        m.text("sitePrefix", prefix);
        m.bool("prefixAssigned", true);
        m.u32("prefixPltime", lease.preferred_secs);
        m.u32("prefixVltime", lease.valid_secs);
    }
    if let Some(map) = map {
        let br = match &map.transport {
            MapTransport::Translation { dmr } => dmr.to_string(),
            MapTransport::Encapsulation { border_relays } => border_relays
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        m.text("mapInfo.brIPv6Prefix", &br);
        m.text(
            "mapInfo.ruleIPv4Prefix",
            &map.bmr.ipv4_prefix.addr().to_string(),
        );
        m.text("mapInfo.ruleIPv6Prefix", &map.bmr.ipv6_prefix.to_string());
        m.text("mapInfo.pdIPv6Prefix", &map.end_user_prefix.to_string());
        m.u32(
            "mapInfo.iapdPrefixLen",
            u32::from(map.end_user_prefix.prefix_len()),
        );
        m.u32("mapInfo.eaLen", u32::from(map.bmr.ea_len));
        m.u32("mapInfo.psidOffset", u32::from(map.psid_offset));
        m.u32("mapInfo.psidLen", u32::from(map.psid.bits()));
        m.u32("mapInfo.psid", u32::from(map.psid.value()));
        m.u32(
            "mapInfo.ipv4Len",
            u32::from(map.bmr.ipv4_prefix.prefix_len()),
        );
        m.u32(
            "mapInfo.ipv6Len",
            u32::from(map.bmr.ipv6_prefix.prefix_len()),
        );
        m.u32("mapInfo.ratio", map.sharing_ratio);
        m.bool("mapInfo.isFMR", map.is_fmr());
    }
    m
}

/// Option 2 as udhcpc printed it: a signed decimal, or its 32 bits as unsigned.
fn time_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    text.parse::<i32>()
        .ok()
        .or_else(|| text.parse::<u32>().ok().map(|u| u as i32))
}

fn netmask(prefix_len: u8) -> Ipv4Addr {
    let bits = u32::MAX
        .checked_shl(32 - u32::from(prefix_len.min(32)))
        .unwrap_or(0);
    Ipv4Addr::from(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at(bytes: &[u8], offset: usize, size: usize) -> &str {
        let field = &bytes[offset..offset + size];
        let end = field.iter().position(|&b| b == 0).unwrap();
        std::str::from_utf8(&field[..end]).unwrap()
    }

    #[test]
    fn fields_tile_the_structs_in_order() {
        for (fields, size) in [(V4_FIELDS, V4_SIZE), (V6_FIELDS, V6_SIZE)] {
            let mut end = 0;
            for (name, offset, len) in fields {
                assert!(*offset >= end, "{name} overlaps the field before it");
                assert_eq!(offset % len.min(&4), 0, "{name} is naturally aligned");
                end = offset + len;
            }
            assert!(
                end <= size && size - end < 4,
                "only tail padding after the last field"
            );
        }
    }

    #[test]
    fn v4_lease_fills_every_field_and_truncates_like_strncpy() {
        let mut lease = V4Lease::new(Ipv4Addr::new(192, 0, 2, 10), 24);
        lease.routers = vec![Ipv4Addr::new(192, 0, 2, 1)];
        lease.dns_servers = vec![Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(192, 0, 2, 54)];
        lease.mtu = Some(1480);
        lease.other.insert("timezone".into(), "4294963696".into());
        lease.other.insert("tzstr".into(), "CET-1CEST".into());
        lease.other.insert("upstreamrate".into(), "1000".into());
        let long_if = "x".repeat(80);
        let b = v4(&long_if, &lease).to_bytes();
        assert_eq!(b.len(), V4_SIZE);
        assert_eq!(text_at(&b, 0, 64), "x".repeat(63));
        assert_eq!(text_at(&b, 64, 32), "192.0.2.10");
        assert_eq!(text_at(&b, 96, 32), "255.255.255.0");
        assert_eq!(text_at(&b, 128, 32), "192.0.2.1");
        assert_eq!(text_at(&b, 160, 64), "192.0.2.53");
        assert_eq!(text_at(&b, 224, 64), "192.0.2.54");
        assert_eq!(text_at(&b, 288, 64), "CET-1CEST");
        assert_eq!(b[352..356], 1480u32.to_ne_bytes());
        assert_eq!(b[356..360], (-3600i32).to_ne_bytes());
        assert_eq!(b[360], 1);
        assert_eq!(b[361..364], [0, 0, 0], "padding stays zero");
        assert_eq!(b[364..368], 1000u32.to_ne_bytes());
        assert_eq!(b[368..372], [0; 4]);
    }

    #[test]
    fn v4_lease_without_options_leaves_zeros() {
        let b = v4("erouter0", &V4Lease::new(Ipv4Addr::new(10, 0, 0, 2), 8)).to_bytes();
        assert_eq!(text_at(&b, 96, 32), "255.0.0.0");
        assert!(b[128..288].iter().all(|&x| x == 0));
        assert!(b[352..].iter().all(|&x| x == 0));
    }

    #[test]
    fn time_offset_takes_both_renderings() {
        assert_eq!(time_offset("-3600"), Some(-3600));
        assert_eq!(time_offset("4294963696"), Some(-3600));
        assert_eq!(time_offset("7200"), Some(7200));
        assert_eq!(time_offset("soon"), None);
    }

    #[test]
    fn netmask_covers_the_edges() {
        assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(netmask(33), Ipv4Addr::new(255, 255, 255, 255));
    }

    #[test]
    fn v6_map_info_is_the_map_configuration() {
        use crate::s46::{compute, Ipv4Prefix, Ipv6Prefix, MapContainer, S46Rule};
        // RFC 7599 Example 1 (MAP-T).
        let rule = S46Rule {
            flags: 0,
            ea_len: 16,
            ipv4_prefix: Ipv4Prefix::new(Ipv4Addr::new(192, 0, 2, 0), 24).unwrap(),
            ipv6_prefix: Ipv6Prefix::new("2001:db8::".parse().unwrap(), 40).unwrap(),
            port_params: None,
        };
        let container = MapContainer {
            rules: vec![rule],
            transport: MapTransport::Translation {
                dmr: Ipv6Prefix::new("2001:db8:ffff::".parse().unwrap(), 64).unwrap(),
            },
        };
        let eup = Ipv6Prefix::new("2001:db8:12:3400::".parse().unwrap(), 56).unwrap();
        let map = compute(&container, eup).unwrap();
        let b = v6("erouter0", &V6Lease::default(), Some(&map)).to_bytes();
        let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(text_at(&b, 460, 128), "2001:db8:ffff::/64");
        assert_eq!(text_at(&b, 588, 32), "192.0.2.0");
        assert_eq!(text_at(&b, 620, 128), "2001:db8::/40");
        assert_eq!(text_at(&b, 748, 128), "2001:db8:12:3400::/56");
        assert_eq!(
            [876, 880, 884, 888, 892, 896, 900, 904].map(u32_at),
            [56, 16, 6, 8, 0x34, 24, 40, 256],
            "iapdPrefixLen eaLen psidOffset psidLen psid ipv4Len ipv6Len ratio"
        );
        assert_eq!(b[908], 0, "not an FMR");
    }

    #[test]
    fn v6_lease_sets_the_assigned_flags() {
        let lease = V6Lease {
            address: Some("2001:db8:1::10".into()),
            prefix: Some("2001:db8:100::/56".into()),
            preferred_secs: 1800,
            valid_secs: 3600,
            dns: vec!["2001:db8::53".into()],
            domain: Some("example.net".into()),
        };
        let b = v6("erouter0", &lease, None).to_bytes();
        assert_eq!(b.len(), V6_SIZE);
        assert_eq!(text_at(&b, 32, 48), "2001:db8:1::10");
        assert_eq!(text_at(&b, 80, 128), "2001:db8::53");
        assert_eq!(text_at(&b, 336, 64), "example.net");
        assert_eq!(text_at(&b, 400, 48), "2001:db8:100::/56");
        assert_eq!(b[448..452], 1800u32.to_ne_bytes());
        assert_eq!(b[452..456], 3600u32.to_ne_bytes());
        assert_eq!(b[456..459], [1, 1, 1]);
        assert!(b[460..].iter().all(|&x| x == 0), "no MAP: mapInfo is zero");
        let none = v6("erouter0", &V6Lease::default(), None).to_bytes();
        assert_eq!(none[456..459], [0, 0, 0]);
    }

    fn v6_snapshot() -> V6ClientSnapshot {
        let text = "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\n";
        let settings = crate::config::Config::parse(text)
            .expect("config")
            .dhcpv6_clients[0]
            .clone();
        V6ClientSnapshot {
            instance: crate::model::Instance(1),
            settings,
            enable: true,
            status: crate::model::ClientStatus::Enabled,
            duid: String::new(),
            received_options: Default::default(),
            map: None,
            addresses: Vec::new(),
            prefixes: Vec::new(),
            stats: Default::default(),
            waiting: None,
        }
    }

    #[test]
    fn v6_lease_is_read_from_the_snapshot() {
        use crate::boottime::BootSeconds;
        use crate::model::{HeldAddress, HeldPrefix};
        use dhcpmgr_ipc::{V6Address, V6Prefix};
        let mut client = v6_snapshot();
        assert_eq!(V6Lease::of(&client), V6Lease::default(), "nothing held");
        let held = |n: u16| HeldAddress {
            lease: V6Address {
                address: std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n),
                preferred: 100,
                valid: 200,
            },
            obtained: BootSeconds(5),
        };
        client.addresses = vec![held(0x10), held(0x11)];
        client
            .received_options
            .insert(23, "2001:db8::53 bogus 2001:db8::54".into());
        client
            .received_options
            .insert(24, "isp.example. lab.example".into());
        let only_address = V6Lease::of(&client);
        assert_eq!(only_address.address.as_deref(), Some("2001:db8:1::10"));
        assert_eq!(only_address.prefix, None);
        assert_eq!(
            (only_address.preferred_secs, only_address.valid_secs),
            (0, 0)
        );
        assert_eq!(only_address.dns, ["2001:db8::53", "2001:db8::54"]);
        assert_eq!(only_address.domain.as_deref(), Some("isp.example"));
        client.prefixes = vec![HeldPrefix {
            lease: V6Prefix {
                prefix: "2001:db8:12:3400::".parse().unwrap(),
                length: 56,
                preferred: 3000,
                valid: u32::MAX,
            },
            obtained: BootSeconds(7),
        }];
        let lease = V6Lease::of(&client);
        assert_eq!(lease.prefix.as_deref(), Some("2001:db8:12:3400::/56"));
        assert_eq!(
            (lease.preferred_secs, lease.valid_secs),
            (3000, u32::MAX),
            "the lifetimes the server gave, infinite kept as 0xffffffff"
        );
    }
}
