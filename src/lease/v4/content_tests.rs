use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dhcpmgr_ipc::{StaticRoute, V4Lease};

use super::*;

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn base() -> V4Lease {
    V4Lease {
        lease_secs: Some(3600),
        ..V4Lease::new(ip("192.0.2.100"), 24)
    }
}

fn dropped_fields(d: &[Dropped]) -> Vec<(&'static str, usize)> {
    d.iter().map(|d| (d.field, d.count)).collect()
}

#[test]
fn address_in_any_special_range_refuses_the_lease() {
    for bad in [
        "0.1.2.3",
        "0.0.0.0",
        "127.0.0.1",
        "169.254.1.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        let lease = V4Lease::new(ip(bad), 24);
        assert_eq!(
            checked(&lease).map(|_| ()),
            Err(LeaseError::BadAddress(ip(bad))),
            "{bad}"
        );
    }
}

#[test]
fn prefixes_shorter_than_8_or_longer_than_32_refuse_the_lease() {
    for len in [0, 1, 7, 33, 99] {
        let lease = V4Lease::new(ip("10.0.0.5"), len);
        assert_eq!(checked(&lease).map(|_| ()), Err(LeaseError::BadPrefix(len)));
    }
    assert!(checked(&V4Lease::new(ip("10.0.0.5"), 8)).is_ok());
    assert!(checked(&V4Lease::new(ip("10.0.0.5"), 32)).is_ok());
}

#[test]
fn unusable_routers_are_dropped_and_the_rest_kept_in_order() {
    let lease = V4Lease {
        routers: [
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "192.0.2.100",
            "192.0.2.255",
        ]
        .map(ip)
        .into_iter()
        .chain([ip("224.0.0.1"), ip("192.0.2.2"), ip("192.0.2.1")])
        .collect(),
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out.routers, [ip("192.0.2.1"), ip("192.0.2.2")]);
    let total: usize = dropped.iter().map(|d| d.count).sum();
    assert_eq!(total, 6, "{dropped:?}");
    assert!(dropped.iter().all(|d| d.field == "routers"));
    assert!(dropped
        .iter()
        .any(|d| d.why.contains("own address") && d.example == "192.0.2.100"));
}

#[test]
fn unusable_dns_and_ntp_servers_are_dropped() {
    let lease = V4Lease {
        dns_servers: ["0.0.0.0", "224.0.0.1", "127.0.0.1", "198.51.100.53"]
            .map(ip)
            .to_vec(),
        ntp_servers: ["127.0.0.53", "198.51.100.123"].map(ip).to_vec(),
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out.dns_servers, [ip("198.51.100.53")]);
    assert_eq!(out.ntp_servers, [ip("198.51.100.123")]);
    let count = |field| {
        dropped
            .iter()
            .filter(|d| d.field == field)
            .map(|d| d.count)
            .sum::<usize>()
    };
    assert_eq!((count("dns"), count("ntpsrv")), (3, 1));
}

#[test]
fn lists_are_capped_and_fit_their_tr181_length() {
    let many: Vec<Ipv4Addr> = (1..=250).map(|i| Ipv4Addr::new(198, 51, 100, i)).collect();
    let lease = V4Lease {
        routers: many
            .iter()
            .map(|a| Ipv4Addr::new(192, 0, 2, a.octets()[3]))
            .collect(),
        dns_servers: many.clone(),
        ntp_servers: many,
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out.routers.len(), MAX_ROUTERS);
    assert_eq!(out.dns_servers.len(), MAX_DNS_SERVERS);
    assert_eq!(out.ntp_servers.len(), MAX_NTP_SERVERS);
    // The lease's own address (.100) is one of the 250 routers, but beyond the cap.
    assert!(
        dropped_fields(&dropped).contains(&("dns", 242)),
        "{dropped:?}"
    );
    let longest = "255.255.255.255,".repeat(MAX_DNS_SERVERS);
    assert!(
        longest.len() - 1 <= 256,
        "TR-181 lists are at most 256 characters"
    );
}

