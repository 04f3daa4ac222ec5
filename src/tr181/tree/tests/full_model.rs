//! The whole definition against bound clients: every parameter renders a value of its type;
//! fixed values, the DHCPv6 Server and SentOption tables, RDK's RcvOption and Device.MAP.

use std::collections::BTreeSet;

use super::*;
use crate::tr181::value;

/// A bound DHCPv6 client whose last reply carried a server id, an infinite information refresh
/// time and MAP-T, with one option row to send.
fn v6_with_map(instance: u32, alias: &str) -> V6ClientSnapshot {
    let mut client = v6_client(instance, alias);
    client.settings = v6_settings(
        alias,
        "requested_options = [23, 95]\nsent_options = [{ tag = 15, value = \"0004626f7831\" }]",
    );
    client.received_options = BTreeMap::from([
        (2, "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7".to_string()),
        (23, "2001:db8:1::53".to_string()),
        (32, "ff:ff:ff:ff".to_string()),
        (95, OPTION95.to_string()),
    ]);
    client.map = Some(example_map());
    client.stats.insert("Reply", 2);
    client
}

fn full_tree() -> Tree {
    let mut v4 = bound(1, "wan");
    v4.settings = v4_settings(
        "wan",
        "erouter1",
        "request_options = [121]\nsent_options = [{ tag = 60, value = \"6463\" }]",
    );
    let mut tree = tree(&[v4]);
    tree.apply(
        &ControllerUpdate::V6Client(Box::new(v6_with_map(1, "wan6"))),
        NOW,
    );
    tree
}

