//! The DHCPv6 lease in the data model and the CLI, end to end in the lab: real Kea DHCPv6, real
//! dibbler-client 1.0.1, the real daemon; every value read over D-Bus (dhcpmgrctl, the
//! per-object properties) after a lease, after a renew whose reply changes an option, and after
//! the server withdraws its MAP configuration.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::Ipv6Addr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea6Options, Lab, WAN_IF};
use futures_util::StreamExt;
use zbus::fdo::PropertiesProxy;

const WAIT: Duration = Duration::from_secs(40);
const CLIENT: &str = "Device.DHCPv6.Client.1.";
const STATUS: &str = "Device.DHCPv6.Client.1.X_DHCPMGR_Status.";
/// The per-object D-Bus path of [`STATUS`].
const STATUS_OBJECT: &str = "/org/dhcpmgr/Device/DHCPv6/Client/1/X_DHCPMGR_Status";

/// Option 95 (S46 MAP-T container): one rule (F flag set) 2001:db8::/40 → 192.0.2.0/24, EA
/// length 16, PSID offset 6, and a DMR 2001:db8:ffff::/64.
const OPTION_95: &str =
    "0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 005b 0009 40 20010db8ffff0000";

fn option_95() -> String {
    OPTION_95.replace(' ', "")
}

/// Kea renewing every 4 s, with MAP-T and the DNS server `dns`.
fn kea_options(dns: Ipv6Addr, map: bool) -> Kea6Options {
    Kea6Options {
        renew_timer: 4,
        rebind_timer: 30,
        dns_servers: vec![dns],
        raw_options: if map {
            vec![(95, option_95())]
        } else {
            Vec::new()
        },
        ..Kea6Options::default()
    }
}

const DNS_1: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x53);
const DNS_2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x54);

/// Every value below `path` (a partial path), read over D-Bus with `dhcpmgrctl get`; a path
/// that does not exist reads as nothing.
fn values(lab: &Lab, path: &str) -> BTreeMap<String, String> {
    let out = lab
        .ctl_command()
        .args(["get", path])
        .output()
        .expect("run dhcpmgrctl get");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.splitn(3, ' ');
            let name = words.next()?.strip_prefix(path)?.to_string();
            Some((name, words.nth(1).unwrap_or_default().to_string()))
        })
        .collect()
}

/// `ReceivedOption` rows as tag → value.
fn received_options(lab: &Lab) -> BTreeMap<u16, String> {
    let rows = values(lab, &format!("{CLIENT}ReceivedOption."));
    let mut options = BTreeMap::new();
    for (name, tag) in rows.iter().filter(|(n, _)| n.ends_with(".Tag")) {
        let row = name.trim_end_matches("Tag");
        let tag: u16 = tag.parse().expect("a numeric Tag");
        let value = rows
            .get(&format!("{row}Value"))
            .cloned()
            .unwrap_or_default();
        assert!(
            options.insert(tag, value).is_none(),
            "one row per option: {rows:?}"
        );
    }
    options
}

/// Waits until the data model shows an IA_NA address, a delegated prefix and `dns`.
fn wait_for_lease(lab: &Lab, dns: Ipv6Addr) -> BTreeMap<String, String> {
    let mut status = BTreeMap::new();
    lab.wait_until(WAIT, "the DHCPv6 lease in X_DHCPMGR_Status", || {
        status = values(lab, STATUS);
        let has = |name: &str| status.get(name).is_some_and(|v| !v.is_empty());
        has("IANAAddress")
            && has("IAPDPrefix")
            && status.get("DNSServers") == Some(&dns.to_string())
    });
    status
}

/// Follows `dhcpmgrctl events` into a shared list of lines.
struct Events {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Events {
    fn follow(lab: &Lab) -> Events {
        let mut child = lab
            .ctl_command()
            .arg("events")
            .stdout(Stdio::piped())
            .spawn()
            .expect("run dhcpmgrctl events");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Events { child, lines }
    }

    /// Whether a `ValuesChanged` line carried `name=value`.
    fn saw(&self, name: &str, value: &str) -> bool {
        let pair = format!(" {name}={value}");
        self.lines.lock().expect("lines").iter().any(|l| {
            l.starts_with("ValuesChanged")
                && (l.contains(&format!("{pair} ")) || l.ends_with(&pair))
        })
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects the `DNSServers` values of the PropertiesChanged signals of [`STATUS_OBJECT`].
fn follow_dns_property(lab: &Lab) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let address = lab.dbus_address().to_string();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let conn = zbus::connection::Builder::address(address.as_str())
                .expect("bus address")
                .build()
                .await
                .expect("connect to the lab bus");
            let proxy = PropertiesProxy::builder(&conn)
                .destination("org.dhcpmgr")
                .expect("bus name")
                .path(STATUS_OBJECT)
                .expect("object path")
                .build()
                .await
                .expect("properties proxy");
            let mut changes = proxy
                .receive_properties_changed()
                .await
                .expect("subscribe to PropertiesChanged");
            let _ = ready_tx.send(());
            while let Some(signal) = changes.next().await {
                let Ok(args) = signal.args() else { continue };
                if let Some(value) = args.changed_properties.get("DNSServers") {
                    if let Ok(text) = String::try_from(value.clone()) {
                        sink.lock().expect("seen").push(text);
                    }
                }
            }
        });
    });
    ready
        .recv_timeout(Duration::from_secs(10))
        .expect("subscribed to PropertiesChanged");
    seen
}