#[test]
fn server_id_broadcast_and_mtu_outside_their_role_are_dropped() {
    let lease = V4Lease {
        server_id: Some(ip("0.0.0.0")),
        broadcast: Some(ip("192.0.2.127")),
        mtu: Some(68),
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!((out.server_id, out.broadcast, out.mtu), (None, None, None));
    assert_eq!(dropped.len(), 3);
    let good = V4Lease {
        server_id: Some(ip("192.0.2.1")),
        broadcast: Some(ip("192.0.2.255")),
        mtu: Some(1492),
        ..base()
    };
    let (out, dropped) = checked(&good).unwrap();
    assert_eq!(out, good);
    assert!(dropped.is_empty());
}

#[test]
fn static_routes_need_a_clean_destination_and_usable_gateway() {
    let route = |d: &str, len, g: &str| StaticRoute {
        destination: ip(d),
        prefix_len: len,
        gateway: ip(g),
    };
    let lease = V4Lease {
        static_routes: vec![
            route("10.0.0.0", 8, "192.0.2.1"),
            route("0.0.0.0", 0, "192.0.2.1"),
            route("10.1.0.0", 16, "0.0.0.0"),
            route("10.0.0.1", 8, "192.0.2.1"),
            route("224.0.0.0", 4, "192.0.2.1"),
            route("10.2.0.0", 16, "127.0.0.1"),
            route("10.3.0.0", 40, "192.0.2.1"),
        ],
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out.static_routes, lease.static_routes[..3]);
    assert_eq!(dropped.iter().map(|d| d.count).sum::<usize>(), 4);
    let flood = V4Lease {
        static_routes: (0..100)
            .map(|i| route(&format!("10.{i}.0.0"), 16, "192.0.2.1"))
            .collect(),
        ..base()
    };
    assert_eq!(
        checked(&flood).unwrap().0.static_routes.len(),
        MAX_STATIC_ROUTES
    );
}

#[test]
fn inconsistent_timers_are_left_to_udhcpc() {
    for (t1, t2) in [
        (Some(2000), Some(1000)),
        (None, Some(4000)),
        (Some(5000), None),
    ] {
        let lease = V4Lease {
            renewal_secs: t1,
            rebinding_secs: t2,
            ..base()
        };
        let (out, dropped) = checked(&lease).unwrap();
        assert_eq!(
            (out.renewal_secs, out.rebinding_secs),
            (None, None),
            "{t1:?} {t2:?}"
        );
        assert_eq!(dropped.len(), 1);
    }
    let fine = V4Lease {
        renewal_secs: Some(1800),
        rebinding_secs: Some(3150),
        ..base()
    };
    assert!(checked(&fine).unwrap().1.is_empty());
}

#[test]
fn names_options_and_named_variables_are_bounded() {
    let lease = V4Lease {
        domain: Some("example.net lab.example".into()),
        hostname: Some("a b".into()),
        raw_options: BTreeMap::from([
            (43, "0a0b".to_string()),
            (125, "f".repeat(MAX_OPTION_HEX + 2)),
            (224, "zz".to_string()),
        ]),
        other: (0..40)
            .map(|i| (format!("v{i:02}"), "x".repeat(if i == 3 { 300 } else { 4 })))
            .collect(),
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out.domain.as_deref(), Some("example.net lab.example"));
    assert_eq!(out.hostname, None);
    assert_eq!(out.raw_options.keys().copied().collect::<Vec<_>>(), [43]);
    assert_eq!(out.other.len(), MAX_OTHER);
    assert!(!out.other.contains_key("v03"));
    assert!(dropped_fields(&dropped).contains(&("raw option", 2)));
    let long = V4Lease {
        domain: Some("a".repeat(254)),
        ..base()
    };
    assert_eq!(checked(&long).unwrap().0.domain, None);
}

#[test]
fn a_clean_lease_passes_unchanged() {
    let lease = V4Lease {
        routers: vec![ip("192.0.2.1")],
        dns_servers: vec![ip("192.0.2.53"), ip("198.51.100.53")],
        server_id: Some(ip("192.0.2.1")),
        domain: Some("example.net".into()),
        ..base()
    };
    let (out, dropped) = checked(&lease).unwrap();
    assert_eq!(out, lease);
    assert!(dropped.is_empty());
    assert!(format!(
        "{}",
        Dropped {
            field: "dns",
            why: "are repeated".into(),
            count: 2,
            example: "192.0.2.53".into()
        }
    )
    .contains("dns: 2 value(s) are repeated"));
}
