use super::*;
use crate::config::Config;

fn v4() -> ClientConfig {
    let config = Config::parse(
        r#"
        [[dhcpv4.client]]
        alias = "wan"
        interface = "erouter0"
        request_options = [1, 3, 121]
        sent_options = [{ tag = 60, value = "6463" }]
        "#,
    )
    .expect("config");
    ClientConfig::V4(Box::new(config.dhcpv4_clients[0].clone()))
}

fn v6() -> ClientConfig {
    let config = Config::parse(
        r#"
        [[dhcpv6.client]]
        alias = "wan6"
        interface = "erouter0"
        "#,
    )
    .expect("config");
    ClientConfig::V6(Box::new(config.dhcpv6_clients[0].clone()))
}

fn settings_v4(config: &ClientConfig) -> &V4ClientConfig {
    match config {
        ClientConfig::V4(c) => c,
        ClientConfig::V6(_) => panic!("not v4"),
    }
}

fn settings_v6(config: &ClientConfig) -> &V6ClientConfig {
    match config {
        ClientConfig::V6(c) => c,
        ClientConfig::V4(_) => panic!("not v6"),
    }
}

/// (instance, order) of the ReqOption rows, by order.
fn orders(config: &ClientConfig) -> Vec<(u32, u32)> {
    let mut rows: Vec<(u32, u32)> = settings_v4(config)
        .request_options
        .rows()
        .iter()
        .map(|r| (r.instance, r.item.order))
        .collect();
    rows.sort_by_key(|&(_, order)| order);
    rows
}

#[test]
fn client_parameters_land_in_the_settings() {
    let mut config = v4();
    write(&mut config, V4_CLIENT, None, "Enable", "false").expect("Enable");
    write(&mut config, V4_CLIENT, None, "Alias", "wan-a").expect("Alias");
    write(
        &mut config,
        V4_CLIENT,
        None,
        "X_RDK_LinuxInterface",
        "erouter1",
    )
    .expect("ifname");
    let c = settings_v4(&config);
    assert!(!c.enable);
    assert_eq!(c.tr181_alias().as_str(), "wan-a");
    assert_eq!(
        c.alias.as_str(),
        "wan",
        "the configured alias keeps naming the client"
    );
    assert_eq!(c.interface_name(), "erouter1");
    assert_eq!(
        write(&mut config, V4_CLIENT, None, "X_RDK_LinuxInterface", "a/b"),
        Err(WriteError::Invalid("\"a/b\" contains '/'".into()))
    );
    assert_eq!(
        write(&mut config, V4_CLIENT, None, "IPAddress", "192.0.2.1"),
        Err(WriteError::NotWritable)
    );
}

#[test]
fn v6_parameters_land_in_the_settings() {
    let mut config = v6();
    write(&mut config, V6_CLIENT, None, "RapidCommit", "true").expect("RapidCommit");
    write(&mut config, V6_CLIENT, None, "SuggestedT1", "1800").expect("T1");
    write(&mut config, V6_CLIENT, None, "SuggestedT2", "-1").expect("T2");
    write(&mut config, V6_CLIENT, None, "RequestedOptions", "23,24,95").expect("ORO");
    let c = settings_v6(&config);
    assert!(c.rapid_commit);
    assert_eq!((c.t1, c.t2), (Some(1800), None));
    assert_eq!(c.requested_options, [23, 24, 95]);
    assert!(matches!(
        write(&mut config, V6_CLIENT, None, "RequestedOptions", "23,23"),
        Err(WriteError::Invalid(_))
    ));
    assert!(matches!(
        write(&mut config, V6_CLIENT, None, "RequestedOptions", "0"),
        Err(WriteError::Invalid(_))
    ));
    write(&mut config, V6_CLIENT, None, "RequestAddresses", "false").expect("IA_NA off");
    write(&mut config, V6_CLIENT, None, "RequestPrefixes", "false").expect("IA_PD off");
    assert_eq!(
        check(&config).map_err(|(param, _)| param),
        Err("RequestAddresses".to_string())
    );
}

#[test]
fn an_added_row_is_disabled_until_complete() {
    let mut config = v4();
    let row = add_row(&mut config, V4_SENT_OPTION, 8).expect("add");
    assert_eq!(row, 2);
    assert!(check(&config).is_ok(), "a disabled, empty row is fine");
    write(&mut config, V4_SENT_OPTION, Some(row), "Enable", "true").expect("Enable");
    assert_eq!(
        check(&config).map_err(|(param, _)| param),
        Err("SentOption.2.Enable".to_string())
    );
    write(&mut config, V4_SENT_OPTION, Some(row), "Tag", "77").expect("Tag");
    write(&mut config, V4_SENT_OPTION, Some(row), "Value", "0102").expect("Value");
    assert!(check(&config).is_ok());
    let sent: Vec<_> = settings_v4(&config)
        .options_to_send()
        .map(|(code, value)| (code.0, value.to_hex()))
        .collect();
    assert_eq!(sent, [(60, "6463".to_string()), (77, "0102".to_string())]);
}

