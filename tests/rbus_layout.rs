//! `LeaseInfo` against C: a program compiled from the v1 struct layout (tests/rbus/
//! lease_info_v1.h, derived in docs/rbus.md) prints `sizeof`/`offsetof` of every field and
//! decodes the bytes dhcpmgr encodes; both must match dhcpmgr's own layout tables and values.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/rbus.rs"]
mod rbus;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use dhcpmgr::rbus::lease_info::{self, V6Lease, V4_FIELDS, V4_SIZE, V6_FIELDS, V6_SIZE};
use dhcpmgr_ipc::V4Lease;

fn layout_program() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = rbus::compile("layout.c", dir.path(), false);
    (dir, exe)
}

/// `layout v4|v6` on `bytes`: the decoded fields.
fn decode(exe: &std::path::Path, family: &str, bytes: &[u8]) -> BTreeMap<String, String> {
    let mut child = Command::new(exe)
        .arg(family)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the layout program");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(bytes)
        .expect("feed the layout program");
    let out = child.wait_with_output().expect("layout program output");
    assert!(out.status.success(), "the C side refused {family} bytes");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn offsets_and_sizes_match_the_c_structs() {
    let (_dir, exe) = layout_program();
    let out = Command::new(&exe)
        .arg("layout")
        .output()
        .expect("run layout");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut c_fields: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["size", st, n] => {
                sizes.insert(st.to_string(), n.parse::<usize>().unwrap());
            }
            [st, field, offset, size] => {
                c_fields.insert(
                    (st.to_string(), field.to_string()),
                    (offset.parse().unwrap(), size.parse().unwrap()),
                );
            }
            _ => panic!("unexpected layout line {line:?}"),
        }
    }
    assert_eq!(sizes["DHCP_MGR_IPV4_MSG"], V4_SIZE);
    assert_eq!(sizes["DHCP_MGR_IPV6_MSG"], V6_SIZE);
    for (st, fields) in [
        ("DHCP_MGR_IPV4_MSG", V4_FIELDS),
        ("DHCP_MGR_IPV6_MSG", V6_FIELDS),
    ] {
        assert_eq!(
            fields.len(),
            c_fields.keys().filter(|(s, _)| s == st).count(),
            "{st}: same number of fields"
        );
        for (name, offset, size) in fields {
            let c = c_fields
                .get(&(st.to_string(), name.to_string()))
                .unwrap_or_else(|| panic!("{st}.{name} is not in the C struct"));
            assert_eq!(*c, (*offset, *size), "{st}.{name}: (offset, size)");
        }
    }
}

#[test]
fn c_reads_the_v4_values_dhcpmgr_wrote() {
    let (_dir, exe) = layout_program();
    let mut lease = V4Lease::new(Ipv4Addr::new(192, 0, 2, 123), 23);
    lease.routers = vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)];
    lease.dns_servers = vec![
        Ipv4Addr::new(192, 0, 2, 53),
        Ipv4Addr::new(198, 51, 100, 53),
    ];
    lease.mtu = Some(1492);
    lease.other.insert("timezone".into(), "-18000".into());
    lease
        .other
        .insert("tzdbstr".into(), "America/New_York".into());
    lease.other.insert("upstreamrate".into(), "40000".into());
    lease.other.insert("downstreamrate".into(), "250000".into());
    let info = lease_info::v4("erouter0", &lease);
    let got = decode(&exe, "v4", &info.to_bytes());
    let want = [
        ("ifname", "erouter0"),
        ("address", "192.0.2.123"),
        ("netmask", "255.255.254.0"),
        ("gateway", "192.0.2.1"),
        ("dnsServer", "192.0.2.53"),
        ("dnsServer1", "198.51.100.53"),
        ("timeZone", "America/New_York"),
        ("mtuSize", "1492"),
        ("timeOffset", "-18000"),
        ("isTimeOffsetAssigned", "1"),
        ("upstreamCurrRate", "40000"),
        ("downstreamCurrRate", "250000"),
    ];
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(named(&info), want, "the named values are what C reads");
}

/// RFC 7599 example 1 (MAP-T, F flag set) applied to 2001:db8:12:3400::/56.
fn example_map() -> dhcpmgr::s46::MapConfig {
    use dhcpmgr::s46::{compute, Ipv4Prefix, Ipv6Prefix, MapContainer, MapTransport, S46Rule};
    let container = MapContainer {
        rules: vec![S46Rule {
            flags: 1,
            ea_len: 16,
            ipv4_prefix: Ipv4Prefix::new(Ipv4Addr::new(192, 0, 2, 0), 24).expect("prefix"),
            ipv6_prefix: Ipv6Prefix::new("2001:db8::".parse().expect("address"), 40)
                .expect("prefix"),
            port_params: None,
        }],
        transport: MapTransport::Translation {
            dmr: Ipv6Prefix::new("2001:db8:ffff::".parse().expect("address"), 64).expect("prefix"),
        },
    };
    let eup = Ipv6Prefix::new("2001:db8:12:3400::".parse().expect("address"), 56).expect("prefix");
    compute(&container, eup).expect("the example computes")
}

#[test]
fn c_reads_the_v6_values_dhcpmgr_wrote() {
    let (_dir, exe) = layout_program();
    let lease = V6Lease {
        address: Some("2001:db8:1::1234".into()),
        prefix: Some("2001:db8:12:3400::/56".into()),
        preferred_secs: 7200,
        valid_secs: 14400,
        dns: vec!["2001:db8::53".into(), "2001:db8::54".into()],
        domain: Some("isp.example".into()),
    };
    let map = example_map();
    let info = lease_info::v6("erouter0", &lease, Some(&map));
    let got = decode(&exe, "v6", &info.to_bytes());
    for (k, v) in [
        ("ifname", "erouter0"),
        ("address", "2001:db8:1::1234"),
        ("nameserver", "2001:db8::53"),
        ("nameserver1", "2001:db8::54"),
        ("domainName", "isp.example"),
        ("sitePrefix", "2001:db8:12:3400::/56"),
        ("prefixPltime", "7200"),
        ("prefixVltime", "14400"),
        ("addrAssigned", "1"),
        ("prefixAssigned", "1"),
        ("domainNameAssigned", "1"),
        ("mapInfo.brIPv6Prefix", "2001:db8:ffff::/64"),
        ("mapInfo.ruleIPv4Prefix", "192.0.2.0"),
        ("mapInfo.ruleIPv6Prefix", "2001:db8::/40"),
        ("mapInfo.pdIPv6Prefix", "2001:db8:12:3400::/56"),
        ("mapInfo.iapdPrefixLen", "56"),
        ("mapInfo.eaLen", "16"),
        ("mapInfo.psidOffset", "6"),
        ("mapInfo.psidLen", "8"),
        ("mapInfo.psid", "52"),
        ("mapInfo.ipv4Len", "24"),
        ("mapInfo.ipv6Len", "40"),
        ("mapInfo.ratio", "256"),
        ("mapInfo.isFMR", "1"),
    ] {
        assert_eq!(got.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(named(&info), got, "the named values are what C reads");
    let empty = lease_info::v6("erouter0", &V6Lease::default(), None);
    let got = decode(&exe, "v6", &empty.to_bytes());
    assert_eq!(got.get("mapInfo.isFMR").map(String::as_str), Some("0"));
    assert_eq!(got.get("prefixVltime").map(String::as_str), Some("0"));
    assert_eq!(named(&empty), got, "unset fields are zero on both sides");
}

/// The named values of `info` (what the D-Bus `Event` carries) as a map.
fn named(info: &lease_info::LeaseInfo) -> BTreeMap<String, String> {
    info.named()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
