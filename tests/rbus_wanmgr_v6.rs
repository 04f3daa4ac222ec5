//! WAN Manager's DHCPv6 sequence (`WanManager_StartDhcpv6Client`) against the real daemon over
//! RDK's real bus: rtrouted and librbus built from rdkcentral/rbus, the test consumer compiled
//! from rbus's public headers (tests/rbus/client.c), real dibbler-client and Kea DHCPv6 (with
//! MAP-T, option 95) in the lab's namespaces. Every `DHCP_MGR_IPV6_MSG` field of the lease
//! event is checked against Kea's lease and configuration, and the D-Bus `Event` of the same
//! lease must carry the same fields by name. Needs root; fails with a clear message without
//! rtrouted/librbus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/rbus.rs"]
mod rbus;

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{lab_or_skip, Kea6Options, WAN_IF};
use rbus::{daemon_log, Broker, Client, Daemon, Event, Listener};

const EVENTS: &str = "Device.DHCPv6.Client.1.Events";
const CLIENT: &str = "Device.DHCPv6.Client.1.";
/// How long a lease event may take (dibbler-client, Kea, the daemon, the bus, under load).
const EVENT_WAIT: Duration = Duration::from_secs(40);

/// Option 95 (S46 MAP-T container): one rule (F flag set) 2001:db8::/40 → 192.0.2.0/24, EA
/// length 16, PSID offset 6, and a DMR 2001:db8:ffff::/64.
const OPTION_95: &str =
    "0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 005b 0009 40 20010db8ffff0000";
const DNS: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x53);
const DOMAIN: &str = "lab.example";
const PREFERRED: u32 = 3000;
const VALID: u32 = 4000;

/// `Device.DHCPv6.Client.1.<name>`.
fn p(name: &str) -> String {
    format!("{CLIENT}{name}")
}

/// The first lease update whose `LeaseInfo` has both the address and the prefix (dibbler-client
/// reports IA_NA and IA_PD in separate transactions, so an address-only update may come first).
fn wait_for_full_lease(events: &Listener) -> (Event, Vec<Event>) {
    let deadline = Instant::now() + EVENT_WAIT;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (event, earlier) = events.wait_for(3, left);
        before.extend(earlier);
        if event.get("lease.addrAssigned") == Some("1")
            && event.get("lease.prefixAssigned") == Some("1")
        {
            return (event, before);
        }
        before.push(event);
    }
}

