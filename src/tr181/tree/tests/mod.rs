use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dhcpmgr_ipc::V4Lease;

use super::values::subnet_mask;
use super::write::V4_CLIENT;
use super::*;
use crate::channels::ClientAction;
use crate::config::{Config, V4ClientConfig, V6ClientConfig};
use crate::model::ClientStatus;
use crate::model::DhcpStatus;
use crate::model::Family;

mod writes;

const NOW: BootSeconds = BootSeconds(1000);

/// The request and row number of an AddObject on an option table.
fn added_row(plan: AddPlan) -> (ClientRequest, u32) {
    match plan {
        AddPlan::Row { request, instance } => (request, instance),
        other => panic!("expected an option-table row, got {other:?}"),
    }
}

/// The request of a DeleteObject on an option-table row.
fn deleted_row(plan: DeletePlan) -> ClientRequest {
    match plan {
        DeletePlan::Row(request) => request,
        other => panic!("expected an option-table row, got {other:?}"),
    }
}

/// The settings of a DHCPv4 client as the configuration file gives them (`extra` is more TOML
/// for its table).
fn v4_settings(alias: &str, interface: &str, extra: &str) -> V4ClientConfig {
    let text =
        format!("[[dhcpv4.client]]\nalias = \"{alias}\"\ninterface = \"{interface}\"\n{extra}\n");
    Config::parse(&text).expect("config").dhcpv4_clients[0].clone()
}

fn v6_settings(alias: &str, extra: &str) -> V6ClientConfig {
    let text =
        format!("[[dhcpv6.client]]\nalias = \"{alias}\"\ninterface = \"erouter0\"\n{extra}\n");
    Config::parse(&text).expect("config").dhcpv6_clients[0].clone()
}

fn client(instance: u32, alias: &str) -> V4ClientSnapshot {
    V4ClientSnapshot {
        instance: Instance(instance),
        settings: v4_settings(alias, &format!("erouter{instance}"), "request_options = []"),
        enable: true,
        status: ClientStatus::Enabled,
        dhcp_status: DhcpStatus::Selecting,
        lease: None,
        lease_expires: None,
        stats: Default::default(),
        waiting: None,
    }
}

fn bound(instance: u32, alias: &str) -> V4ClientSnapshot {
    let mut lease = V4Lease::new(Ipv4Addr::new(192, 0, 2, 10), 24);
    lease.routers = vec![Ipv4Addr::new(192, 0, 2, 1)];
    lease.dns_servers = vec![
        Ipv4Addr::new(198, 51, 100, 53),
        Ipv4Addr::new(198, 51, 100, 54),
    ];
    lease.server_id = Some(Ipv4Addr::new(192, 0, 2, 254));
    lease.lease_secs = Some(3600);
    V4ClientSnapshot {
        dhcp_status: DhcpStatus::Bound,
        lease: Some(lease),
        lease_expires: Some(NOW.after(3600)),
        ..client(instance, alias)
    }
}

/// SetParameterValues of `pairs` planned on `tree`.
fn plan_set(tree: &Tree, pairs: &[(&str, &str)]) -> Result<Vec<ClientRequest>, Fault> {
    let values: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    tree.plan_set(&values)
}

fn tree(clients: &[V4ClientSnapshot]) -> Tree {
    let mut tree = Tree::new(Definition::builtin().expect("definition"));
    for c in clients {
        tree.apply(&ControllerUpdate::V4Client(Box::new(c.clone())), NOW);
    }
    tree
}

fn v6_client(instance: u32, alias: &str) -> V6ClientSnapshot {
    V6ClientSnapshot {
        instance: Instance(instance),
        settings: v6_settings(
            alias,
            "t1 = 1000\nrequested_options = [23, 24, 95]\nrapid_commit = false",
        ),
        enable: true,
        status: ClientStatus::Enabled,
        duid: "00010001aabbccdd02000000020a".into(),
        received_options: BTreeMap::new(),
        map: None,
        addresses: Vec::new(),
        prefixes: Vec::new(),
        stats: Default::default(),
        waiting: None,
    }
}