#[test]
fn the_v6_lease_options_server_and_map_follow_the_server_in_tr181() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(kea_options(DNS_1, true));
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    let status = wait_for_lease(&lab, DNS_1);

    // The lease is Kea's, and the one on the interface.
    let leases: Vec<_> = lab
        .kea6_leases()
        .into_iter()
        .filter(|l| l.is_active())
        .collect();
    let address = leases.iter().find(|l| !l.is_prefix()).expect("IA_NA lease");
    let prefix = leases.iter().find(|l| l.is_prefix()).expect("IA_PD lease");
    assert_eq!(status["IANAAddress"], address.address.to_string());
    assert!(lab.global_v6().contains(&address.address), "{status:?}");
    let delegated = format!("{}/{}", prefix.address, prefix.prefix_len);
    assert_eq!(status["IAPDPrefix"], delegated);
    for name in [
        "IANAPreferredTimeRemaining",
        "IANAValidTimeRemaining",
        "IAPDPreferredTimeRemaining",
        "IAPDValidTimeRemaining",
    ] {
        let left: i64 = status[name].parse().expect("seconds");
        let most = if name.contains("Preferred") {
            3000
        } else {
            4000
        };
        assert!((1..=most).contains(&left), "{name} = {left}");
    }
    assert_eq!(status["Waiting"], "");

    // Every option of the reply, and its server.
    let options = received_options(&lab);
    assert_eq!(
        options.get(&23).map(String::as_str),
        Some("20010db8000100000000000000000053")
    );
    assert_eq!(
        options.get(&24).map(String::as_str),
        Some("036c6162076578616d706c6500"),
        "lab.example in wire form"
    );
    assert_eq!(options.get(&95), Some(&option_95()));
    let client = values(&lab, CLIENT);
    assert_eq!(
        client["ReceivedOptionNumberOfEntries"],
        options.len().to_string()
    );
    assert_eq!(client["ServerNumberOfEntries"], "1");
    let server = values(&lab, &format!("{CLIENT}Server.1."));
    let server_duid = server["DUID"].clone();
    assert!(server_duid.starts_with("0001"), "a DUID-LLT: {server_duid}");
    assert_eq!(options.get(&2), Some(&server_duid));
    assert_eq!(server["InformationRefreshTime"], "0001-01-01T00:00:00Z");
    assert!(client["DUID"].starts_with("00010001"), "{client:?}");

    // MAP-T: one domain with its BMR; the EA bits are bits 40..56 of the delegated prefix.
    let segments = prefix.address.segments();
    let (suffix, psid) = (segments[2] & 0xff, segments[3] >> 8);
    let map = values(&lab, "Device.MAP.");
    assert_eq!(map["DomainNumberOfEntries"], "1", "{map:?}");
    assert_eq!(map["Enable"], "true");
    assert_eq!(map["Domain.1.TransportMode"], "Translation");
    assert_eq!(map["Domain.1.BRIPv6Prefix"], "2001:db8:ffff::/64");
    assert_eq!(map["Domain.1.Alias"], "cpe-map-wan6");
    assert_eq!(map["Domain.1.Rule.1.IPv6Prefix"], "2001:db8::/40");
    assert_eq!(map["Domain.1.Rule.1.IPv4Prefix"], "192.0.2.0/24");
    assert_eq!(map["Domain.1.Rule.1.EABitsLength"], "16");
    assert_eq!(map["Domain.1.Rule.1.PSIDOffset"], "6");
    assert_eq!(map["Domain.1.Rule.1.PSIDLength"], "8");
    assert_eq!(
        map["Domain.1.Rule.1.PSID"],
        (u32::from(psid) << 8).to_string()
    );
    let rcv = values(&lab, &format!("{CLIENT}X_RDKCENTRAL-COM_RcvOption."));
    assert_eq!(rcv["MapTransportMode"], "MAPT");
    assert_eq!(rcv["MapIpv4Address"], format!("192.0.2.{suffix}"));
    assert_eq!(rcv["MapPSID"], psid.to_string());
    assert_eq!(rcv["MapIsFMR"], "true");

    // The server changes its DNS server and withdraws MAP; the next RENEW's reply brings both.
    let events = Events::follow(&lab);
    let dns_property = follow_dns_property(&lab);
    let renews_before: u64 = values(&lab, &format!("{CLIENT}Stats."))["Renew"]
        .parse()
        .expect("a counter");
    lab.reload_kea6(kea_options(DNS_2, false), &server_duid);
    let status = wait_for_lease(&lab, DNS_2);
    let renews: u64 = values(&lab, &format!("{CLIENT}Stats."))["Renew"]
        .parse()
        .expect("a counter");
    assert!(renews > renews_before, "a RENEW brought it: {renews}");
    assert_eq!(status["IANAAddress"], address.address.to_string());
    assert_eq!(status["IAPDPrefix"], delegated, "the prefix stays");
    let options = received_options(&lab);
    assert_eq!(
        options.get(&23).map(String::as_str),
        Some("20010db8000100000000000000000054")
    );
    assert!(!options.contains_key(&95), "{options:?}");
    assert_eq!(
        values(&lab, &format!("{CLIENT}Server.1."))["DUID"],
        server_duid,
        "the same server"
    );
    lab.wait_until(WAIT, "MAP to leave Device.MAP.", || {
        values(&lab, "Device.MAP.").get("DomainNumberOfEntries") == Some(&"0".to_string())
    });
    let map = values(&lab, "Device.MAP.");
    assert!(
        !map.keys().any(|k| k.starts_with("Domain.1.")),
        "no domain left: {map:?}"
    );
    assert_eq!(map["Enable"], "false");
    let rcv = values(&lab, &format!("{CLIENT}X_RDKCENTRAL-COM_RcvOption."));
    assert_eq!(rcv["MapTransportMode"], "");
    assert_eq!(rcv["MapPSID"], "0");

    // Both kinds of change signal said so.
    lab.wait_until(WAIT, "ValuesChanged for the new DNS server and MAP", || {
        events.saw(&format!("{STATUS}DNSServers"), &DNS_2.to_string())
            && events.saw("Device.MAP.DomainNumberOfEntries", "0")
            && events.saw(
                &format!("{CLIENT}X_RDKCENTRAL-COM_RcvOption.MapTransportMode"),
                "",
            )
    });
    lab.wait_until(WAIT, "PropertiesChanged for the new DNS server", || {
        dns_property
            .lock()
            .expect("seen")
            .contains(&DNS_2.to_string())
    });
}

