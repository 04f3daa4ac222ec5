//! Unit tests for [`parse_event`], anchored on real dibbler-client 1.0.1 environment dumps.

use dhcpmgr_lab::Rng;

use super::*;

/// `add` env observed on this machine from dibbler-client 1.0.1 against Kea 2.2 with
/// `option 95 hex` in client.conf, verbatim (note the trailing spaces dibbler leaves after
/// SRV_OPTION23 and SRV_OPTION24).
const OBSERVED_ADD: &[(&str, &str)] = &[
    ("ADDR1", "2001:db8:1::100"),
    ("ADDR1PREF", "3000"),
    ("ADDR1VALID", "4000"),
    ("CLNT_MESSAGE", "REQUEST"),
    ("CLNT_OPTION6", "[generic]"),
    ("CLNT_OPTION8", "0"),
    ("DOWNLINK_PREFIX_IFACES", ""),
    ("IFACE", "erouter0"),
    ("IFINDEX", "2"),
    ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    ("PREFIX1", "2001:db8:12::"),
    ("PREFIX1LEN", "56"),
    ("PREFIX1PREF", "3000"),
    ("PREFIX1VALID", "4000"),
    ("REMOTE_ADDR", "ff02::1:2"),
    ("SRV_MESSAGE", "REPLY"),
    ("SRV_OPTION1", "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
    ("SRV_OPTION23", "2001:db8:1::53 "),
    ("SRV_OPTION24", "lab.example "),
    ("SRV_OPTION2", "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
    ("SRV_OPTION95", S46_PAYLOAD),
];

/// Option 95 (S46 MAP-E container) payload as dibbler renders it.
const S46_PAYLOAD: &str = "00:59:00:15:01:10:18:c0:00:02:00:28:20:01:0d:b8:00:00:5d:00:04:\
                           06:00:00:00:00:5b:00:09:40:20:01:0d:b8:ff:ff:00:00";

/// The `add` dump in shared/reference/client_script_env.md, verbatim (the document elides the
/// DUIDs with `…`; they are passed through untouched anyway).
const REFERENCE_ADD: &[(&str, &str)] = &[
    ("ADDR1", "2001:db8:1::100"),
    ("ADDR1PREF", "3000"),
    ("ADDR1VALID", "4000"),
    ("CLNT_MESSAGE", "REQUEST"),
    ("CLNT_OPTION6", "[generic]"),
    ("CLNT_OPTION8", "0"),
    ("DOWNLINK_PREFIXES", ""),
    ("DOWNLINK_PREFIX_IFACES", "[none]"),
    ("IFACE", "veth-c"),
    ("IFINDEX", "2"),
    ("PREFIX1", "2001:db8:12:3400::"),
    ("PREFIX1LEN", "56"),
    ("PREFIX1PREF", "3000"),
    ("PREFIX1VALID", "4000"),
    ("REMOTE_ADDR", "ff02::1:2"),
    ("SRV_MESSAGE", "REPLY"),
    ("SRV_OPTION1", "00:01:00:01:…"),
    ("SRV_OPTION2", "00:01:00:01:…"),
    ("SRV_OPTION23", "2001:db8:1::53 "),
    ("SRV_OPTION24", "lab.example "),
    ("SRV_OPTION95", S46_PAYLOAD),
];

/// A renewal of the delegated prefix alone (IA_NA and IA_PD renew in separate transactions):
/// PREFIX1 from the server's REPLY, PREFIX2 the same prefix from the client's own RENEW. The
/// client-side lifetimes differ here only so the test can tell which occurrence was kept.
const RENEW_PD: &[(&str, &str)] = &[
    ("CLNT_MESSAGE", "RENEW"),
    ("CLNT_OPTION1", "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
    ("CLNT_OPTION2", "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
    ("CLNT_OPTION8", "0"),
    ("IFACE", "erouter0"),
    ("IFINDEX", "2"),
    ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    ("PREFIX1", "2001:db8:12::"),
    ("PREFIX1LEN", "56"),
    ("PREFIX1PREF", "3000"),
    ("PREFIX1VALID", "4000"),
    ("PREFIX2", "2001:db8:12::"),
    ("PREFIX2LEN", "56"),
    ("PREFIX2PREF", "1500"),
    ("PREFIX2VALID", "2500"),
    ("REMOTE_ADDR", "fe80::8406:d3ff:fee2:cdf7"),
    ("SRV_MESSAGE", "REPLY"),
    ("SRV_OPTION1", "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
    ("SRV_OPTION2", "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
    ("SRV_OPTION23", "2001:db8:1::53 "),
    ("SRV_OPTION24", "lab.example "),
];

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with(base: &[(&str, &str)], changes: &[(&str, Option<&str>)]) -> BTreeMap<String, String> {
    let mut e = env(base);
    for (k, v) in changes {
        match v {
            Some(v) => e.insert(k.to_string(), v.to_string()),
            None => e.remove(*k),
        };
    }
    e
}

fn observed_with(changes: &[(&str, Option<&str>)]) -> BTreeMap<String, String> {
    with(OBSERVED_ADD, changes)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn addr(a: &str, preferred: u32, valid: u32) -> V6Address {
    V6Address {
        address: v6(a),
        preferred,
        valid,
    }
}

fn prefix(p: &str, length: u8, preferred: u32, valid: u32) -> V6Prefix {
    V6Prefix {
        prefix: v6(p),
        length,
        preferred,
        valid,
    }
}

fn options(pairs: &[(u16, &str)]) -> BTreeMap<u16, String> {
    pairs.iter().map(|&(c, v)| (c, v.to_string())).collect()
}

fn invalid_var(err: EnvError) -> String {
    match err {
        EnvError::Invalid { var, .. } => var,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn observed_event(kind: V6EventKind) -> V6Event {
    V6Event {
        interface: "erouter0".into(),
        kind,
        addresses: vec![addr("2001:db8:1::100", 3000, 4000)],
        prefixes: vec![prefix("2001:db8:12::", 56, 3000, 4000)],
        server_options: options(&[
            (1, "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
            (2, "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
            (23, "2001:db8:1::53"),
            (24, "lab.example"),
            (95, S46_PAYLOAD),
        ]),
        remote_addr: Some(v6("ff02::1:2")),
        client_message: Some("REQUEST".into()),
        server_message: Some("REPLY".into()),
        ia_na: None,
        ia_pd: None,
    }
}

#[test]
fn observed_add_dump_parses_exactly() {
    let event = parse_event("add", &env(OBSERVED_ADD)).unwrap();
    assert_eq!(event, observed_event(V6EventKind::Add));
}

#[test]
fn reference_add_dump_parses_exactly() {
    let event = parse_event("add", &env(REFERENCE_ADD)).unwrap();
    assert_eq!(
        event,
        V6Event {
            interface: "veth-c".into(),
            kind: V6EventKind::Add,
            addresses: vec![addr("2001:db8:1::100", 3000, 4000)],
            prefixes: vec![prefix("2001:db8:12:3400::", 56, 3000, 4000)],
            server_options: options(&[
                (1, "00:01:00:01:…"),
                (2, "00:01:00:01:…"),
                (23, "2001:db8:1::53"),
                (24, "lab.example"),
                (95, S46_PAYLOAD),
            ]),
            remote_addr: Some(v6("ff02::1:2")),
            client_message: Some("REQUEST".into()),
            server_message: Some("REPLY".into()),
            ia_na: None,
            ia_pd: None,
        }
    );
}

#[test]
fn renew_update_keeps_one_prefix_with_the_servers_lifetimes() {
    let event = parse_event("update", &env(RENEW_PD)).unwrap();
    assert_eq!(
        event,
        V6Event {
            interface: "erouter0".into(),
            kind: V6EventKind::Update,
            // A prefix-only renewal: no address here is not a lost address.
            addresses: Vec::new(),
            prefixes: vec![prefix("2001:db8:12::", 56, 3000, 4000)],
            server_options: options(&[
                (1, "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
                (2, "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
                (23, "2001:db8:1::53"),
                (24, "lab.example"),
            ]),
            remote_addr: Some(v6("fe80::8406:d3ff:fee2:cdf7")),
            client_message: Some("RENEW".into()),
            server_message: Some("REPLY".into()),
            ia_na: None,
            ia_pd: None,
        }
    );
    // A server withdrawing the prefix (valid 0) wins over the client's own copy.
    let revoked = with(
        RENEW_PD,
        &[("PREFIX1PREF", Some("0")), ("PREFIX1VALID", Some("0"))],
    );
    assert_eq!(
        parse_event("update", &revoked).unwrap().prefixes,
        [prefix("2001:db8:12::", 56, 0, 0)]
    );
}

#[test]
fn duplicates_are_dropped_by_address_and_by_prefix_and_length() {
    let e = observed_with(&[
        ("ADDR2", Some("2001:db8:1::100")),
        ("ADDR2PREF", Some("1")),
        ("ADDR2VALID", Some("2")),
        ("ADDR3", Some("2001:db8:1::101")),
        ("ADDR3PREF", Some("5")),
        ("ADDR3VALID", Some("6")),
        // Same text, other spelling: still the same address.
        ("ADDR4", Some("2001:0db8:0001:0000::0100")),
        ("ADDR4PREF", Some("7")),
        ("ADDR4VALID", Some("8")),
        ("PREFIX2", Some("2001:db8:12::")),
        ("PREFIX2LEN", Some("56")),
        ("PREFIX2PREF", Some("1")),
        ("PREFIX2VALID", Some("2")),
        // Same bits, other length: a different delegation.
        ("PREFIX3", Some("2001:db8:12::")),
        ("PREFIX3LEN", Some("48")),
        ("PREFIX3PREF", Some("5")),
        ("PREFIX3VALID", Some("6")),
    ]);
    let event = parse_event("add", &e).unwrap();
    assert_eq!(
        event.addresses,
        [
            addr("2001:db8:1::100", 3000, 4000),
            addr("2001:db8:1::101", 5, 6)
        ]
    );
    assert_eq!(
        event.prefixes,
        [
            prefix("2001:db8:12::", 56, 3000, 4000),
            prefix("2001:db8:12::", 48, 5, 6)
        ]
    );
}

#[test]
fn indices_may_have_gaps_and_sort_numerically() {
    let mut e = observed_with(&[("ADDR1", None), ("PREFIX1", None)]);
    for (n, last) in [(10, "a"), (3, "3"), (2, "2")] {
        e.insert(format!("ADDR{n}"), format!("2001:db8:1::{last}"));
        e.insert(format!("ADDR{n}PREF"), n.to_string());
        e.insert(format!("ADDR{n}VALID"), n.to_string());
        e.insert(format!("PREFIX{n}"), format!("2001:db8:{last}::"));
        e.insert(format!("PREFIX{n}LEN"), "48".into());
        e.insert(format!("PREFIX{n}PREF"), n.to_string());
        e.insert(format!("PREFIX{n}VALID"), n.to_string());
    }
    let event = parse_event("add", &e).unwrap();
    assert_eq!(
        event.addresses,
        [
            addr("2001:db8:1::2", 2, 2),
            addr("2001:db8:1::3", 3, 3),
            addr("2001:db8:1::a", 10, 10)
        ]
    );
    assert_eq!(
        event.prefixes,
        [
            prefix("2001:db8:2::", 48, 2, 2),
            prefix("2001:db8:3::", 48, 3, 3),
            prefix("2001:db8:a::", 48, 10, 10)
        ]
    );
}

#[test]
fn every_kind_reads_the_same_variables_and_delete_keeps_released_leases() {
    for (arg, kind) in [
        ("add", V6EventKind::Add),
        ("update", V6EventKind::Update),
        ("delete", V6EventKind::Delete),
        ("del", V6EventKind::Delete),
        ("expire", V6EventKind::Expire),
    ] {
        assert_eq!(
            parse_event(arg, &env(OBSERVED_ADD)).unwrap(),
            observed_event(kind)
        );
    }
    let only_if = env(&[("IFACE", "erouter0")]);
    let bare = parse_event("delete", &only_if).unwrap();
    assert_eq!(
        bare,
        V6Event {
            interface: "erouter0".into(),
            kind: V6EventKind::Delete,
            addresses: Vec::new(),
            prefixes: Vec::new(),
            server_options: BTreeMap::new(),
            remote_addr: None,
            client_message: None,
            server_message: None,
            ia_na: None,
            ia_pd: None,
        }
    );
}

#[test]
fn unknown_event_missing_or_bad_iface_are_rejected() {
    for arg in ["expired", "", "ADD", "add ", "release", "deleted"] {
        let err = parse_event(arg, &env(OBSERVED_ADD)).unwrap_err();
        assert_eq!(err, EnvError::UnknownEvent(arg.into()));
    }
    assert!(parse_event("release", &env(OBSERVED_ADD))
        .unwrap_err()
        .to_string()
        .contains("\"release\""));
    for arg in ["add", "delete"] {
        let err = parse_event(arg, &observed_with(&[("IFACE", None)])).unwrap_err();
        assert_eq!(err, EnvError::Missing("IFACE".into()));
        assert!(err.to_string().contains("`IFACE`"));
    }
    for bad in ["", "a/b", "eth 0", "..", "eth0:1", "sixteen-chars-xx"] {
        let err = parse_event("add", &observed_with(&[("IFACE", Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err), "IFACE", "{bad:?}");
    }
}

#[test]
fn rdk_ia_parameters_are_read_when_present() {
    let rdk = observed_with(&[
        ("ADDR1IAID", Some("11")),
        ("ADDR1T1", Some("1800")),
        ("ADDR1T2", Some("2880")),
        ("PREFIX1IAID", Some("12")),
        ("PREFIX1T2", Some("3000")),
    ]);
    let event = parse_event("update", &rdk).unwrap();
    assert_eq!(
        event.ia_na,
        Some(IaParams {
            iaid: Some(11),
            t1: Some(1800),
            t2: Some(2880)
        })
    );
    assert_eq!(
        event.ia_pd,
        Some(IaParams {
            iaid: Some(12),
            t1: None,
            t2: Some(3000)
        })
    );
    // They do not turn into addresses or prefixes of their own.
    assert_eq!(
        event.addresses,
        observed_event(V6EventKind::Update).addresses
    );
    assert_eq!(event.prefixes, observed_event(V6EventKind::Update).prefixes);
    let upstream = parse_event("update", &env(OBSERVED_ADD)).unwrap();
    assert_eq!((upstream.ia_na, upstream.ia_pd), (None, None));
    // Malformed values are left out rather than costing the lease.
    for (var, bad) in [
        ("ADDR1IAID", "-1"),
        ("PREFIX1T1", "4294967296"),
        ("ADDR1T2", "1 "),
    ] {
        let event = parse_event("add", &observed_with(&[(var, Some(bad))])).unwrap();
        assert_eq!((event.ia_na, event.ia_pd), (None, None), "{var}={bad:?}");
    }
    let mixed = parse_event(
        "add",
        &observed_with(&[("ADDR1IAID", Some("x")), ("ADDR1T1", Some("60"))]),
    )
    .unwrap();
    assert_eq!(
        mixed.ia_na,
        Some(IaParams {
            iaid: None,
            t1: Some(60),
            t2: None
        })
    );
}

#[test]
fn addresses_need_both_lifetimes() {
    for var in ["ADDR1PREF", "ADDR1VALID"] {
        let err = parse_event("add", &observed_with(&[(var, None)])).unwrap_err();
        assert_eq!(err, EnvError::Missing(var.into()));
        assert!(err.to_string().contains(&format!("`{var}`")), "{err}");
        for bad in [
            "",
            "-1",
            "+5",
            " 3000",
            "3000 ",
            "4294967296",
            "0x10",
            "3e3",
        ] {
            let err = parse_event("add", &observed_with(&[(var, Some(bad))])).unwrap_err();
            assert!(err.to_string().contains(&format!("`{var}`")), "{err}");
            assert_eq!(invalid_var(err), var, "{var}={bad:?}");
        }
    }
    let edge = observed_with(&[("ADDR1PREF", Some("0")), ("ADDR1VALID", Some("4294967295"))]);
    assert_eq!(
        parse_event("add", &edge).unwrap().addresses,
        [addr("2001:db8:1::100", 0, u32::MAX)]
    );
}

#[test]
fn addresses_must_be_ipv6() {
    for bad in [
        "",
        "2001:db8::g",
        "192.0.2.1",
        "fe80::1%erouter0",
        "2001:db8::1/64",
        " 2001:db8::1",
    ] {
        let err = parse_event("add", &observed_with(&[("ADDR1", Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err), "ADDR1", "{bad:?}");
    }
    let err = parse_event(
        "add",
        &observed_with(&[("PREFIX1", Some("2001:db8:12::/56"))]),
    )
    .unwrap_err();
    assert_eq!(invalid_var(err), "PREFIX1");
}

#[test]
fn prefixes_need_length_and_both_lifetimes() {
    for var in ["PREFIX1LEN", "PREFIX1PREF", "PREFIX1VALID"] {
        let err = parse_event("add", &observed_with(&[(var, None)])).unwrap_err();
        assert_eq!(err, EnvError::Missing(var.into()));
        for bad in ["", "-1", "+5", "56 ", "x"] {
            let err = parse_event("add", &observed_with(&[(var, Some(bad))])).unwrap_err();
            assert_eq!(invalid_var(err), var, "{var}={bad:?}");
        }
    }
    for bad in ["129", "255", "256", "65535"] {
        let err = parse_event("add", &observed_with(&[("PREFIX1LEN", Some(bad))])).unwrap_err();
        assert_eq!(invalid_var(err), "PREFIX1LEN", "{bad}");
    }
    for (p, len) in [
        ("::", "0"),
        ("2001:db8:1200::", "40"),
        ("2001:db8:12::1", "128"),
        ("2001:db8:12:ff00::", "56"),
    ] {
        let e = observed_with(&[("PREFIX1", Some(p)), ("PREFIX1LEN", Some(len))]);
        let got = parse_event("add", &e).unwrap().prefixes;
        assert_eq!(got, [prefix(p, len.parse().unwrap(), 3000, 4000)]);
    }
}

#[test]
fn prefix_bits_beyond_the_length_are_rejected() {
    for (p, len) in [
        ("2001:db8:12:3401::", "56"),
        ("2001:db8:12::1", "64"),
        ("2001:db8:12::", "0"),
        ("2001:db8:12:3400::", "48"),
    ] {
        let e = observed_with(&[("PREFIX1", Some(p)), ("PREFIX1LEN", Some(len))]);
        let err = parse_event("add", &e).unwrap_err();
        assert!(err.to_string().contains("beyond"), "{err}");
        assert_eq!(invalid_var(err), "PREFIX1", "{p}/{len}");
    }
}

#[test]
fn lone_companions_and_names_outside_dibblers_format_are_ignored() {
    let e = observed_with(&[
        ("ADDR2PREF", Some("1")),
        ("ADDR2VALID", Some("junk")),
        ("PREFIX5LEN", Some("999")),
        ("ADDR0", Some("junk")),
        ("ADDR01", Some("junk")),
        ("ADDR", Some("junk")),
        ("ADDRx", Some("junk")),
        ("ADDR-1", Some("junk")),
        ("ADDR+1", Some("junk")),
        ("ADDR4294967296", Some("junk")),
        ("PREFIX0", Some("junk")),
        ("PREFIX007", Some("junk")),
        ("addr1", Some("junk")),
        ("SRV_OPTION0", Some("x")),
        ("SRV_OPTION023", Some("x")),
        ("SRV_OPTION65536", Some("x")),
        ("SRV_OPTION", Some("x")),
        ("SRV_OPTIONx", Some("x")),
        ("SRV_OPTION-1", Some("x")),
        ("srv_option7", Some("x")),
        ("CLNT_OPTION23", Some("2001:db8::1 ")),
        ("CLNT_OPTION25", Some("x")),
    ]);
    assert_eq!(
        parse_event("add", &e).unwrap(),
        observed_event(V6EventKind::Add)
    );
}

#[test]
fn process_environment_never_reaches_the_event() {
    let e = observed_with(&[
        ("HOME", Some("/root")),
        ("SHELL", Some("/bin/sh")),
        ("PWD", Some("/")),
        ("TZ", Some("UTC")),
        ("DHCPMGR_CLIENT", Some("wan")),
        ("DHCPMGR_SOCKET", Some("/run/x.sock")),
        ("DHCPMGR_SPOOL_DIR", Some("/run/spool")),
        ("DOWNLINK_PREFIXES", Some("2001:db8:12:1::/64 ")),
        ("DOWNLINK_PREFIX_IFACES", Some("brlan0 ")),
        ("IFINDEX", Some("not-a-number")),
        ("interface", Some("veth-c")),
        ("ip", Some("192.0.2.1")),
    ]);
    let event = parse_event("add", &e).unwrap();
    assert_eq!(event, observed_event(V6EventKind::Add));
}

#[test]
fn server_options_are_trimmed_and_placeholders_dropped() {
    let e = observed_with(&[
        ("SRV_OPTION23", Some("2001:db8:1::53 2001:db8:1::54 ")),
        ("SRV_OPTION24", Some(" lab.example other.example \n")),
        ("SRV_OPTION17", Some("[generic]")),
        ("SRV_OPTION21", Some(" [generic] ")),
        ("SRV_OPTION31", Some("")),
        ("SRV_OPTION32", Some("   ")),
        ("SRV_OPTION82", Some("3600")),
        ("SRV_OPTION65535", Some("00:ff")),
        ("SRV_OPTION13", Some("[generic] x")),
    ]);
    let got = parse_event("add", &e).unwrap().server_options;
    assert_eq!(
        got,
        options(&[
            (1, "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
            (2, "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
            (13, "[generic] x"),
            (23, "2001:db8:1::53 2001:db8:1::54"),
            (24, "lab.example other.example"),
            (82, "3600"),
            (95, S46_PAYLOAD),
            (65535, "00:ff"),
        ])
    );
}

#[test]
fn remote_addr_and_messages_are_optional() {
    let e = observed_with(&[
        ("REMOTE_ADDR", None),
        ("CLNT_MESSAGE", None),
        ("SRV_MESSAGE", Some("")),
    ]);
    let event = parse_event("add", &e).unwrap();
    assert_eq!(
        (
            event.remote_addr,
            event.client_message,
            event.server_message
        ),
        (None, None, None)
    );
    let empty = observed_with(&[("REMOTE_ADDR", Some(""))]);
    assert_eq!(parse_event("add", &empty).unwrap().remote_addr, None);
    for bad in ["192.0.2.1", "fe80::1%erouter0", "server", "ff02::1:2 "] {
        let err = parse_event("add", &observed_with(&[("REMOTE_ADDR", Some(bad))])).unwrap_err();
        assert!(err.to_string().contains("`REMOTE_ADDR`"), "{err}");
        assert_eq!(invalid_var(err), "REMOTE_ADDR", "{bad:?}");
    }
}

#[test]
fn error_values_are_clipped_to_one_short_line() {
    let huge = "9".repeat(100_000);
    for var in ["ADDR1", "ADDR1PREF", "PREFIX1LEN", "REMOTE_ADDR", "IFACE"] {
        let msg = parse_event("add", &observed_with(&[(var, Some(&huge))]))
            .unwrap_err()
            .to_string();
        assert!(
            msg.len() < 400 && !msg.contains('\n'),
            "{var}: {} bytes",
            msg.len()
        );
    }
    let msg = parse_event(&"ü".repeat(1000), &env(OBSERVED_ADD))
        .unwrap_err()
        .to_string();
    assert!(msg.len() < 400);
    let msg = parse_event("add", &observed_with(&[("ADDR1", Some("x\ny"))]))
        .unwrap_err()
        .to_string();
    assert!(!msg.contains('\n'), "{msg}");
}

/// Mostly near-miss fragments of real values, sometimes arbitrary characters.
fn random_value(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "2001:db8:12::",
        "2001:db8:1::100",
        "::",
        ":",
        "::1",
        "ff02::1:2",
        "%eth0",
        "0",
        "56",
        "128",
        "129",
        "4294967295",
        "4294967296",
        "ffff",
        "g",
        "[generic]",
        "00:01",
        " ",
        "\n",
        "\0",
        "-",
        "+",
        "ü",
        "🦀",
        "",
    ];
    rng.near_miss(PIECES)
}

/// A dibbler-like variable name, sometimes with an odd index.
fn random_name(rng: &mut Rng) -> String {
    const STEMS: &[&str] = &[
        "ADDR",
        "PREFIX",
        "SRV_OPTION",
        "CLNT_OPTION",
        "IFACE",
        "REMOTE_ADDR",
        "CLNT_MESSAGE",
        "SRV_MESSAGE",
    ];
    const SUFFIXES: &[&str] = &["", "", "PREF", "VALID", "LEN"];
    let stem = STEMS[rng.below(STEMS.len())];
    if !stem.ends_with("ADDR") && !stem.starts_with("PREFIX") && !stem.ends_with("OPTION") {
        return stem.to_string();
    }
    let n = match rng.below(4) {
        0 => (rng.next_u64() % 100_000).to_string(),
        1 => String::new(),
        _ => (1 + rng.below(3)).to_string(),
    };
    format!("{stem}{n}{}", SUFFIXES[rng.below(SUFFIXES.len())])
}

#[test]
fn random_values_never_panic() {
    const ARGS: &[&str] = &["add", "update", "delete", "expire"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for _ in 0..4_000 {
        let mut e = env(OBSERVED_ADD);
        for _ in 0..1 + rng.below(3) {
            let name = random_name(&mut rng);
            let value = random_value(&mut rng);
            e.insert(name, value);
        }
        let arg = ARGS[rng.below(ARGS.len())];
        if let Ok(event) = parse_event(arg, &e) {
            parsed += 1;
            assert_eq!(event.kind.as_str(), arg);
            // Whatever got in, nothing is listed twice.
            let addrs: BTreeSet<_> = event.addresses.iter().map(|a| a.address).collect();
            assert_eq!(addrs.len(), event.addresses.len());
            let prefixes: BTreeSet<_> = event
                .prefixes
                .iter()
                .map(|p| (p.prefix, p.length))
                .collect();
            assert_eq!(prefixes.len(), event.prefixes.len());
            assert!(event.prefixes.iter().all(|p| p.length <= 128));
            assert!(event
                .server_options
                .values()
                .all(|v| !v.is_empty() && v != "[generic]" && v.trim() == v));
        }
    }
    // The fixture stays valid often enough that both paths are exercised.
    assert!(parsed > 100 && parsed < 4_000, "{parsed}");
}
