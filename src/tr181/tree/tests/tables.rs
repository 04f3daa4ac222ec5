//! The option tables and the command booleans.

use super::*;

/// A bound client that requests options 121 and 125 (the lease carries 125) and sends 60.
fn with_options(instance: u32, alias: &str) -> V4ClientSnapshot {
    let mut client = bound(instance, alias);
    client.settings = v4_settings(
        alias,
        &format!("erouter{instance}"),
        "request_options = [121, 125]\nsent_options = [{ tag = 60, value = \"6463\" }]",
    );
    if let Some(lease) = client.lease.as_mut() {
        lease.raw_options.insert(125, "00000DE9AB".into());
    }
    client
}

#[test]
fn option_tables_show_the_configured_options() {
    let tree = tree(&[with_options(1, "wan"), client(2, "backup")]);
    let values = tree
        .get_values(
            &strings(&[
                "Device.DHCPv4.Client.1.SentOption.",
                "Device.DHCPv4.Client.1.ReqOption.",
                "Device.DHCPv4.Client.1.SentOptionNumberOfEntries",
                "Device.DHCPv4.Client.1.ReqOptionNumberOfEntries",
                "Device.DHCPv4.Client.2.ReqOptionNumberOfEntries",
            ]),
            NOW,
        )
        .expect("values");
    let got: Vec<String> = values
        .iter()
        .map(|(n, t, v)| format!("{} {t} {v}", n.trim_start_matches("Device.DHCPv4.Client.")))
        .collect();
    assert_eq!(
        got,
        [
            "1.SentOption.1.Enable boolean true",
            "1.SentOption.1.Alias string cpe-1",
            "1.SentOption.1.Tag unsignedInt 60",
            "1.SentOption.1.Value hexBinary 6463",
            "1.ReqOption.1.Enable boolean true",
            "1.ReqOption.1.Alias string cpe-1",
            "1.ReqOption.1.Order unsignedInt 1",
            "1.ReqOption.1.Tag unsignedInt 121",
            "1.ReqOption.1.Value hexBinary ",
            "1.ReqOption.2.Enable boolean true",
            "1.ReqOption.2.Alias string cpe-2",
            "1.ReqOption.2.Order unsignedInt 2",
            "1.ReqOption.2.Tag unsignedInt 125",
            "1.ReqOption.2.Value hexBinary 00000de9ab",
            "1.SentOptionNumberOfEntries unsignedInt 1",
            "1.ReqOptionNumberOfEntries unsignedInt 2",
            "2.ReqOptionNumberOfEntries unsignedInt 0",
        ]
    );
    let names = tree
        .get_names("Device.DHCPv4.Client.1.ReqOption.", true)
        .expect("names");
    assert_eq!(
        names,
        [
            ("Device.DHCPv4.Client.1.ReqOption.1.".to_string(), true),
            ("Device.DHCPv4.Client.1.ReqOption.2.".to_string(), true),
        ]
    );
    for missing in [
        "Device.DHCPv4.Client.1.ReqOption.3.Tag",
        "Device.DHCPv4.Client.1.ReqOption.0.Tag",
        "Device.DHCPv4.Client.1.SentOption.2.",
        "Device.DHCPv4.Client.2.SentOption.1.",
    ] {
        let fault = tree
            .get_values(&strings(&[missing]), NOW)
            .expect_err(missing);
        assert_eq!(fault.kind, FaultKind::InvalidParameterName, "{missing}");
    }
}