fn get(tree: &Tree, name: &str) -> (String, String) {
    let values = tree.get_values(&strings(&[name]), NOW).expect(name);
    match &values[..] {
        [(_, t, v)] => (t.clone(), v.clone()),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn every_defined_parameter_renders_a_value_of_its_type() {
    let tree = full_tree();
    let def = Definition::builtin().expect("definition");
    let values = tree.get_values(&strings(&["Device."]), NOW).expect("all");
    let mut seen = BTreeSet::new();
    for (name, type_name, text) in &values {
        // The definition path of the name: instance numbers become {i}.
        let def_name = name
            .split('.')
            .map(|seg| match seg.parse::<u32>() {
                Ok(_) => "{i}",
                Err(_) => seg,
            })
            .collect::<Vec<_>>()
            .join(".");
        let (object_path, param_name) = def_name.rsplit_once('.').expect("a parameter");
        let object = def
            .object(&format!("{object_path}."))
            .unwrap_or_else(|| panic!("{name}: no object"));
        let param = object.param(param_name).expect("defined");
        assert_eq!(type_name, param.syntax.base.as_str(), "{name}");
        let canonical = value::check(name, &param.syntax, text)
            .unwrap_or_else(|f| panic!("{name} = {text:?} is not its type: {f}"));
        assert_eq!(&canonical, text, "{name} is in canonical form");
        seen.insert(def_name);
    }
    let defined: BTreeSet<String> = def
        .objects()
        .iter()
        .flat_map(|o| {
            o.params
                .iter()
                .map(move |p| format!("{}{}", o.path, p.name))
        })
        .collect();
    let missing: Vec<&String> = defined.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "parameters that rendered nothing: {missing:?}"
    );
}

#[test]
fn dhcpv6_server_rcv_option_and_map_views() {
    let tree = full_tree();
    let c = "Device.DHCPv6.Client.1.";
    let value = |name: &str| get(&tree, name).1;
    assert_eq!(value(&format!("{c}ServerNumberOfEntries")), "1");
    assert_eq!(
        value(&format!("{c}Server.1.DUID")),
        "000100013298174a8606d3e2cdf7"
    );
    assert_eq!(value(&format!("{c}Server.1.SourceAddress")), "");
    assert_eq!(
        value(&format!("{c}Server.1.InformationRefreshTime")),
        "9999-12-31T23:59:59Z"
    );
    assert_eq!(value(&format!("{c}Stats.Reply")), "2");
    assert_eq!(value(&format!("{c}Stats.Solicit")), "0");
    let supported = value(&format!("{c}SupportedOptions"));
    assert!(supported.starts_with("1,2,3,4,5,"), "{supported}");
    assert!(supported.ends_with(",64,95"), "{supported}");
    let rcv = format!("{c}X_RDKCENTRAL-COM_RcvOption.");
    assert_eq!(value(&format!("{rcv}MapTransportMode")), "MAPT");
    assert_eq!(value(&format!("{rcv}MapIpv4Address")), "192.0.2.18");
    assert_eq!(value(&format!("{rcv}MapBRPrefix")), "2001:db8:ffff::/64");
    assert_eq!(value(&format!("{rcv}MapIsFMR")), "true");
    assert_eq!(value("Device.MAP.Enable"), "true");
    assert_eq!(value("Device.MAP.DomainNumberOfEntries"), "1");
    assert_eq!(value("Device.MAP.Domain.1.TransportMode"), "Translation");
    assert_eq!(value("Device.MAP.Domain.1.DSCPMarkPolicy"), "-1");
    assert_eq!(
        value("Device.MAP.Domain.1.Rule.1.IPv4Prefix"),
        "192.0.2.0/24"
    );
    assert_eq!(value("Device.MAP.Domain.1.Rule.1.PSIDOffset"), "6");

    // Without MAP: no domain, RcvOption reads empty.
    let mut tree = tree;
    let mut plain = v6_with_map(1, "wan6");
    plain.map = None;
    tree.apply(&ControllerUpdate::V6Client(Box::new(plain)), NOW);
    assert_eq!(get(&tree, "Device.MAP.DomainNumberOfEntries").1, "0");
    assert_eq!(get(&tree, &format!("{rcv}MapRatio")).1, "0");
    assert_eq!(
        tree.get_values(&strings(&["Device.MAP.Domain.1."]), NOW)
            .map_err(|f| f.kind),
        Err(FaultKind::InvalidParameterName)
    );
    assert_eq!(
        tree.plan_add("Device.MAP.Domain.").map_err(|f| f.kind),
        Err(FaultKind::RequestDenied)
    );
}

#[test]
fn fixed_values_take_themselves_back_and_refuse_others() {
    let tree = full_tree();
    let set = |pairs: &[(&str, &str)]| {
        tree.plan_set(
            &pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let r = "Device.DHCPv4.Client.1.Retransmission.DiscoverInitialTimeout";
    assert_eq!(get(&tree, r), ("unsignedInt".into(), "2".into()));
    assert_eq!(set(&[(r, "2")]), Ok(Vec::new()));
    let fault = set(&[(r, "4")]).expect_err("udhcpc cannot");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
    assert!(fault.message.contains("udhcpc retransmits"), "{fault}");
    assert!(fault.message.contains("fixed at \"2\""), "{fault}");
    // Same value alongside a real write: only the real write reaches the controller.
    let requests = set(&[
        ("Device.DHCPv4.Client.1.DSCPMark", "0"),
        ("Device.DHCPv4.Client.1.Enable", "false"),
    ])
    .expect("writes");
    assert_eq!(requests.len(), 1);
    assert_eq!(
        set(&[("Device.DHCPv4.Client.1.PassthroughDHCPPool", "")]),
        Ok(Vec::new())
    );
    let fault = set(&[("Device.DHCPv6.Client.1.DSCPMark", "46")]).expect_err("dibbler");
    assert!(fault.message.contains("dibbler-client"), "{fault}");
    let fault = set(&[("Device.DHCPv4.Client.1.AuthenticationProtocol", "Bogus")])
        .expect_err("not in the enumeration");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
    // Fixed and refused outright (dhcpmgr cannot confirm the value).
    let fault = set(&[("Device.DHCPv6.Client.1.Retransmission.MaxWaitTime", "60")])
        .expect_err("read-only in this build");
    assert_eq!(fault.kind, FaultKind::NotWritable);
    let fault = set(&[("Device.MAP.Domain.1.Rule.1.PSID", "0")]).expect_err("MAP");
    assert_eq!(fault.kind, FaultKind::NotWritable);
}

#[test]
fn dhcpv6_sent_option_rows_are_added_written_and_deleted() {
    let mut tree = full_tree();
    let table = "Device.DHCPv6.Client.1.SentOption.";
    assert_eq!(get(&tree, &format!("{table}1.Tag")).1, "15");
    let (request, row) = added_row(tree.plan_add(table).expect("add"));
    assert_eq!(row, 2);
    let ClientAction::Configure(config) = &request.action else {
        panic!("{request:?}");
    };
    let changes = tree.note_settings(request.client, config, NOW);
    assert!(
        changes.contains(&(
            "Device.DHCPv6.Client.1.SentOptionNumberOfEntries".into(),
            "2".into()
        )),
        "{changes:?}"
    );
    assert_eq!(get(&tree, &format!("{table}2.Enable")).1, "false");
    let set = |tree: &Tree, pairs: &[(&str, &str)]| {
        tree.plan_set(
            &pairs
                .iter()
                .map(|(n, v)| (format!("{table}{n}"), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    for managed in ["1", "3", "25"] {
        let fault = set(&tree, &[("2.Tag", managed)]).expect_err("dibbler builds it");
        assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
        assert!(fault.message.contains("dibbler-client"), "{fault}");
    }
    let fault = set(&tree, &[("2.Enable", "true")]).expect_err("no tag yet");
    assert!(fault.message.contains("SentOption.2.Enable"), "{fault}");
    let fault = set(
        &tree,
        &[("2.Tag", "15"), ("2.Value", "00"), ("2.Enable", "true")],
    )
    .expect_err("Tag 15 is taken");
    assert!(fault.message.contains("already has Tag 15"), "{fault}");
    let requests = set(
        &tree,
        &[
            ("2.Tag", "16"),
            ("2.Value", "0000DE9A"),
            ("2.Enable", "true"),
        ],
    )
    .expect("complete row");
    let [ClientRequest {
        action: ClientAction::Configure(ClientConfig::V6(settings)),
        ..
    }] = &requests[..]
    else {
        panic!("{requests:?}");
    };
    let sent: Vec<(u16, String)> = settings
        .options_to_send()
        .map(|(code, value)| (code, value.to_hex()))
        .collect();
    assert_eq!(
        sent,
        [
            (15, "0004626f7831".to_string()),
            (16, "0000de9a".to_string())
        ]
    );

    let request = deleted_row(
        tree.plan_delete("Device.DHCPv6.Client.1.SentOption.1.")
            .expect("delete"),
    );
    let ClientAction::Configure(ClientConfig::V6(settings)) = &request.action else {
        panic!("{request:?}");
    };
    assert_eq!(settings.sent_options.len(), 1);
    assert_eq!(
        tree.plan_delete("Device.DHCPv6.Client.1.SentOption.9.")
            .map_err(|f| f.kind),
        Err(FaultKind::InvalidParameterName)
    );
    assert_eq!(
        tree.plan_delete("Device.DHCPv6.Client.1.Server.1.")
            .map_err(|f| f.kind),
        Err(FaultKind::RequestDenied)
    );
}
