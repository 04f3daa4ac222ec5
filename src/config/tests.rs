use super::*;

const DESIGN_EXAMPLE: &str = r#"
[daemon]
state_dir = "/var/lib/dhcpmgr"
run_dir   = "/run/dhcpmgr"
[dbus]
bus = "system"
[sysevent]
command = "sysevent"
[[dhcpv4.client]]
alias = "wan"
interface = "erouter0"
enable = true
request_options = [1, 3, 6, 15, 28, 42, 121, 125]
sent_options = [{ tag = 60, value = "64736c666f72756d2e6f7267" }]
[[dhcpv6.client]]
alias = "wan6"
interface = "erouter0"
enable = true
request_addresses = true
request_prefixes = true
rapid_commit = false
requested_options = [23, 24, 64, 95]
[shield]
enable = false
interfaces = ["brlan0"]
"#;

fn invalid_key(text: &str) -> String {
    match Config::parse(text) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid-value error, got {other:?}"),
    }
}

#[test]
fn accepts_the_design_example() {
    let cfg = Config::parse(DESIGN_EXAMPLE).unwrap();
    assert_eq!(cfg.bus, BusChoice::System);
    assert_eq!(cfg.sysevent_command, Some(PathBuf::from("sysevent")));
    let wan = cfg.v4_client("wan").unwrap();
    assert_eq!(wan.interface_name(), "erouter0");
    assert_eq!(wan.request_options.len(), 8);
    let sent = &wan.sent_options.rows()[0];
    assert_eq!((sent.instance, sent.enable), (1, true));
    assert_eq!(sent.item.tag, Some(OptionCode(60)));
    assert_eq!(sent.item.value.0, b"dslforum.org");
    assert_eq!(wan.requested_codes().len(), 8);
    assert_eq!(
        cfg.dhcpv6_clients[0].requested_options,
        vec![23, 24, 64, 95]
    );
    assert_eq!(cfg.shield.interfaces[0].as_str(), "brlan0");
}

#[test]
fn empty_file_gives_defaults() {
    let cfg = Config::parse("").unwrap();
    assert_eq!(cfg.state_dir, PathBuf::from("/var/lib/dhcpmgr"));
    assert_eq!(cfg.run_dir, PathBuf::from("/run/dhcpmgr"));
    assert!(cfg.dhcpv4_clients.is_empty());
}

#[test]
fn rejects_unknown_keys_everywhere() {
    for text in [
        "[daemon]\nstatedir = \"/x\"",
        "[surprise]\n",
        "[[dhcpv4.client]]\nalias=\"a\"\ninterface=\"e0\"\nrequest_option=[1]",
        "[dhcpv4]\nclients = []",
    ] {
        assert!(
            matches!(Config::parse(text), Err(ConfigError::Syntax { .. })),
            "{text}"
        );
    }
}

#[test]
fn rejects_bad_values_naming_the_key() {
    let client =
        |extra: &str| format!("[[dhcpv4.client]]\nalias=\"wan\"\ninterface=\"erouter0\"\n{extra}");
    assert_eq!(
        invalid_key("[daemon]\nstate_dir = \"relative\""),
        "daemon.state_dir"
    );
    assert_eq!(invalid_key("[dbus]\nbus = \"nonsense\""), "dbus.bus");
    assert_eq!(
        invalid_key("[[dhcpv4.client]]\nalias=\"w a n\"\ninterface=\"e0\""),
        "dhcpv4.client[0].alias"
    );
    assert_eq!(
        invalid_key("[[dhcpv4.client]]\nalias=\"wan\"\ninterface=\"much-too-long-ifname\""),
        "dhcpv4.client[0].interface"
    );
    assert_eq!(
        invalid_key(&client("request_options = [1, 255]")),
        "dhcpv4.client[0].request_options"
    );
    assert_eq!(
        invalid_key(&client("request_options = [3, 3]")),
        "dhcpv4.client[0]"
    );
    assert_eq!(
        invalid_key(&client("sent_options = [{ tag = 60, value = \"abc\" }]")),
        "dhcpv4.client[0].sent_options"
    );
    assert_eq!(
        invalid_key(&client("sent_options = [{ tag = 53, value = \"01\" }]")),
        "dhcpv4.client[0].sent_options"
    );
    assert_eq!(
        invalid_key(&client("client_id = \"zz\"")),
        "dhcpv4.client[0].client_id"
    );
    assert_eq!(invalid_key("[shield]\nenable = true"), "shield.interfaces");
}