#[test]
fn wan_manager_starts_and_stops_a_dhcpv6_client_over_rbus() {
    let Some(mut lab) = lab_or_skip() else { return };
    rbus::require_rbus();
    lab.start_kea6(Kea6Options {
        preferred_lifetime: PREFERRED,
        valid_lifetime: VALID,
        dns_servers: vec![DNS],
        domains: vec![DOMAIN.into()],
        raw_options: vec![(95, OPTION_95.replace(' ', ""))],
        ..Kea6Options::default()
    });
    // One DHCPv6 client WAN Manager has not started yet: disabled, on a name it overwrites.
    let mut config = lab.v6_daemon_config("enable = false");
    config.extra_toml = config.extra_toml.replace(
        &format!("interface = \"{WAN_IF}\""),
        "interface = \"erouter9\"",
    );
    config.extra_toml.push_str("\n[rbus]\nenable = true\n");
    let config = lab.write_daemon_config(&config);
    let broker = Broker::start(lab.dir());
    let _daemon = Daemon::start(&lab, &broker, &config);
    let client = Client {
        broker: &broker,
        exe: rbus::compile("client.c", lab.dir(), true),
    };
    if let Err(why) = client.wait_until_served(&p("Enable"), Duration::from_secs(10)) {
        panic!(
            "dhcpmgr did not answer on RBUS within 10 s: {why}\n{}",
            daemon_log(&lab)
        );
    }
    assert_eq!(client.get(&p("Enable")), "false");

    // WanManager_StartDhcpv6Client: subscribe, set the interface, enable.
    let (dbus, events) = rbus::start_like_wan_manager(&client, &lab, CLIENT);
    let (lease, before) = wait_for_full_lease(&events);
    assert!(
        before
            .iter()
            .any(|e| e.msg_type() == Some(0) && e.get("IfName") == Some(WAN_IF)),
        "DHCP_CLIENT_STARTED (0) on {WAN_IF} comes before the lease: {before:?}"
    );

    // Every DHCP_MGR_IPV6_MSG field against Kea's lease and what Kea was told to send.
    let leases: Vec<_> = lab
        .kea6_leases()
        .into_iter()
        .filter(|l| l.is_active())
        .collect();
    let address = leases
        .iter()
        .rfind(|l| !l.is_prefix())
        .unwrap_or_else(|| panic!("Kea granted an IA_NA lease: {leases:?}"));
    let prefix = leases
        .iter()
        .rfind(|l| l.is_prefix())
        .unwrap_or_else(|| panic!("Kea delegated a prefix: {leases:?}"));
    assert_eq!(prefix.prefix_len, 56, "Kea's delegated length");
    assert_eq!(prefix.valid_lifetime, VALID, "Kea's prefix lease");
    let site_prefix = format!("{}/{}", prefix.address, prefix.prefix_len);
    // RFC 7597 §5.2: the EA bits are the delegated prefix's bits 40..56; with 8 of them for
    // the IPv4 suffix, the PSID is the low 8.
    let ea_bits = (u128::from(prefix.address) >> (128 - 56)) & 0xffff;
    let psid = (ea_bits & 0xff).to_string();
    assert_eq!(lease.name, EVENTS);
    assert_eq!(lease.get("IfName"), Some(WAN_IF));
    assert_eq!(
        lease.get("LeaseInfo.len"),
        Some("912"),
        "sizeof(DHCP_MGR_IPV6_MSG)"
    );
    let address = address.address.to_string();
    let dns = DNS.to_string();
    let want = [
        ("ifname", WAN_IF),
        ("address", address.as_str()),
        ("nameserver", dns.as_str()),
        ("nameserver1", ""),
        ("domainName", DOMAIN),
        ("sitePrefix", site_prefix.as_str()),
        ("prefixPltime", "3000"),
        ("prefixVltime", "4000"),
        ("addrAssigned", "1"),
        ("prefixAssigned", "1"),
        ("domainNameAssigned", "1"),
        ("mapInfo.brIPv6Prefix", "2001:db8:ffff::/64"),
        ("mapInfo.ruleIPv4Prefix", "192.0.2.0"),
        ("mapInfo.ruleIPv6Prefix", "2001:db8::/40"),
        ("mapInfo.pdIPv6Prefix", site_prefix.as_str()),
        ("mapInfo.iapdPrefixLen", "56"),
        ("mapInfo.eaLen", "16"),
        ("mapInfo.psidOffset", "6"),
        ("mapInfo.psidLen", "8"),
        ("mapInfo.psid", psid.as_str()),
        ("mapInfo.ipv4Len", "24"),
        ("mapInfo.ipv6Len", "40"),
        ("mapInfo.ratio", "256"),
        ("mapInfo.isFMR", "1"),
    ];
    for (field, value) in want {
        assert_eq!(
            lease.get(&format!("lease.{field}")),
            Some(value),
            "LeaseInfo.{field}"
        );
    }

    // The D-Bus Event of the same lease carries the same fields by name.
    let signal = dbus.wait_for("LeaseUpdated", EVENT_WAIT, |e| {
        e.data.get("LeaseInfo.prefixAssigned").map(String::as_str) == Some("1")
            && e.data.get("LeaseInfo.addrAssigned").map(String::as_str) == Some("1")
    });
    rbus::assert_named_lease(&signal, "Device.DHCPv6.Client.1", &want);
    assert_eq!(
        signal.data.get("address").map(String::as_str),
        Some(address.as_str()),
        "the Event's existing keys stay"
    );

    // A get of Events answers with the current lease, as the C manager's getDataHandler does.
    let current = client.run(&["getevents", EVENTS]);
    let current = String::from_utf8_lossy(&current.stdout).into_owned();
    assert!(
        current.contains("MsgType=3")
            && current.contains(&format!("lease.sitePrefix={site_prefix}"))
            && current.contains("lease.prefixVltime=4000"),
        "get {EVENTS}: {current}"
    );

    // WanManager_StopDhcpv6Client: Enable=false, then unsubscribe.
    rbus::stop_like_wan_manager(&client, CLIENT, events);
}