#[test]
fn tags_and_aliases_are_unique_keys() {
    let mut config = v4();
    let row = add_row(&mut config, V4_SENT_OPTION, 8).expect("add");
    write(&mut config, V4_SENT_OPTION, Some(row), "Tag", "60").expect("Tag");
    write(&mut config, V4_SENT_OPTION, Some(row), "Value", "00").expect("Value");
    assert!(check(&config).is_ok(), "a disabled row may repeat a tag");
    write(&mut config, V4_SENT_OPTION, Some(row), "Enable", "true").expect("Enable");
    assert_eq!(
        check(&config).map_err(|(param, _)| param),
        Err("SentOption.2.Tag".to_string())
    );
    write(&mut config, V4_SENT_OPTION, Some(row), "Enable", "false").expect("Enable");
    write(&mut config, V4_SENT_OPTION, Some(row), "Alias", "cpe-1").expect("Alias");
    assert_eq!(
        check(&config).map_err(|(param, _)| param),
        Err("SentOption.2.Alias".to_string())
    );
    assert!(matches!(
        write(&mut config, V4_SENT_OPTION, Some(row), "Alias", "1st"),
        Err(WriteError::Invalid(_))
    ));
}

#[test]
fn options_the_client_builds_itself_cannot_be_sent() {
    let mut config = v4();
    let row = add_row(&mut config, V4_SENT_OPTION, 8).expect("add");
    for tag in ["53", "55", "255", "0"] {
        assert!(
            matches!(
                write(&mut config, V4_SENT_OPTION, Some(row), "Tag", tag),
                Err(WriteError::Invalid(_))
            ),
            "tag {tag}"
        );
    }
    let mut config = v6();
    let row = add_row(&mut config, V6_SENT_OPTION, 8).expect("add");
    assert!(matches!(
        write(&mut config, V6_SENT_OPTION, Some(row), "Tag", "1"),
        Err(WriteError::Invalid(_))
    ));
    write(&mut config, V6_SENT_OPTION, Some(row), "Tag", "16").expect("vendor class");
}

#[test]
fn rows_are_limited_and_numbers_not_reused() {
    let mut config = v4();
    assert_eq!(add_row(&mut config, V4_SENT_OPTION, 2), Ok(2));
    assert!(matches!(
        add_row(&mut config, V4_SENT_OPTION, 2),
        Err(WriteError::Invalid(_))
    ));
    delete_row(&mut config, V4_SENT_OPTION, 2).expect("delete");
    assert_eq!(
        delete_row(&mut config, V4_SENT_OPTION, 2),
        Err(WriteError::NoSuchRow)
    );
    assert_eq!(add_row(&mut config, V4_SENT_OPTION, 2), Ok(3));
    assert_eq!(
        add_row(&mut config, "Device.DHCPv4.Client.{i}.", 2),
        Err(WriteError::NotWritable)
    );
}

#[test]
fn order_follows_tr181_semantics() {
    let mut config = v4();
    assert_eq!(orders(&config), [(1, 1), (2, 2), (3, 3)]);
    // Moving row 3 to the front pushes the others down.
    write(&mut config, V4_REQ_OPTION, Some(3), "Order", "1").expect("Order");
    assert_eq!(orders(&config), [(3, 1), (1, 2), (2, 3)]);
    // An order past the end is compacted to the end.
    write(&mut config, V4_REQ_OPTION, Some(3), "Order", "9").expect("Order");
    assert_eq!(orders(&config), [(1, 1), (2, 2), (3, 3)]);
    // A new row comes last; deleting one compacts the rest.
    let row = add_row(&mut config, V4_REQ_OPTION, 8).expect("add");
    assert_eq!(orders(&config).last(), Some(&(row, 4)));
    delete_row(&mut config, V4_REQ_OPTION, 1).expect("delete");
    assert_eq!(orders(&config), [(2, 1), (3, 2), (row, 3)]);
    assert!(matches!(
        write(&mut config, V4_REQ_OPTION, Some(2), "Order", "0"),
        Err(WriteError::Invalid(_))
    ));
    let codes: Vec<u8> = settings_v4(&config)
        .requested_codes()
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        codes,
        [3, 121],
        "the added row has no tag yet and is disabled"
    );
}