#[test]
fn command_booleans_act_on_true_and_read_back_false() {
    let tree = tree_with_v6(&[client(1, "wan")]);
    let set = |pairs: &[(&str, &str)]| plan_set(&tree, pairs);
    let v4 = |action| ClientRequest {
        client: ClientKey::V4(Instance(1)),
        action,
    };
    let v6 = |action| ClientRequest {
        client: ClientKey::V6(Instance(1)),
        action,
    };
    type Case<'a> = (&'a [(&'a str, &'a str)], Vec<ClientRequest>);
    let cases: [Case; 7] = [
        (
            &[("Device.DHCPv4.Client.1.X_RDK_Release", "true")],
            vec![v4(ClientAction::Release)],
        ),
        (
            &[("Device.DHCPv4.Client.1.X_RDK_Restart", "1")],
            vec![v4(ClientAction::Restart)],
        ),
        (
            &[("Device.DHCPv4.Client.1.Renew", "true")],
            vec![v4(ClientAction::Renew)],
        ),
        (&[("Device.DHCPv4.Client.1.X_RDK_Release", "false")], vec![]),
        (&[("Device.DHCPv6.Client.1.Renew", "0")], vec![]),
        (
            &[
                ("Device.DHCPv6.Client.1.X_RDK_Restart", "true"),
                ("Device.DHCPv6.Client.1.X_RDK_Release", "false"),
                ("Device.DHCPv6.Client.1.Renew", "true"),
            ],
            vec![v6(ClientAction::Restart), v6(ClientAction::Renew)],
        ),
        (
            &[
                ("Device.DHCPv4.Client.1.Enable", "false"),
                ("Device.DHCPv6.Client.1.X_RDK_Release", "true"),
            ],
            vec![
                v4(ClientAction::Configure(ClientConfig::V4(Box::new(
                    V4ClientConfig {
                        enable: false,
                        ..client(1, "wan").settings
                    },
                )))),
                v6(ClientAction::Release),
            ],
        ),
    ];
    for (pairs, expected) in cases {
        assert_eq!(set(pairs), Ok(expected), "{pairs:?}");
    }
    // All or nothing: a bad value anywhere and nothing is asked for.
    let fault = set(&[
        ("Device.DHCPv4.Client.1.X_RDK_Release", "true"),
        ("Device.DHCPv4.Client.1.X_RDK_Restart", "yes"),
    ])
    .expect_err("bad boolean");
    assert_eq!(fault.kind, FaultKind::InvalidParameterType);
    assert!(fault.message.contains("X_RDK_Restart"), "{fault}");
    let values = tree
        .get_values(
            &strings(&[
                "Device.DHCPv6.Client.1.Renew",
                "Device.DHCPv6.Client.1.X_RDK_Release",
                "Device.DHCPv6.Client.1.X_RDK_Restart",
            ]),
            NOW,
        )
        .expect("values");
    assert!(
        values
            .iter()
            .all(|(_, t, v)| t == "boolean" && v == "false"),
        "{values:?}"
    );
}

#[test]
fn received_options_are_option_data_in_hex() {
    let mut v6 = v6_client(1, "wan6");
    v6.received_options = BTreeMap::from([
        (2, "00:01:00:01:32:98:17:4A".to_string()),
        (23, "2001:db8:1::53 2001:db8:1::54".to_string()),
        (24, "lab.example".to_string()),
        // dibbler's placeholder for an option it cannot print: left out.
        (25, "00:01:…".to_string()),
    ]);
    let mut tree = tree(&[]);
    tree.apply(&ControllerUpdate::V6Client(Box::new(v6)), NOW);
    let values = tree
        .get_values(
            &strings(&[
                "Device.DHCPv6.Client.1.ReceivedOptionNumberOfEntries",
                "Device.DHCPv6.Client.1.ReceivedOption.",
            ]),
            NOW,
        )
        .expect("values");
    let got: Vec<String> = values
        .iter()
        .map(|(n, t, v)| {
            format!(
                "{} {t} {v}",
                n.trim_start_matches("Device.DHCPv6.Client.1.")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "ReceivedOptionNumberOfEntries unsignedInt 3",
            "ReceivedOption.1.Tag unsignedInt 2",
            "ReceivedOption.1.Value hexBinary 000100013298174a",
            "ReceivedOption.1.Server string Device.DHCPv6.Client.1.Server.1",
            "ReceivedOption.2.Tag unsignedInt 23",
            "ReceivedOption.2.Value hexBinary \
             20010db8000100000000000000000053\
             20010db8000100000000000000000054",
            "ReceivedOption.2.Server string Device.DHCPv6.Client.1.Server.1",
            "ReceivedOption.3.Tag unsignedInt 24",
            "ReceivedOption.3.Value hexBinary 036c6162076578616d706c6500",
            "ReceivedOption.3.Server string Device.DHCPv6.Client.1.Server.1",
        ]
    );
    assert_eq!(
        tree.get_names("Device.DHCPv6.Client.1.ReceivedOption.4.", false)
            .map_err(|f| f.kind),
        Err(FaultKind::InvalidParameterName)
    );
    let fault = tree
        .plan_set(&[(
            "Device.DHCPv6.Client.1.ReceivedOption.1.Tag".into(),
            "3".into(),
        )])
        .expect_err("read-only");
    assert_eq!(fault.kind, FaultKind::NotWritable);
}

#[test]
fn option_data_from_dibbler_renderings() {
    let cases = [
        (2, "00:01:AB", Some("0001ab")),
        (95, "", Some("")),
        (95, "0:01", None),
        (95, "00:0g", None),
        (95, "2001:db8::1", None),
        (23, "::1", Some("00000000000000000000000000000001")),
        (23, "00:01", Some("0001")),
        (23, "::1 nope", None),
        (24, "a.b. c", Some("0161016200016300")),
        (64, "aftr.example", Some("0461667472076578616d706c6500")),
        (24, "a..b", None),
        (24, &"x".repeat(64), None),
        (24, "", Some("")),
    ];
    for (code, text, expected) in cases {
        assert_eq!(
            values::option_data(code, text).as_deref(),
            expected,
            "{code} {text:?}"
        );
    }
}