/// The MAP-T configuration of Kea 2.2's option 95 to dibbler-client 1.0.1 (RFC 7599's example:
/// rule 2001:db8::/40 ↔ 192.0.2.0/24, EA 16, offset 6, FMR) for the delegated prefix
/// 2001:db8:12:3400::/56: 192.0.2.18, PSID 0x34.
pub(super) fn example_map() -> crate::s46::MapConfig {
    use crate::s46::{compute, decode_colon_hex, Ipv6Prefix, S46Container};
    let Ok(S46Container::Map(container)) = decode_colon_hex(95, OPTION95) else {
        panic!("the example option 95 decodes");
    };
    let delegated = Ipv6Prefix::new("2001:db8:12:3400::".parse().expect("prefix"), 56);
    compute(&container, delegated.expect("prefix")).expect("the example computes")
}

/// Option 95 as dibbler-client renders it (Kea 2.2, observed).
const OPTION95: &str = "00:59:00:15:01:10:18:c0:00:02:00:28:20:01:0d:b8:00:00:5d:00:04:06:00:\
                        00:00:00:5b:00:09:40:20:01:0d:b8:ff:ff:00:00";

/// A tree with DHCPv4 `clients` and one DHCPv6 client `wan6`.
fn tree_with_v6(clients: &[V4ClientSnapshot]) -> Tree {
    let mut tree = tree(clients);
    tree.apply(
        &ControllerUpdate::V6Client(Box::new(v6_client(1, "wan6"))),
        NOW,
    );
    tree
}

#[test]
fn renders_dhcpv6_clients_and_their_commands() {
    let tree = tree_with_v6(&[]);
    let values = tree
        .get_values(&strings(&["Device.DHCPv6."]), NOW)
        .expect("values");
    let get = |name: &str| {
        values
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, t, v)| (t.as_str(), v.as_str()))
    };
    assert_eq!(
        get("Device.DHCPv6.ClientNumberOfEntries"),
        Some(("unsignedInt", "1"))
    );
    assert_eq!(
        get("Device.DHCPv6.Client.1.Alias"),
        Some(("string", "wan6"))
    );
    assert_eq!(
        get("Device.DHCPv6.Client.1.DUID"),
        Some(("hexBinary", "00010001aabbccdd02000000020a"))
    );
    assert_eq!(
        get("Device.DHCPv6.Client.1.SuggestedT1"),
        Some(("int", "1000"))
    );
    assert_eq!(
        get("Device.DHCPv6.Client.1.SuggestedT2"),
        Some(("int", "-1"))
    );
    assert_eq!(
        get("Device.DHCPv6.Client.1.RequestedOptions"),
        Some(("unsignedInt", "23,24,95"))
    );
    assert_eq!(
        tree.plan_operate("Device.DHCPv6.Client.1.X_RDK_Release()", &HashMap::new()),
        Ok(ClientRequest {
            client: ClientKey::V6(Instance(1)),
            action: ClientAction::Release,
        })
    );
    let mut disabled = v6_client(1, "wan6").settings;
    disabled.enable = false;
    assert_eq!(
        tree.plan_set(&[("Device.DHCPv6.Client.1.Enable".into(), "false".into())]),
        Ok(vec![ClientRequest {
            client: ClientKey::V6(Instance(1)),
            action: ClientAction::Configure(ClientConfig::V6(Box::new(disabled))),
        }])
    );
    assert_eq!(
        tree.plan_set(&[("Device.DHCPv6.Client.1.DUID".into(), "00".into())])
            .map_err(|f| f.kind),
        Err(FaultKind::NotWritable)
    );
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn renders_every_defined_client_parameter() {
    let tree = tree(&[bound(1, "wan")]);
    let values = tree
        .get_values(&strings(&["Device.DHCPv4.Client.1."]), NOW)
        .expect("values");
    let p = "Device.DHCPv4.Client.1.";
    // The client object's own parameters (Retransmission. and Stats. have a test of their own).
    let got: Vec<String> = values
        .iter()
        .filter(|(n, ..)| !n[p.len()..].contains('.'))
        .map(|(n, t, v)| format!("{n} {t} {v}"))
        .collect();
    let expected = [
        "Enable boolean true",
        "Alias string wan",
        "Interface string erouter1",
        "Status string Enabled",
        "DHCPStatus string Bound",
        "Renew boolean false",
        "IPAddress string 192.0.2.10",
        "SubnetMask string 255.255.255.0",
        "IPRouters string 192.0.2.1",
        "DNSServers string 198.51.100.53,198.51.100.54",
        "LeaseTimeRemaining int 3600",
        "DHCPServer string 192.0.2.254",
        "PassthroughEnable boolean false",
        "PassthroughDHCPPool string ",
        "AuthenticationProtocol string None",
        "DSCPMark unsignedInt 0",
        "SentOptionNumberOfEntries unsignedInt 0",
        "ReqOptionNumberOfEntries unsignedInt 0",
        "X_RDK_LinuxInterface string erouter1",
        "X_RDK_Release boolean false",
        "X_RDK_Restart boolean false",
    ]
    .map(|line| format!("{p}{line}"));
    assert_eq!(got, expected);
    let def = Definition::builtin().expect("definition");
    assert_eq!(
        got.len(),
        def.object(V4_CLIENT).expect("client").params.len()
    );
}

