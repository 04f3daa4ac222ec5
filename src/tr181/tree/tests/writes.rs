//! Settings writes, AddObject and DeleteObject through the tree.

use super::*;

/// The DHCPv4 settings a single request carries.
fn v4_config(requests: &[ClientRequest]) -> &V4ClientConfig {
    match requests {
        [ClientRequest {
            action: ClientAction::Configure(ClientConfig::V4(settings)),
            ..
        }] => settings,
        other => panic!("expected one DHCPv4 Configure, got {other:?}"),
    }
}

#[test]
fn writes_to_one_client_become_one_configure_with_all_of_them() {
    let tree = tree(&[client(1, "wan")]);
    let requests = plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.1.Alias", "wan-primary"),
            ("Device.DHCPv4.Client.1.X_RDK_LinuxInterface", "erouter9"),
            ("Device.DHCPv4.Client.1.Renew", "true"),
        ],
    )
    .expect("plan");
    assert_eq!(requests.len(), 2, "{requests:?}");
    let settings = v4_config(&requests[..1]);
    assert_eq!(settings.tr181_alias().as_str(), "wan-primary");
    assert_eq!(settings.interface_name(), "erouter9");
    assert_eq!(
        requests[1].action,
        ClientAction::Renew,
        "commands come after settings"
    );
}

#[test]
fn a_mixed_valid_and_invalid_set_changes_nothing() {
    let tree = tree(&[client(1, "wan"), client(2, "backup")]);
    let fault = plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.1.Alias", "renamed"),
            ("Device.DHCPv4.Client.2.X_RDK_LinuxInterface", "bad name"),
        ],
    )
    .expect_err("invalid interface");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
    assert!(
        fault
            .message
            .starts_with("Device.DHCPv4.Client.2.X_RDK_LinuxInterface"),
        "{fault}"
    );
    let alias = tree
        .get_values(&strings(&["Device.DHCPv4.Client.1.Alias"]), NOW)
        .expect("alias");
    assert_eq!(alias[0].2, "wan");
}

#[test]
fn aliases_stay_unique_among_clients_but_may_swap() {
    let tree = tree(&[client(1, "wan"), client(2, "backup")]);
    let fault = plan_set(&tree, &[("Device.DHCPv4.Client.2.Alias", "wan")]).expect_err("taken");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
    assert!(fault.message.contains("another client"), "{fault}");
    let fault = plan_set(&tree, &[("Device.DHCPv4.Client.2.Alias", "no spaces")]).expect_err("bad");
    assert_eq!(fault.kind, FaultKind::InvalidParameterValue);
}

#[test]
fn option_rows_are_added_written_and_deleted() {
    let mut tree = tree(&[client(1, "wan")]);
    let (request, row) = added_row(
        tree.plan_add("Device.DHCPv4.Client.1.SentOption.")
            .expect("add"),
    );
    assert_eq!(row, 1);
    let ClientAction::Configure(config) = &request.action else {
        panic!("{request:?}");
    };
    let changes = tree.note_settings(request.client, config, NOW);
    assert!(
        changes.contains(&(
            "Device.DHCPv4.Client.1.SentOptionNumberOfEntries".into(),
            "1".into()
        )),
        "{changes:?}"
    );
    let names = tree
        .get_values(&strings(&["Device.DHCPv4.Client.1.SentOption.1."]), NOW)
        .expect("row");
    assert!(
        names.contains(&(
            "Device.DHCPv4.Client.1.SentOption.1.Enable".into(),
            "boolean".into(),
            "false".into()
        )),
        "{names:?}"
    );

    let fault = plan_set(
        &tree,
        &[("Device.DHCPv4.Client.1.SentOption.1.Enable", "true")],
    )
    .expect_err("no tag yet");
    assert!(fault.message.contains("SentOption.1.Enable"), "{fault}");
    let requests = plan_set(
        &tree,
        &[
            ("Device.DHCPv4.Client.1.SentOption.1.Tag", "125"),
            ("Device.DHCPv4.Client.1.SentOption.1.Value", "00000DE9"),
            ("Device.DHCPv4.Client.1.SentOption.1.Enable", "true"),
        ],
    )
    .expect("complete row");
    let sent: Vec<(u8, String)> = v4_config(&requests)
        .options_to_send()
        .map(|(code, value)| (code.0, value.to_hex()))
        .collect();
    assert_eq!(sent, [(125, "00000de9".to_string())]);
    let fault = plan_set(
        &tree,
        &[("Device.DHCPv4.Client.1.SentOption.1.Value", "0g")],
    )
    .expect_err("malformed hex");
    assert_eq!(fault.kind, FaultKind::InvalidParameterType);

    let request = deleted_row(
        tree.plan_delete("Device.DHCPv4.Client.1.SentOption.1.")
            .expect("delete"),
    );
    let ClientAction::Configure(ClientConfig::V4(settings)) = &request.action else {
        panic!("{request:?}");
    };
    assert!(settings.sent_options.is_empty());
    assert_eq!(
        tree.plan_delete("Device.DHCPv4.Client.1.SentOption.7.")
            .map_err(|f| f.kind),
        Err(FaultKind::InvalidParameterName)
    );
}

#[test]
fn tables_stop_growing_at_the_limit() {
    let mut tree = tree(&[client(1, "wan")]);
    tree.set_table_limit(1);
    let (request, _) = added_row(
        tree.plan_add("Device.DHCPv4.Client.1.ReqOption.")
            .expect("first row"),
    );
    if let ClientAction::Configure(config) = &request.action {
        tree.note_settings(request.client, config, NOW);
    }
    let fault = tree
        .plan_add("Device.DHCPv4.Client.1.ReqOption.")
        .expect_err("full");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded);
    assert!(fault.message.contains("(1)"), "{fault}");
}

#[test]
fn dhcpv6_settings_are_writable() {
    let tree = tree_with_v6(&[]);
    let requests = plan_set(
        &tree,
        &[
            ("Device.DHCPv6.Client.1.RapidCommit", "true"),
            ("Device.DHCPv6.Client.1.RequestedOptions", "23,24,64,95"),
            ("Device.DHCPv6.Client.1.SuggestedT2", "3600"),
        ],
    )
    .expect("plan");
    let [ClientRequest {
        action: ClientAction::Configure(ClientConfig::V6(settings)),
        ..
    }] = &requests[..]
    else {
        panic!("{requests:?}");
    };
    assert!(settings.rapid_commit);
    assert_eq!(settings.requested_options, [23, 24, 64, 95]);
    assert_eq!(settings.t2, Some(3600));
    let fault =
        plan_set(&tree, &[("Device.DHCPv6.Client.1.SuggestedT2", "10")]).expect_err("T1>T2");
    assert!(fault.message.contains("SuggestedT1"), "{fault}");
}

#[test]
fn writing_what_is_there_asks_for_nothing() {
    let tree = tree_with_v6(&[client(1, "wan")]);
    assert_eq!(
        plan_set(
            &tree,
            &[
                ("Device.DHCPv4.Client.1.Alias", "wan"),
                ("Device.DHCPv6.Client.1.RapidCommit", "false"),
            ]
        ),
        Ok(Vec::new())
    );
}
