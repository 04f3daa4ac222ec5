use serde_json::json;

use super::*;
use crate::event::Event;

fn event() -> Event {
    Event {
        proto: "v4",
        message_type: Some("DISCOVER".into()),
        client_mac: Some("aa:bb:cc:dd:ee:ff".into()),
        source_mac: Some("aa:bb:cc:dd:ee:ff".into()),
        hostname: Some("srv-42".into()),
        vendor_class: Some("MSFT 5.0".into()),
        xid: Some("0xa1b2c3d4".into()),
        lease_time: Some(7200),
        option_count: 5,
        mark: 0x4453_0001,
        processing_time_ms: 0.25,
        matched_rule: "unknown".into(),
        dhcp_options: [(82u16, "0104deadbeef".to_string()), (53, "01".into())].into(),
        ..Event::default()
    }
}

fn rule(field: &str, op: &str, value: serde_json::Value) -> serde_json::Value {
    json!({"field": field, "operator": op, "value": value})
}

fn and(rules: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"logic": "AND", "rules": rules})
}

fn or(rules: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"logic": "OR", "rules": rules})
}

#[test]
fn every_operator() {
    let cases: Vec<(serde_json::Value, bool)> = vec![
        (rule("message_type", "eq", json!("DISCOVER")), true),
        (rule("message_type", "eq", json!("discover")), true),
        (rule("message_type", "eq", json!("OFFER")), false),
        (rule("message_type", "ne", json!("OFFER")), true),
        (rule("vendor_class", "ne", json!("")), true),
        (rule("server_ip", "ne", json!("")), false),
        (rule("server_ip", "eq", json!("")), true),
        (rule("hostname", "contains", json!("v-4")), true),
        (rule("hostname", "contains", json!("laptop")), false),
        (rule("client_mac", "startswith", json!("AA:BB")), true),
        (rule("client_mac", "startswith", json!("aa-bb")), true),
        (rule("client_mac", "endswith", json!("ee:ff")), true),
        (rule("client_mac", "endswith", json!("ee:fe")), false),
        (rule("hostname", "regex", json!("^srv-\\d+$")), true),
        (rule("hostname", "regex", json!("^laptop")), false),
        (rule("lease_time", "gt", json!(3600)), true),
        (rule("lease_time", "gt", json!(7200)), false),
        (rule("lease_time", "gte", json!(7200)), true),
        (rule("processing_time_ms", "lt", json!(1.0)), true),
        (rule("processing_time_ms", "lt", json!("0.1")), false),
        (rule("option_count", "lte", json!(10)), true),
        (rule("option_count", "lte", json!(4)), false),
        (rule("mark", "gte", json!(256)), true),
        (rule("renewal_time", "gt", json!(0)), false),
        (rule("renewal_time", "lt", json!(1e9)), false),
        (rule("renewal_time", "ne", json!(5)), true),
        (
            rule("message_type", "in", json!(["DISCOVER", "REQUEST"])),
            true,
        ),
        (
            rule("message_type", "in", json!("[DISCOVER, REQUEST]")),
            true,
        ),
        (rule("message_type", "in", json!("OFFER,ACK")), false),
        (rule("message_type", "not_in", json!("[OFFER, ACK]")), true),
        (rule("message_type", "not_in", json!(["DISCOVER"])), false),
        (rule("option_count", "in", json!([1, 5])), true),
        (rule("renewal_time", "not_in", json!([1])), true),
        (rule("dhcp_options.82", "startswith", json!("0104")), true),
        (rule("dhcp_options.82", "ne", json!("")), true),
        (rule("dhcp_options.60", "eq", json!("")), true),
        (rule("xid", "eq", json!("0xa1b2c3d4")), true),
        (rule("proto", "eq", json!("v4")), true),
        (rule("matched_rule", "eq", json!("unknown")), true),
    ];
    for (rule, expected) in cases {
        let filter =
            Filter::from_json(&and(vec![rule.clone()])).unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert_eq!(filter.matches(&event()), expected, "{rule}");
    }
}

