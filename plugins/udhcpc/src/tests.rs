//! Unit tests for [`parse_event`], anchored on a real udhcpc environment dump.

use dhcpmgr_lab::Rng;

use super::*;

/// `bound` env observed from busybox 1.35.0 against Kea 2.2
/// (shared/reference/client_script_env.md), verbatim.
const OBSERVED_BOUND: &[(&str, &str)] = &[
    ("dns", "192.168.50.53 192.168.50.54"),
    ("domain", "lab.example"),
    ("interface", "veth-c"),
    ("ip", "192.168.50.100"),
    ("lease", "30"),
    ("mask", "24"),
    (
        "opt125",
        "00000de91e011c687474703a2f2f6163732e6c61622e6578616d706c653a373534372f",
    ),
    ("opt53", "05"),
    ("opt58", "00000006"),
    ("opt59", "00000014"),
    ("opt61", "01aabbccddeeff"),
    ("router", "192.168.50.1"),
    ("serverid", "192.168.50.1"),
    ("subnet", "255.255.255.0"),
    (
        "staticroutes",
        "10.0.0.0/8 192.168.50.1 0.0.0.0/0 192.168.50.1 172.16.1.0/24 192.168.50.2",
    ),
];

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn observed_with(changes: &[(&str, Option<&str>)]) -> BTreeMap<String, String> {
    let mut e = env(OBSERVED_BOUND);
    for (k, v) in changes {
        match v {
            Some(v) => e.insert(k.to_string(), v.to_string()),
            None => e.remove(*k),
        };
    }
    e
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn invalid_var(err: EnvError) -> String {
    match err {
        EnvError::Invalid { var, .. } => var,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn observed_bound_dump_parses_exactly() {
    let event = parse_event("bound", &env(OBSERVED_BOUND)).unwrap();
    let route = |d: &str, len, g: &str| StaticRoute {
        destination: ip(d),
        prefix_len: len,
        gateway: ip(g),
    };
    let expected = V4Lease {
        routers: vec![ip("192.168.50.1")],
        dns_servers: vec![ip("192.168.50.53"), ip("192.168.50.54")],
        domain: Some("lab.example".into()),
        lease_secs: Some(30),
        renewal_secs: Some(6),
        rebinding_secs: Some(20),
        server_id: Some(ip("192.168.50.1")),
        static_routes: vec![
            route("10.0.0.0", 8, "192.168.50.1"),
            route("0.0.0.0", 0, "192.168.50.1"),
            route("172.16.1.0", 24, "192.168.50.2"),
        ],
        raw_options: BTreeMap::from([
            (53, "05".into()),
            (58, "00000006".into()),
            (59, "00000014".into()),
            (61, "01aabbccddeeff".into()),
            (
                125,
                "00000de91e011c687474703a2f2f6163732e6c61622e6578616d706c653a373534372f".into(),
            ),
        ]),
        ..V4Lease::new(ip("192.168.50.100"), 24)
    };
    assert_eq!(
        event,
        V4Event {
            interface: "veth-c".into(),
            kind: V4EventKind::Bound,
            lease: Some(expected.clone()),
        }
    );
    // `renew` carries the identical set.
    let renew = parse_event("renew", &env(OBSERVED_BOUND)).unwrap();
    assert_eq!(renew.kind, V4EventKind::Renew);
    assert_eq!(renew.lease, Some(expected));
}

#[test]
fn process_environment_is_ignored_and_named_options_kept() {
    let e = observed_with(&[
        ("PATH", Some("/usr/bin:/bin")),
        ("HOME", Some("/root")),
        ("DHCPMGR_CLIENT", Some("wan")),
        ("DHCPMGR_SOCKET", Some("/run/x.sock")),
        ("timezone", Some("3600")),
        ("vendor", Some("dslforum.org")),
        ("siaddr", Some("192.168.50.1")),
        ("boot_file", Some("pxelinux.0")),
        ("message", Some("hello world")),
        ("mtu", Some("1492")),
        ("broadcast", Some("192.168.50.255")),
        ("hostname", Some("cpe-1")),
        ("ntpsrv", Some("192.168.50.123  192.168.50.124 ")),
        ("opt80", Some("")),
        ("opt43", Some("0A0B")),
    ]);
    let lease = parse_event("bound", &e).unwrap().lease.unwrap();
    assert_eq!(
        lease.other,
        env(&[
            ("boot_file", "pxelinux.0"),
            ("message", "hello world"),
            ("siaddr", "192.168.50.1"),
            ("timezone", "3600"),
            ("vendor", "dslforum.org"),
        ])
    );
    assert_eq!(lease.mtu, Some(1492));
    assert_eq!(lease.broadcast, Some(ip("192.168.50.255")));
    assert_eq!(lease.hostname.as_deref(), Some("cpe-1"));
    assert_eq!(
        lease.ntp_servers,
        [ip("192.168.50.123"), ip("192.168.50.124")]
    );
    assert_eq!(lease.raw_options.get(&80).map(String::as_str), Some(""));
    assert_eq!(lease.raw_options.get(&43).map(String::as_str), Some("0a0b"));
}

#[test]
fn events_without_lease_need_only_interface() {
    let only_if = env(&[("interface", "erouter0")]);
    for (arg, kind) in [
        ("deconfig", V4EventKind::Deconfig),
        ("nak", V4EventKind::Nak),
        ("leasefail", V4EventKind::Leasefail),
    ] {
        let expected = V4Event {
            interface: "erouter0".into(),
            kind,
            lease: None,
        };
        assert_eq!(parse_event(arg, &only_if).unwrap(), expected);
        // A NAK carries packet options; they are not a lease.
        assert_eq!(
            parse_event(arg, &observed_with(&[("interface", Some("erouter0"))])).unwrap(),
            expected
        );
    }
}

#[test]
fn missing_or_bad_interface_and_unknown_event_are_rejected() {
    for arg in ["deconfig", "bound"] {
        let err = parse_event(arg, &observed_with(&[("interface", None)])).unwrap_err();
        assert_eq!(err, EnvError::Missing("interface"));
        assert!(err.to_string().contains("`interface`"));
    }
    for bad in ["", "a/b", "eth 0", "..", "sixteen-chars-xx"] {
        let err = parse_event("deconfig", &env(&[("interface", bad)])).unwrap_err();
        assert_eq!(invalid_var(err), "interface");
    }
    let err = parse_event("expire", &env(OBSERVED_BOUND)).unwrap_err();
    assert_eq!(err, EnvError::UnknownEvent("expire".into()));
    assert!(err.to_string().contains("\"expire\""));
}

#[test]
fn bound_requires_a_valid_ip() {
    let err = parse_event("bound", &observed_with(&[("ip", None)])).unwrap_err();
    assert_eq!(err, EnvError::Missing("ip"));
    let err = parse_event("renew", &observed_with(&[("ip", Some("192.168.50.300"))])).unwrap_err();
    assert_eq!(invalid_var(err), "ip");
}

#[test]
fn prefix_comes_from_mask_or_contiguous_subnet() {
    let from_subnet = observed_with(&[("mask", None), ("subnet", Some("255.255.252.0"))]);
    let lease = parse_event("bound", &from_subnet).unwrap().lease.unwrap();
    assert_eq!(lease.prefix_len, 22);
    let from_mask = observed_with(&[("mask", Some("30")), ("subnet", None)]);
    assert_eq!(
        parse_event("bound", &from_mask)
            .unwrap()
            .lease
            .unwrap()
            .prefix_len,
        30
    );
    let all = observed_with(&[("mask", None), ("subnet", Some("255.255.255.255"))]);
    assert_eq!(
        parse_event("bound", &all)
            .unwrap()
            .lease
            .unwrap()
            .prefix_len,
        32
    );

    let none = observed_with(&[("mask", None), ("subnet", None)]);
    assert_eq!(parse_event("bound", &none).unwrap_err(), EnvError::NoPrefix);
    // busybox would compute mask=24 for this one; the subnet itself is still wrong.
    for changes in [
        [("mask", None), ("subnet", Some("255.0.255.0"))],
        [("mask", Some("24")), ("subnet", Some("255.0.255.0"))],
    ] {
        let err = parse_event("bound", &observed_with(&changes)).unwrap_err();
        assert!(err.to_string().contains("contiguous"), "{err}");
        assert_eq!(invalid_var(err), "subnet");
    }
    let err = parse_event("bound", &observed_with(&[("mask", Some("33"))])).unwrap_err();
    assert_eq!(invalid_var(err), "mask");
    let err = parse_event("bound", &observed_with(&[("mask", Some("16"))])).unwrap_err();
    assert!(err.to_string().contains("disagrees"), "{err}");
}

#[test]
fn bad_list_elements_name_the_variable() {
    for var in ["dns", "router", "ntpsrv"] {
        let e = observed_with(&[(var, Some("192.168.50.53 dns.example"))]);
        let err = parse_event("bound", &e).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("`{var}`")) && msg.contains("dns.example"),
            "{msg}"
        );
        assert_eq!(invalid_var(err), var);
    }
}

#[test]
fn scalar_fields_are_checked() {
    for (var, bad) in [
        ("lease", "-1"),
        ("lease", "4294967296"),
        ("mtu", "70000"),
        ("serverid", "x"),
        ("broadcast", "1.2.3"),
        ("domain", "evil.example\nnameserver 6.6.6.6"),
        ("hostname", "-rf"),
        ("hostname", "a b"),
    ] {
        let err = parse_event("bound", &observed_with(&[(var, Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err), var, "{var}={bad:?}");
    }
}

#[test]
fn empty_values_count_as_absent() {
    // udhcpc writes `name=` for a zero-length option.
    let e = observed_with(&[
        ("lease", Some("")),
        ("domain", Some("")),
        ("hostname", Some("")),
        ("mtu", Some("")),
        ("serverid", Some("")),
        ("router", Some("")),
        ("staticroutes", Some("")),
    ]);
    let lease = parse_event("bound", &e).unwrap().lease.unwrap();
    assert_eq!(
        (
            lease.lease_secs,
            lease.domain,
            lease.hostname,
            lease.mtu,
            lease.server_id
        ),
        (None, None, None, None, None)
    );
    assert!(lease.routers.is_empty() && lease.static_routes.is_empty());
    let no_prefix = observed_with(&[("mask", Some("")), ("subnet", Some(""))]);
    assert_eq!(
        parse_event("bound", &no_prefix).unwrap_err(),
        EnvError::NoPrefix
    );
}

#[test]
fn bad_static_routes_are_rejected() {
    for bad in [
        "10.0.0.0/8 192.168.50.1 0.0.0.0/0",
        "10.0.0.0 192.168.50.1",
        "10.0.0.0/33 192.168.50.1",
        "10.0.0/8 192.168.50.1",
        "10.0.0.0/8 gw",
    ] {
        let err = parse_event("bound", &observed_with(&[("staticroutes", Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err.clone()), "staticroutes", "{bad}");
        if bad.ends_with("0.0.0.0/0") {
            assert!(err.to_string().contains("odd"), "{err}");
        }
    }
    let empty = observed_with(&[("staticroutes", Some(""))]);
    assert!(parse_event("bound", &empty)
        .unwrap()
        .lease
        .unwrap()
        .static_routes
        .is_empty());
}

#[test]
fn raw_options_need_even_hex_and_t1_t2_need_four_bytes() {
    for (var, bad) in [("opt125", "00zz"), ("opt43", "abc"), ("opt61", "0x01")] {
        let err = parse_event("bound", &observed_with(&[(var, Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err), var);
    }
    for var in ["opt58", "opt59"] {
        let err = parse_event("bound", &observed_with(&[(var, Some("0006"))])).unwrap_err();
        assert_eq!(invalid_var(err), var);
    }
    let upper = observed_with(&[("opt58", Some("0000000A"))]);
    let lease = parse_event("bound", &upper).unwrap().lease.unwrap();
    assert_eq!(lease.renewal_secs, Some(10));
    assert_eq!(lease.raw_options[&58], "0000000a");
}

#[test]
fn option_names_outside_udhcpc_format_are_ignored() {
    let e = observed_with(&[
        ("opt0", Some("zz")),
        ("opt255", Some("zz")),
        ("opt256", Some("00")),
        ("opt053", Some("05")),
        ("opt", Some("00")),
        ("opt1x", Some("00")),
        ("optimal", Some("yes")),
    ]);
    let lease = parse_event("bound", &e).unwrap().lease.unwrap();
    assert_eq!(
        lease.raw_options.keys().copied().collect::<Vec<_>>(),
        [53, 58, 59, 61, 125]
    );
    assert!(lease.other.is_empty());
    assert_eq!(opt_code("opt1"), Some(1));
    assert_eq!(opt_code("opt254"), Some(254));
}

#[test]
fn error_values_are_clipped_to_one_short_line() {
    let huge = "9".repeat(100_000);
    let msg = parse_event("bound", &observed_with(&[("dns", Some(&huge))]))
        .unwrap_err()
        .to_string();
    assert!(
        msg.len() < 400 && !msg.contains('\n'),
        "{} bytes",
        msg.len()
    );
    let msg = parse_event(&"ü".repeat(1000), &env(OBSERVED_BOUND))
        .unwrap_err()
        .to_string();
    assert!(msg.len() < 400);
}

/// Mostly near-miss fragments of real values, sometimes arbitrary characters.
fn random_value(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "192.168.50.1",
        "0",
        "255",
        "256",
        "32",
        "33",
        "/",
        ".",
        " ",
        "  ",
        "-",
        "+",
        "ff",
        "0A",
        "z",
        "00000006",
        "4294967295",
        "4294967296",
        "\n",
        "\0",
        "ü",
        "🦀",
        "/24",
        "10.0.0.0/8",
        "",
    ];
    rng.near_miss(PIECES)
}

#[test]
fn random_values_never_panic() {
    const VARS: &[&str] = &[
        "interface",
        "ip",
        "mask",
        "subnet",
        "router",
        "dns",
        "ntpsrv",
        "lease",
        "mtu",
        "serverid",
        "broadcast",
        "staticroutes",
        "domain",
        "hostname",
        "opt58",
        "opt59",
        "opt125",
        "opt255",
        "vendor",
        "timezone",
    ];
    const ARGS: &[&str] = &["bound", "renew", "deconfig", "nak", "leasefail", "bogus"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for _ in 0..4_000 {
        let mut e = env(OBSERVED_BOUND);
        for _ in 0..1 + rng.below(3) {
            let var = VARS[rng.below(VARS.len())];
            let value = random_value(&mut rng);
            e.insert(var.to_string(), value);
        }
        let arg = ARGS[rng.below(ARGS.len())];
        if let Ok(event) = parse_event(arg, &e) {
            parsed += 1;
            assert_eq!(event.kind.as_str(), arg);
        }
    }
    // The fixture stays valid often enough that both paths are exercised.
    assert!(parsed > 100 && parsed < 4_000, "{parsed}");
}