#[test]
fn get_values_of_full_and_partial_names() {
    let tree = tree(&[bound(1, "wan"), client(2, "backup")]);
    let count = |names: &[&str]| tree.get_values(&strings(names), NOW).map(|v| v.len());
    let value = |name: &str| {
        tree.get_values(&strings(&[name]), NOW)
            .map(|v| v.into_iter().map(|(_, _, value)| value).collect::<Vec<_>>())
    };
    assert_eq!(
        value("Device.DHCPv4.ClientNumberOfEntries"),
        Ok(strings(&["2"]))
    );
    assert_eq!(
        value("Device.DHCPv4.Client.2.IPAddress"),
        Ok(strings(&[""]))
    );
    assert_eq!(
        value("Device.DHCPv4.Client.2.LeaseTimeRemaining"),
        Ok(strings(&["0"]))
    );
    assert_eq!(
        value("Device.DHCPv4.Client.2.SubnetMask"),
        Ok(strings(&[""]))
    );
    // DHCPv4's entry count and 40 values per client (21, Retransmission 7, Stats 11,
    // X_DHCPMGR_Status 1), DHCPv6's entry count, and MAP's Enable and entry count.
    assert_eq!(count(&["Device."]), Ok(1 + 2 * 40 + 1 + 2));
    assert_eq!(count(&["Device.DHCPv4.Client."]), Ok(2 * 40));
    assert_eq!(
        count(&["Device.DHCPv4.Client.1.Alias", "Device.DHCPv4."]),
        Ok(1 + 81)
    );
    assert_eq!(count(&[]), Ok(0));
    for unknown in [
        "",
        "Device",
        "Device.DHCPv4.Client.3.",
        "Device.DHCPv4.Client.3.Alias",
        "Device.DHCPv4.Client.01.Alias",
        "Device.DHCPv4.Client.1.Nope",
        "Device.DHCPv4.Client.1.Alias.",
        "Device.DHCPv4.Client.1.Renew()",
        "Device.DHCPv4.Client.{i}.Alias",
    ] {
        let fault = tree
            .get_values(&strings(&[unknown]), NOW)
            .expect_err(unknown);
        assert_eq!(fault.kind, FaultKind::InvalidParameterName, "{unknown}");
        assert!(fault.message.starts_with(unknown), "{fault}");
    }
}

#[test]
fn lease_time_remaining_counts_down_and_infinite_is_minus_one() {
    let mut infinite = bound(2, "lan");
    infinite.lease_expires = None;
    let tree = tree(&[bound(1, "wan"), infinite]);
    let names = strings(&[
        "Device.DHCPv4.Client.1.LeaseTimeRemaining",
        "Device.DHCPv4.Client.2.LeaseTimeRemaining",
    ]);
    let values: Vec<String> = tree
        .get_values(&names, BootSeconds(1600))
        .expect("values")
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(values, ["3000", "-1"]);
}

