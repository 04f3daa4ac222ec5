//! `[shield]` read through the daemon's [`Config::parse`]: the shield crate validates the
//! section (`dhcpmgr_shield::ShieldConfig`), and the daemon reports its refusals as invalid
//! values naming the key, and unknown keys as syntax errors.

use dhcpmgr_shield::action::{Action, Lifetime};
use dhcpmgr_shield::{Mode, ShieldConfig, Verdict};

use super::{Config, ConfigError};

fn shield(text: &str) -> Result<ShieldConfig, ConfigError> {
    Config::parse(&format!("[shield]\n{text}")).map(|c| c.shield)
}

fn invalid(text: &str) -> (String, String) {
    match shield(text) {
        Err(ConfigError::Invalid { key, message }) => (key, message),
        other => panic!("{text}: expected an invalid-value error, got {other:?}"),
    }
}

#[test]
fn defaults_and_enabled() {
    let d = Config::parse("").unwrap().shield;
    assert!(!d.enable);
    assert_eq!(d.queue_num, 67);
    assert_eq!(d.mode, Mode::Observe);
    assert_eq!(shield("mode = \"inline\"").unwrap().mode, Mode::Inline);
    assert_eq!(d, ShieldConfig::default());
    let s = shield("enable = true\ninterfaces = [\"brlan0\"]\nqueue_num = 9\nmalformed = \"drop\"")
        .unwrap();
    assert!(s.enable);
    assert_eq!(s.interfaces[0].as_str(), "brlan0");
    assert_eq!(s.queue_num, 9);
    assert_eq!(s.malformed, Verdict::Drop);
    let t = shield("trusted_servers = [\"192.168.1.2\", \"02:00:00:00:00:20\"]").unwrap();
    assert_eq!(
        t.trusted_servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["192.168.1.2", "02:00:00:00:00:20"]
    );
}

#[test]
fn clients_and_rules() {
    let s = shield(
            r#"enable = true
interfaces = ["brlan0"]
[[shield.client]]
client = "AA:bb:cc:dd:ee:01"
action = "deny"
reason = "stolen"
[[shield.client]]
client = "aa:bb:cc:dd:ee:02"
action = "block"
duration = "30m"
[[shield.rule]]
name = "printers"
action = "monitor"
filter = { logic = "AND", rules = [{ field = "vendor_class", operator = "startswith", value = "HP" }] }
"#,
        )
        .unwrap();
    assert_eq!(s.clients.len(), 2);
    assert_eq!(s.clients[0].client.to_string(), "aa:bb:cc:dd:ee:01");
    assert_eq!(s.clients[0].action, Action::Deny);
    assert_eq!(s.clients[1].duration, Lifetime::Secs(1800));
    assert_eq!(s.rules[0].name, "printers");
    assert_eq!(s.rules[0].action, Action::Monitor);
}

#[test]
fn refusals_name_the_key() {
    let cases = [
            ("enable = true", "shield.interfaces"),
            ("interfaces = [\"a/b\"]", "shield.interfaces"),
            ("interfaces = [\"x\", \"x\"]", "shield"),
            ("queue_maxlen = 0", "shield.queue_maxlen"),
            ("queue_rate = 20000", "shield.queue_rate"),
            ("queue_burst = 0", "shield.queue_burst"),
            ("mac_rate = 0", "shield.mac_rate"),
            ("malformed = \"reject\"", "shield.malformed"),
            ("mode = \"sniff\"", "shield.mode"),
            ("mark_base = 1", "shield.mark_base"),
            ("max_subscribers = 0", "shield.max_subscribers"),
            ("max_clients = 1", "shield.max_clients"),
            ("journal_max_bytes = 10", "shield.journal_max_bytes"),
            ("journal_max_age = \"forever\"", "shield.journal_max_age"),
            ("trusted_servers = [\"router\"]", "shield.trusted_servers"),
            (
                "[[shield.client]]\nclient = \"zz\"\naction = \"deny\"",
                "shield.client[0].client",
            ),
            (
                "[[shield.client]]\nclient = \"aa:bb:cc:dd:ee:ff\"\naction = \"smite\"",
                "shield.client[0].action",
            ),
            (
                "[[shield.client]]\nclient = \"aa:bb:cc:dd:ee:ff\"\naction = \"block\"\nduration = \"soon\"",
                "shield.client[0].duration",
            ),
            (
                "[[shield.rule]]\nname = \"r\"\naction = \"block\"\nfilter = { logic = \"XOR\", rules = [] }",
                "shield.rule[0].filter",
            ),
            (
                "[[shield.rule]]\nname = \"r\"\naction = \"block\"\nfilter = { logic = \"AND\", rules = [{ field = \"nope\", operator = \"eq\", value = \"x\" }] }",
                "shield.rule[0].filter",
            ),
        ];
    for (text, key) in cases {
        assert_eq!(invalid(text).0, key, "{text}");
    }
}

#[test]
fn unknown_keys_are_syntax_errors() {
    for text in [
        "bogus = 1",
        "[[shield.client]]\nclient = \"aa:bb:cc:dd:ee:ff\"\naction = \"deny\"\nx = 1",
    ] {
        assert!(
            matches!(shield(text), Err(ConfigError::Syntax { .. })),
            "{text}"
        );
    }
}
