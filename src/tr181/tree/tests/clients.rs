//! AddObject and DeleteObject on the client tables, and the keys unique among clients.

use super::*;

/// A DHCPv4 client as AddObject creates it.
fn added(instance: u32) -> V4ClientSnapshot {
    let alias = crate::config::ClientAlias::new(&format!("cpe-{instance}")).expect("alias");
    V4ClientSnapshot {
        settings: V4ClientConfig::added(alias),
        enable: false,
        status: ClientStatus::Disabled,
        dhcp_status: DhcpStatus::Init,
        ..client(instance, "unused")
    }
}

#[test]
fn client_tables_grow_up_to_the_limit_and_shrink_down_to_min_entries() {
    let mut tree = tree_with_v6(&[client(1, "wan"), client(2, "voice")]);
    assert_eq!(
        tree.plan_add("Device.DHCPv4.Client."),
        Ok(AddPlan::Client(Family::V4))
    );
    assert_eq!(
        tree.plan_add("Device.DHCPv6.Client."),
        Ok(AddPlan::Client(Family::V6))
    );
    tree.set_table_limit(2);
    let fault = tree.plan_add("Device.DHCPv4.Client.").expect_err("full");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    assert!(fault.message.contains("(2)"), "{fault}");

    assert_eq!(
        tree.plan_delete("Device.DHCPv4.Client.2."),
        Ok(DeletePlan::Client(ClientKey::V4(Instance(2))))
    );
    tree.apply(&ControllerUpdate::V4ClientRemoved(Instance(2)), NOW);
    // BBF gives Device.DHCPv4.Client. minEntries 1 and Device.DHCPv6.Client. 0.
    let fault = tree
        .plan_delete("Device.DHCPv4.Client.1.")
        .expect_err("the last DHCPv4 client stays");
    assert_eq!(fault.kind, FaultKind::RequestDenied, "{fault}");
    assert!(fault.message.contains("minEntries"), "{fault}");
    assert_eq!(
        tree.plan_delete("Device.DHCPv6.Client.1."),
        Ok(DeletePlan::Client(ClientKey::V6(Instance(1))))
    );
}

#[test]
fn an_added_client_reads_empty_and_cannot_be_enabled_before_it_has_an_interface() {
    let tree = tree(&[client(1, "wan"), added(3)]);
    let values = tree
        .get_values(&strings(&["Device.DHCPv4.Client.3."]), NOW)
        .expect("values");
    let get = |name: &str| {
        values
            .iter()
            .find(|(n, ..)| n == &format!("Device.DHCPv4.Client.3.{name}"))
            .map(|(_, _, v)| v.as_str())
    };
    assert_eq!(get("Alias"), Some("cpe-3"));
    assert_eq!(get("Enable"), Some("false"));
    assert_eq!(get("Status"), Some("Disabled"));
    assert_eq!(get("X_RDK_LinuxInterface"), Some(""));
    assert_eq!(get("ReqOptionNumberOfEntries"), Some("6"));

    let fault =
        plan_set(&tree, &[("Device.DHCPv4.Client.3.Enable", "true")]).expect_err("no interface");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue, "{fault}");
    assert!(
        fault.message.starts_with("Device.DHCPv4.Client.3.Enable:")
            && fault.message.contains("X_RDK_LinuxInterface"),
        "{fault}"
    );
    let requests = plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.3.X_RDK_LinuxInterface", "wan2"),
            ("Device.DHCPv4.Client.3.Enable", "true"),
        ],
    )
    .expect("interface and enable together");
    let [ClientRequest {
        client: ClientKey::V4(Instance(3)),
        action: ClientAction::Configure(ClientConfig::V4(settings)),
    }] = &requests[..]
    else {
        panic!("{requests:?}");
    };
    assert_eq!((settings.interface_name(), settings.enable), ("wan2", true));

    // Clearing the interface of an enabled client is refused the same way.
    let fault = plan_set(
        &tree,
        &[("Device.DHCPv4.Client.1.X_RDK_LinuxInterface", "")],
    )
    .expect_err("enabled without an interface");
    assert!(fault.message.contains("Client.1.Enable"), "{fault}");
}

#[test]
fn enabled_clients_of_a_family_cannot_share_an_interface_or_an_alias() {
    let tree = tree_with_v6(&[client(1, "wan"), client(2, "voice")]);
    let fault = plan_set(
        &tree,
        &[("Device.DHCPv4.Client.2.X_RDK_LinuxInterface", "erouter1")],
    )
    .expect_err("shared interface");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue, "{fault}");
    assert!(
        fault
            .message
            .starts_with("Device.DHCPv4.Client.2.X_RDK_LinuxInterface:"),
        "{fault}"
    );
    // Disabled at the same time, it may: only enabled clients run on their interface.
    plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.2.X_RDK_LinuxInterface", "erouter1"),
            ("Device.DHCPv4.Client.2.Enable", "false"),
        ],
    )
    .expect("a disabled client may name the interface");
    // The DHCPv6 client on erouter0 is of the other family.
    plan_set(
        &tree,
        &[("Device.DHCPv4.Client.1.X_RDK_LinuxInterface", "erouter0")],
    )
    .expect("families are apart");
    // Two clients may swap their aliases in one write; the result is what is checked.
    plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.1.Alias", "voice"),
            ("Device.DHCPv4.Client.2.Alias", "wan"),
        ],
    )
    .expect("aliases swapped");
    let fault = plan_set(&tree, &[("Device.DHCPv4.Client.1.Alias", "voice")]).expect_err("taken");
    assert!(fault.message.contains("Client.1.Alias"), "{fault}");
}

#[test]
fn a_deleted_client_stays_gone_when_a_late_picture_of_it_arrives() {
    let mut tree = tree(&[client(1, "wan"), client(2, "voice")]);
    let changes = tree.apply(&ControllerUpdate::V4ClientRemoved(Instance(2)), NOW);
    assert!(
        changes.contains(&("Device.DHCPv4.ClientNumberOfEntries".into(), "1".into())),
        "{changes:?}"
    );
    let late = tree.apply(
        &ControllerUpdate::V4Client(Box::new(client(2, "voice"))),
        NOW,
    );
    assert!(late.is_empty(), "{late:?}");
    let fault = tree
        .get_values(&strings(&["Device.DHCPv4.Client.2."]), NOW)
        .expect_err("gone");
    assert_eq!(fault.kind, FaultKind::InvalidParameterName);
}