#[test]
fn nested_groups() {
    let e = event();
    let cases = vec![
        (and(vec![]), true),
        (or(vec![]), true),
        (
            // The stream doc's example: DISCOVER and (MSFT or dhcpcd).
            and(vec![
                rule("message_type", "eq", json!("DISCOVER")),
                or(vec![
                    rule("vendor_class", "contains", json!("MSFT")),
                    rule("vendor_class", "contains", json!("dhcpcd")),
                ]),
            ]),
            true,
        ),
        (
            and(vec![
                rule("message_type", "eq", json!("DISCOVER")),
                or(vec![
                    rule("vendor_class", "contains", json!("android")),
                    rule("vendor_class", "contains", json!("dhcpcd")),
                ]),
            ]),
            false,
        ),
        (
            or(vec![
                rule("message_type", "eq", json!("OFFER")),
                and(vec![
                    rule("lease_time", "gt", json!(60)),
                    or(vec![rule("hostname", "startswith", json!("srv"))]),
                ]),
            ]),
            true,
        ),
        (
            json!({"logic": "or", "rules": [rule("message_type", "eq", json!("ACK"))]}),
            false,
        ),
    ];
    for (filter, expected) in cases {
        let compiled = Filter::from_json(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(compiled.matches(&e), expected, "{filter}");
    }
}

#[test]
fn refusals_say_where_and_why() {
    let mut deep = rule("hostname", "eq", json!("x"));
    for _ in 0..=MAX_DEPTH {
        deep = and(vec![deep]);
    }
    let many = and((0..=MAX_CONDITIONS)
        .map(|_| rule("hostname", "eq", json!("x")))
        .collect());
    let cases: Vec<(serde_json::Value, &str, &str)> = vec![
        (json!([]), "filter", "expected an object"),
        (json!({"rules": []}), "logic", "missing"),
        (
            json!({"logic": "XOR", "rules": []}),
            "logic",
            "not AND or OR",
        ),
        (json!({"logic": "AND"}), "rules", "missing"),
        (
            json!({"logic": "AND", "rules": [], "x": 1}),
            "filter",
            "unknown key \"x\"",
        ),
        (
            and(vec![rule("nope", "eq", json!("x"))]),
            "rules[0].field",
            "unknown field",
        ),
        (
            and(vec![rule("dhcp_options.99999", "eq", json!("x"))]),
            "rules[0].field",
            "unknown field",
        ),
        (
            and(vec![json!({"field": "hostname", "value": "x"})]),
            "rules[0].operator",
            "missing",
        ),
        (
            and(vec![json!({"field": "hostname", "operator": "eq"})]),
            "rules[0].value",
            "missing",
        ),
        (
            and(vec![rule("hostname", "like", json!("x"))]),
            "rules[0].operator",
            "unknown operator",
        ),
        (
            and(vec![rule("hostname", "gt", json!(1))]),
            "rules[0].operator",
            "numeric fields only",
        ),
        (
            and(vec![rule("lease_time", "contains", json!("1"))]),
            "rules[0].operator",
            "text fields only",
        ),
        (
            and(vec![rule("lease_time", "eq", json!("soon"))]),
            "rules[0].value",
            "not a number",
        ),
        (
            and(vec![rule("hostname", "eq", json!(["a"]))]),
            "rules[0].value",
            "single value",
        ),
        (
            and(vec![rule("hostname", "in", json!([]))]),
            "rules[0].value",
            "1 to",
        ),
        (
            and(vec![rule("hostname", "in", json!(3))]),
            "rules[0].value",
            "expected a list",
        ),
        (
            and(vec![rule("hostname", "regex", json!("(unclosed"))]),
            "rules[0].value",
            "bad regex",
        ),
        (
            and(vec![rule("hostname", "regex", json!("[a-z]{1000}{1000}"))]),
            "rules[0].value",
            "bad regex",
        ),
        (
            and(vec![rule("hostname", "eq", json!("x".repeat(300)))]),
            "rules[0].value",
            "longer than",
        ),
        (
            and(vec![or(vec![rule("hostname", "eq", json!(true))])]),
            "rules[0].rules[0].value",
            "single value",
        ),
        (deep, "rules[0]", "deeper than"),
        (many, "rules[64]", "more than 64"),
    ];
    for (filter, path_end, message) in cases {
        let e = Filter::from_json(&filter).expect_err(&filter.to_string());
        assert!(
            e.path.ends_with(path_end) && e.message.contains(message),
            "{filter}: got {e}, expected …{path_end}: …{message}…"
        );
    }
    assert!(Filter::parse("{not json")
        .unwrap_err()
        .message
        .contains("not valid JSON"));
}

#[test]
fn equality_follows_the_source() {
    let a = Filter::parse(r#"{"logic":"AND","rules":[]}"#).unwrap();
    assert_eq!(a, Filter::all());
    assert_ne!(a, Filter::parse(r#"{"logic":"OR","rules":[]}"#).unwrap());
}