#[test]
fn rejects_duplicate_aliases_and_interfaces() {
    let two = |a: &str, b: &str, ia: &str, ib: &str| {
        format!(
            "[[dhcpv4.client]]\nalias=\"{a}\"\ninterface=\"{ia}\"\n[[dhcpv4.client]]\nalias=\"{b}\"\ninterface=\"{ib}\"\n"
        )
    };
    assert!(Config::parse(&two("a", "b", "e0", "e1")).is_ok());
    assert_eq!(invalid_key(&two("a", "a", "e0", "e1")), "dhcpv4.client");
    assert_eq!(invalid_key(&two("a", "b", "e0", "e0")), "dhcpv4.client");
}

#[test]
fn bus_may_be_an_address() {
    let cfg = Config::parse("[dbus]\nbus = \"unix:path=/tmp/bus.sock\"").unwrap();
    assert_eq!(
        cfg.bus,
        BusChoice::Address("unix:path=/tmp/bus.sock".into())
    );
}

#[test]
fn hex_accepts_colons_and_either_case() {
    assert_eq!(HexBytes::parse("01:AA:bb").unwrap().0, vec![1, 0xaa, 0xbb]);
    assert_eq!(HexBytes::parse("01aabb").unwrap().to_hex(), "01aabb");
    assert!(HexBytes::parse("0g").is_err());
    assert!(HexBytes::parse("é1").is_err());
}

#[test]
fn shipped_default_config_is_valid() {
    let text = include_str!("../../init/dhcpmgr.toml");
    let cfg = Config::parse(text).unwrap();
    assert_eq!(cfg.dhcpv4_clients[0].alias.as_str(), "wan");
    assert_eq!(cfg.bus, BusChoice::System);
}

#[test]
fn hex_bytes_persist_as_hex_strings() {
    let json = serde_json::to_string(&HexBytes(vec![1, 0xab])).unwrap();
    assert_eq!(json, "\"01ab\"");
    assert_eq!(
        serde_json::from_str::<HexBytes>(&json).unwrap().0,
        vec![1, 0xab]
    );
    assert!(serde_json::from_str::<HexBytes>("\"0x\"").is_err());
}

#[test]
fn dhcpv6_client_settings_are_checked() {
    let client = |extra: &str| {
        format!("[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\n{extra}")
    };
    let cfg = Config::parse(&client(
        "t1 = 1000\nt2 = 2000\nsent_options = [{ tag = 16, value = \"0000118b0004\" }]",
    ))
    .unwrap();
    let v6 = &cfg.dhcpv6_clients[0];
    assert_eq!((v6.t1, v6.t2), (Some(1000), Some(2000)));
    assert_eq!(v6.sent_options.rows()[0].item.tag, Some(16));
    assert_eq!(v6.requested_options, vec![23, 24], "default ORO");
    assert_eq!(cfg.dibbler_command, PathBuf::from("dibbler-client"));
    assert_eq!(
        invalid_key(&client("t1 = 3000\nt2 = 2000")),
        "dhcpv6.client[0].t1"
    );
    assert_eq!(
        invalid_key(&client("sent_options = [{ tag = 1, value = \"00\" }]")),
        "dhcpv6.client[0].sent_options"
    );
    assert_eq!(
        invalid_key(&client("requested_options = [23, 23]")),
        "dhcpv6.client[0]"
    );
    assert_eq!(
        invalid_key(&client(
            "request_addresses = false\nrequest_prefixes = false"
        )),
        "dhcpv6.client[0]"
    );
}

#[test]
fn sysevent_profile_defaults_to_standalone_and_refuses_unknown_names() {
    use super::Profile;
    assert_eq!(
        Config::parse("").unwrap().sysevent_profile,
        Profile::Standalone
    );
    let rdk = Config::parse("[sysevent]\nprofile = \"rdk-wanmanager\"\n").unwrap();
    assert_eq!(rdk.sysevent_profile, Profile::RdkWanManager);
    assert_eq!(
        invalid_key("[sysevent]\nprofile = \"wanmanager\"\n"),
        "sysevent.profile"
    );
}