#[test]
fn v6_status_shows_the_held_lease_counting_down_and_the_wait() {
    use crate::model::Waiting;
    use crate::model::{HeldAddress, HeldPrefix};
    use dhcpmgr_ipc::{V6Address, V6Prefix};
    let mut v6 = v6_client(1, "wan6");
    v6.addresses = vec![HeldAddress {
        lease: V6Address {
            address: "2001:db8:1::100".parse().expect("address"),
            preferred: 3000,
            valid: u32::MAX,
        },
        obtained: NOW,
    }];
    v6.prefixes = vec![HeldPrefix {
        lease: V6Prefix {
            prefix: "2001:db8:12:3400::".parse().expect("prefix"),
            length: 56,
            preferred: 3000,
            valid: 4000,
        },
        obtained: NOW,
    }];
    v6.received_options = BTreeMap::from([(23, "2001:db8:1::53 2001:db8:1::54 ".to_string())]);
    let mut tree = tree(&[]);
    let changed = tree.apply(&ControllerUpdate::V6Client(Box::new(v6.clone())), NOW);
    let status = "Device.DHCPv6.Client.1.X_DHCPMGR_Status.";
    let values = |tree: &Tree, at: BootSeconds| -> BTreeMap<String, String> {
        tree.get_values(&strings(&[status]), at)
            .expect("status values")
            .into_iter()
            .map(|(name, _, value)| (name.trim_start_matches(status).to_string(), value))
            .collect()
    };
    let later = values(&tree, BootSeconds(NOW.0 + 1000));
    let get = |name: &str| later.get(name).map(String::as_str);
    assert_eq!(get("IANAAddress"), Some("2001:db8:1::100"));
    assert_eq!(get("IANAPreferredTimeRemaining"), Some("2000"));
    assert_eq!(get("IANAValidTimeRemaining"), Some("-1"));
    assert_eq!(get("IAPDPrefix"), Some("2001:db8:12:3400::/56"));
    assert_eq!(get("IAPDPreferredTimeRemaining"), Some("2000"));
    assert_eq!(get("IAPDValidTimeRemaining"), Some("3000"));
    assert_eq!(get("DNSServers"), Some("2001:db8:1::53,2001:db8:1::54"));
    assert_eq!(get("Waiting"), Some(""));
    // Lifetimes left count down: they are not announced as changes, the lease itself is.
    let announced: Vec<&str> = changed
        .iter()
        .filter_map(|(name, _)| name.strip_prefix(status))
        .collect();
    assert_eq!(
        announced,
        ["Waiting", "IANAAddress", "IAPDPrefix", "DNSServers"]
    );
    // Run out, the lifetimes read 0; without a lease everything reads empty.
    let gone = values(&tree, BootSeconds(NOW.0 + 5000));
    assert_eq!(gone["IAPDValidTimeRemaining"], "0");
    v6.addresses.clear();
    v6.prefixes.clear();
    v6.received_options.clear();
    v6.waiting = Some(Waiting::LinkLocal("erouter0".into()));
    let changed = tree.apply(&ControllerUpdate::V6Client(Box::new(v6)), NOW);
    assert!(changed.contains(&(
        format!("{status}Waiting"),
        "waiting for link-local address on erouter0".into()
    )));
    let empty = values(&tree, NOW);
    assert_eq!(empty["IANAAddress"], "");
    assert_eq!(empty["IANAValidTimeRemaining"], "0");
    assert_eq!(empty["DNSServers"], "");
}

#[test]
fn v4_status_says_what_the_client_waits_for() {
    let mut waiting = client(1, "wan");
    waiting.waiting = Some(crate::model::Waiting::Interface("erouter0".into()));
    let tree = tree(&[waiting, client(2, "lan")]);
    let names = strings(&[
        "Device.DHCPv4.Client.1.X_DHCPMGR_Status.Waiting",
        "Device.DHCPv4.Client.2.X_DHCPMGR_Status.Waiting",
    ]);
    let values: Vec<String> = tree
        .get_values(&names, NOW)
        .expect("values")
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(values, ["waiting for erouter0", ""]);
}