#[test]
fn dhcpmgrctl_status_shows_the_v6_lease() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(kea_options(DNS_1, true));
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    wait_for_lease(&lab, DNS_1);
    lab.wait_until(WAIT, "the MAP domain", || {
        values(&lab, "Device.MAP.").get("DomainNumberOfEntries") == Some(&"1".to_string())
    });
    let address = lab
        .global_v6()
        .into_iter()
        .next()
        .expect("an IA_NA address on the interface");
    let prefix = lab
        .kea6_leases()
        .into_iter()
        .find(|l| l.is_prefix() && l.is_active())
        .expect("IA_PD lease");
    let segments = prefix.address.segments();
    let (suffix, psid) = (segments[2] & 0xff, segments[3] >> 8);
    let delegated = format!("{}/{}", prefix.address, prefix.prefix_len);

    let json: serde_json::Value =
        serde_json::from_str(&lab.ctl(&["status", "--json"])).expect("status --json is JSON");
    let rows = json.as_array().expect("a list of clients");
    let row = rows
        .iter()
        .find(|r| r["family"] == "DHCPv6")
        .unwrap_or_else(|| panic!("a DHCPv6 row: {json:#}"));
    assert_eq!(row["client"], "Device.DHCPv6.Client.1");
    assert_eq!(row["alias"], "wan6");
    assert_eq!(row["interface"], WAN_IF);
    assert_eq!(row["status"], "Enabled");
    assert_eq!(row["waiting"], "");
    assert_eq!(row["address"], address.to_string());
    assert_eq!(row["prefix"], delegated);
    for (key, most) in [("preferred", 3000), ("valid", 4000)] {
        for lifetimes in ["address_lifetimes", "prefix_lifetimes"] {
            let left = row[lifetimes][key].as_i64().expect("seconds");
            assert!((1..=most).contains(&left), "{lifetimes}.{key} = {left}");
        }
    }
    assert_eq!(row["dns_servers"], serde_json::json!([DNS_1.to_string()]));
    assert_eq!(row["map"]["mode"], "MAPT");
    assert_eq!(row["map"]["ipv4_address"], format!("192.0.2.{suffix}"));
    assert_eq!(row["map"]["psid"], psid);

    let table = lab.ctl(&["status"]);
    let line = table
        .lines()
        .find(|l| l.starts_with("Device.DHCPv6.Client.1 "))
        .unwrap_or_else(|| panic!("a DHCPv6 line:\n{table}"));
    for cell in [
        address.to_string(),
        delegated,
        DNS_1.to_string(),
        format!("MAPT 192.0.2.{suffix} PSID {psid}"),
    ] {
        assert!(line.contains(&cell), "{cell} in {line}");
    }
}