#[test]
fn get_names_follows_cwmp_next_level() {
    let tree = tree(&[bound(1, "wan"), client(2, "backup")]);
    let names = |path: &str, next: bool| {
        tree.get_names(path, next).map(|v| {
            v.into_iter()
                .map(|(n, w)| format!("{n}{}", if w { " w" } else { "" }))
                .collect::<Vec<_>>()
        })
    };
    type Names = Result<Vec<&'static str>, FaultKind>;
    let cases: [(&str, bool, Names); 9] = [
        ("", true, Ok(vec!["Device."])),
        (
            "Device.",
            true,
            Ok(vec!["Device.DHCPv4.", "Device.DHCPv6.", "Device.MAP."]),
        ),
        (
            "Device.DHCPv4.",
            true,
            Ok(vec![
                "Device.DHCPv4.ClientNumberOfEntries",
                "Device.DHCPv4.Client. w",
            ]),
        ),
        (
            "Device.DHCPv4.Client.",
            true,
            Ok(vec![
                "Device.DHCPv4.Client.1. w",
                "Device.DHCPv4.Client.2. w",
            ]),
        ),
        (
            "Device.DHCPv4.Client.1.Enable",
            false,
            Ok(vec!["Device.DHCPv4.Client.1.Enable w"]),
        ),
        (
            "Device.DHCPv4.Client.1.Enable",
            true,
            Err(FaultKind::InvalidArguments),
        ),
        (
            "Device.DHCPv4.Client.1.Nope",
            false,
            Err(FaultKind::InvalidParameterName),
        ),
        (
            "Device.DHCPv4.Client.7.",
            true,
            Err(FaultKind::InvalidParameterName),
        ),
        ("Device.IP.", false, Err(FaultKind::InvalidParameterName)),
    ];
    for (path, next, expected) in cases {
        let got = names(path, next).map_err(|f| f.kind);
        let expected = expected.map(|v| strings(&v));
        assert_eq!(got, expected, "{path:?} next_level={next}");
    }
    let everything = names("", false).expect("all");
    // Device., DHCPv4. and its table, its count, two rows (the row, 21 parameters, two option
    // tables, Retransmission. and its 7, Stats. and its 11, X_DHCPMGR_Status. and its 1);
    // DHCPv6., its count, table; MAP., its 2 parameters and the Domain table.
    assert_eq!(everything.len(), 1 + 2 + 1 + 2 * 46 + 3 + 4);
    let one = names("Device.DHCPv4.Client.1.", false).expect("row");
    assert_eq!(
        one.first().map(String::as_str),
        Some("Device.DHCPv4.Client.1. w"),
        "a client row can be deleted"
    );
    assert_eq!(one.len(), 46);
    let child_count = names("Device.DHCPv4.Client.1.", true)
        .expect("children")
        .len();
    assert_eq!(child_count, 21 + 5);
}

#[test]
fn diffs_leave_out_lease_time_remaining() {
    let mut tree = tree(&[]);
    let added = tree.apply(&ControllerUpdate::V4Client(Box::new(client(1, "wan"))), NOW);
    assert_eq!(
        added.first(),
        Some(&("Device.DHCPv4.ClientNumberOfEntries".into(), "1".into()))
    );
    assert_eq!(
        added.len(),
        1 + 39,
        "every client parameter but LeaseTimeRemaining"
    );

    let changed = tree.apply(
        &ControllerUpdate::V4Client(Box::new(bound(1, "wan"))),
        BootSeconds(1500),
    );
    let names: Vec<&str> = changed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Device.DHCPv4.Client.1.DHCPStatus",
            "Device.DHCPv4.Client.1.IPAddress",
            "Device.DHCPv4.Client.1.SubnetMask",
            "Device.DHCPv4.Client.1.IPRouters",
            "Device.DHCPv4.Client.1.DNSServers",
            "Device.DHCPv4.Client.1.DHCPServer",
        ]
    );
    let same = tree.apply(
        &ControllerUpdate::V4Client(Box::new(bound(1, "wan"))),
        BootSeconds(2000),
    );
    assert_eq!(same, []);

    let event = ControllerUpdate::Event {
        object_path: "Device.DHCPv4.Client.1".into(),
        kind: crate::model::EventKind::LeaseUpdated,
        data: BTreeMap::new(),
    };
    assert_eq!(tree.apply(&event, NOW), []);

    let removed = tree.apply(&ControllerUpdate::V4ClientRemoved(Instance(1)), NOW);
    assert_eq!(
        removed,
        [("Device.DHCPv4.ClientNumberOfEntries".into(), "0".into())]
    );
    assert!(tree
        .get_values(&strings(&["Device.DHCPv4.Client.1."]), NOW)
        .is_err());
}

#[test]
fn plan_set_checks_everything_first() {
    let tree = tree(&[bound(1, "wan"), client(2, "backup")]);
    let set = |pairs: &[(&str, &str)]| plan_set(&tree, pairs);
    let enable = |i, alias, on| {
        let mut settings = v4_settings(alias, &format!("erouter{i}"), "request_options = []");
        settings.enable = on;
        ClientRequest {
            client: ClientKey::V4(Instance(i)),
            action: ClientAction::Configure(ClientConfig::V4(Box::new(settings))),
        }
    };
    assert_eq!(
        set(&[
            ("Device.DHCPv4.Client.1.Enable", "false"),
            ("Device.DHCPv4.Client.2.Enable", "1")
        ]),
        Ok(vec![enable(1, "wan", false)]),
        "client 2 is enabled already: nothing to do"
    );
    let e1 = "Device.DHCPv4.Client.1.Enable";
    use FaultKind::*;
    let cases: [(&[(&str, &str)], FaultKind); 8] = [
        (&[(e1, "true"), (e1, "false")], InvalidArguments),
        (
            &[(e1, "true"), ("Device.DHCPv4.Client.1.Enable", "maybe")],
            InvalidArguments,
        ),
        (
            &[(e1, "true"), ("Device.DHCPv4.Client.2.Enable", "maybe")],
            InvalidParameterType,
        ),
        (
            &[
                (e1, "true"),
                ("Device.DHCPv4.Client.1.IPAddress", "192.0.2.9"),
            ],
            NotWritable,
        ),
        (
            &[("Device.DHCPv4.Client.1.Alias", "backup")],
            InvalidParameterValue,
        ),
        (
            &[("Device.DHCPv4.Client.3.Enable", "true")],
            InvalidParameterName,
        ),
        (&[("Device.DHCPv4.Client.1.", "true")], InvalidParameterName),
        (&[("Device.DHCPv4.ClientNumberOfEntries", "3")], NotWritable),
    ];
    for (pairs, expected) in cases {
        assert_eq!(set(pairs).map_err(|f| f.kind), Err(expected), "{pairs:?}");
    }
    // Device.IP.Interface is not modelled: Interface takes the Linux name, not a reference.
    let fault = set(&[("Device.DHCPv4.Client.1.Interface", "Device.IP.Interface.1")])
        .expect_err("interface");
    assert_eq!(fault.kind, InvalidParameterValue, "{fault}");
    assert!(
        fault
            .message
            .contains("does not model Device.IP.Interface; write the Linux interface name"),
        "{fault}"
    );
}

#[test]
fn interface_is_the_linux_name_as_wan_manager_writes_it() {
    let mut tree = tree(&[client(1, "wan"), client(2, "backup")]);
    tree.apply(
        &ControllerUpdate::V6Client(Box::new(v6_client(1, "wan6"))),
        NOW,
    );
    let set = |pairs: &[(&str, &str)]| plan_set(&tree, pairs);
    for (family, client) in [
        ("DHCPv4", ClientKey::V4(Instance(1))),
        ("DHCPv6", ClientKey::V6(Instance(1))),
    ] {
        let name = format!("Device.{family}.Client.1.Interface");
        let requests = set(&[(&name, "erouter7")]).expect("Interface takes the Linux name");
        let [ClientRequest {
            client: to,
            action: ClientAction::Configure(config),
        }] = &requests[..]
        else {
            panic!("one configure request: {requests:?}");
        };
        assert_eq!(*to, client);
        assert_eq!(
            config
                .interface()
                .map(|i| i.as_str().to_string())
                .as_deref(),
            Some("erouter7")
        );
        // Both names at once: the same value is one setting, two values are refused.
        let linux = format!("Device.{family}.Client.1.X_RDK_LinuxInterface");
        assert!(set(&[(&name, "erouter7"), (&linux, "erouter7")]).is_ok());
        let fault = set(&[(&name, "erouter7"), (&linux, "erouter8")]).expect_err("two values");
        assert_eq!(fault.kind, FaultKind::InvalidArguments, "{fault}");
    }
    // It reads back the Linux name, as X_RDK_LinuxInterface does.
    let read = |name: &str| {
        tree.get_values(&[name.to_string()], NOW)
            .expect("value")
            .remove(0)
            .2
    };
    assert_eq!(read("Device.DHCPv4.Client.2.Interface"), "erouter2");
    assert_eq!(read("Device.DHCPv6.Client.1.Interface"), "erouter0");
    // Two enabled clients cannot share an interface, whichever name writes it.
    let fault = set(&[("Device.DHCPv4.Client.2.Interface", "erouter1")]).expect_err("shared");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue, "{fault}");
}

#[test]
fn every_writable_parameter_takes_its_own_value_back_and_every_command_runs() {
    let mut wan = client(1, "wan");
    wan.settings = v4_settings(
        "wan",
        "erouter1",
        "request_options = [121]\nsent_options = [{ tag = 60, value = \"6463\" }]",
    );
    let tree = tree_with_v6(&[wan]);
    let def = Definition::builtin().expect("definition");
    let mut written = 0;
    for object in def.objects() {
        let path = object.path.replace("{i}", "1");
        for param in object.params.iter().filter(|p| p.writable) {
            let name = format!("{path}{}", param.name);
            let Ok(values) = tree.get_values(std::slice::from_ref(&name), NOW) else {
                continue;
            };
            let value = values[0].2.clone();
            assert_eq!(
                tree.plan_set(&[(name.clone(), value.clone())]),
                Ok(Vec::new()),
                "{name} = {value:?}"
            );
            written += 1;
        }
        for command in &object.commands {
            let name = format!("{path}{command}");
            assert!(tree.plan_operate(&name, &HashMap::new()).is_ok(), "{name}");
        }
    }
    assert!(
        written >= 20,
        "only {written} writable parameters were tried"
    );
}

#[test]
fn operate_resolves_commands() {
    let tree = tree(&[client(1, "wan")]);
    let operate = |command: &str| tree.plan_operate(command, &HashMap::new());
    let request = |action| {
        Ok(ClientRequest {
            client: ClientKey::V4(Instance(1)),
            action,
        })
    };
    assert_eq!(
        operate("Device.DHCPv4.Client.1.Renew()"),
        request(ClientAction::Renew)
    );
    assert_eq!(
        operate("Device.DHCPv4.Client.1.X_RDK_Release()"),
        request(ClientAction::Release)
    );
    assert_eq!(
        operate("Device.DHCPv4.Client.1.X_RDK_Restart()"),
        request(ClientAction::Restart)
    );
    for bad in [
        "Device.DHCPv4.Client.2.Renew()",
        "Device.DHCPv4.Client.1.Renew",
        "Device.DHCPv4.Client.1.Rebind()",
        "Device.DHCPv4.Renew()",
        "Renew()",
    ] {
        assert_eq!(
            operate(bad).map_err(|f| f.kind),
            Err(FaultKind::InvalidParameterName),
            "{bad}"
        );
    }
    let args = HashMap::from([("Force".to_string(), "true".to_string())]);
    let fault = tree
        .plan_operate("Device.DHCPv4.Client.1.Renew()", &args)
        .expect_err("args");
    assert_eq!(fault.kind, FaultKind::InvalidArguments);
}

#[test]
fn add_and_delete_outside_the_writable_tables_are_refused_with_reasons() {
    let tree = tree_with_v6(&[client(1, "wan")]);
    let cases = [
        (
            tree.plan_add("Device.DHCPv4.").map(|_| ()),
            FaultKind::InvalidParameterName,
        ),
        (
            tree.plan_add("Device.DHCPv4.Client.1.").map(|_| ()),
            FaultKind::InvalidParameterName,
        ),
        (
            tree.plan_add("Device.DHCPv4.Client.2.SentOption.")
                .map(|_| ()),
            FaultKind::InvalidParameterName,
        ),
        (
            tree.plan_add("Device.MAP.Domain.").map(|_| ()),
            FaultKind::RequestDenied,
        ),
        (
            tree.plan_delete("Device.DHCPv4.Client.2.").map(|_| ()),
            FaultKind::InvalidParameterName,
        ),
        (
            tree.plan_delete("Device.DHCPv4.").map(|_| ()),
            FaultKind::InvalidParameterName,
        ),
    ];
    for (result, kind) in &cases {
        let fault = result.as_ref().expect_err("refused");
        assert_eq!(fault.kind, *kind, "{fault}");
        assert!(fault.message.starts_with("Device."), "{fault}");
    }
    let fault = cases[3].0.as_ref().expect_err("refused");
    assert!(fault.message.contains("cannot add or delete"), "{fault}");
}

#[test]
fn subnet_masks() {
    for (len, mask) in [
        (0, "0.0.0.0"),
        (8, "255.0.0.0"),
        (24, "255.255.255.0"),
        (32, "255.255.255.255"),
        (40, "255.255.255.255"),
    ] {
        assert_eq!(subnet_mask(len).to_string(), mask, "/{len}");
    }
}

mod clients;
mod full_model;
mod limits;
mod tables;
