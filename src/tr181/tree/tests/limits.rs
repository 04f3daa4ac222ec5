//! The bounds of one request: names per request, name length, entries and bytes per reply,
//! duplicates answered once; over a bound, ResourcesExceeded before any rendering.

use super::*;
use crate::tr181::tree::limits::{
    ReplyBytes, MAX_NAMES, MAX_NAME_BYTES, MAX_REPLY_BYTES, MAX_REPLY_ENTRIES,
};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

/// A tree with more client values than one reply may carry (40 values a DHCPv4 client).
/// Built directly: applying each update would diff the whole tree every time.
fn huge_tree() -> Tree {
    let mut tree = tree(&[]);
    for i in 1..=(MAX_REPLY_ENTRIES / 40 + 10) as u32 {
        tree.v4_clients
            .insert(Instance(i), client(i, &format!("c{i}")));
    }
    tree
}

#[test]
fn too_many_names_are_refused_before_the_work_and_duplicates_answered_once() {
    let tree = tree(&[bound(1, "wan")]);
    let one = tree.get_values(&names(&["Device."]), NOW).expect("Device.");
    let many = vec!["Device.".to_string(); MAX_NAMES];
    assert_eq!(
        tree.get_values(&many, NOW),
        Ok(one.clone()),
        "answered once"
    );
    let flood = vec!["Device.".to_string(); 10_000];
    let fault = tree.get_values(&flood, NOW).expect_err("10000 names");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    assert!(fault.message.contains("at most 1024"), "{fault}");
    assert_eq!(fault.kind.code(), 9004);
    let twice = names(&[
        "Device.DHCPv4.Client.1.Alias",
        "Device.DHCPv4.Client.1.Alias",
    ]);
    assert_eq!(tree.get_values(&twice, NOW).map(|v| v.len()), Ok(1));
    // Overlapping paths are different names: each is answered.
    let overlap = names(&["Device.DHCPv4.Client.1.Alias", "Device.DHCPv4.Client.1."]);
    assert_eq!(tree.get_values(&overlap, NOW).map(|v| v.len()), Ok(1 + 40));
}

#[test]
fn over_long_names_are_no_such_name() {
    let tree = tree(&[bound(1, "wan")]);
    let long = format!("Device.{}", "x".repeat(MAX_NAME_BYTES));
    for fault in [
        tree.get_values(std::slice::from_ref(&long), NOW)
            .expect_err("get"),
        tree.get_names(&long, false).expect_err("names"),
        tree.plan_set(&[(long.clone(), "1".into())])
            .expect_err("set"),
        tree.plan_operate(&format!("{long}()"), &HashMap::new())
            .expect_err("operate"),
    ] {
        assert_eq!(fault.kind, FaultKind::InvalidParameterName, "{fault}");
        assert!(fault.message.len() < 200, "the name is cut: {fault}");
    }
}

#[test]
fn replies_with_too_many_entries_are_refused_and_smaller_subtrees_answered() {
    let tree = huge_tree();
    let fault = tree
        .get_values(&names(&["Device."]), NOW)
        .expect_err("all of it");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    assert!(fault.message.contains("16384 values"), "{fault}");
    let fault = tree.get_names("", false).expect_err("all names");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    let fault = tree
        .get_names("Device.DHCPv4.", false)
        .expect_err("the table");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    // One client, or one level, is answered.
    let client = tree.get_values(&names(&["Device.DHCPv4.Client.7."]), NOW);
    assert_eq!(client.map(|v| v.len()), Ok(40));
    let level = tree.get_names("Device.DHCPv4.Client.", true).expect("rows");
    assert_eq!(level.len(), MAX_REPLY_ENTRIES / 40 + 10);
    // The bound counts from the definition: never less than what a reply carries.
    let small = names(&["Device.DHCPv4.Client.1.", "Device.DHCPv6."]);
    let carried = tree.get_values(&small, NOW).expect("values").len();
    assert!(tree.values_upper_bound(&small, usize::MAX) >= carried);
    let named = tree
        .get_names("Device.DHCPv4.Client.2.", false)
        .expect("names");
    assert!(tree.names_upper_bound("Device.DHCPv4.Client.2.", usize::MAX) >= named.len());
}

#[test]
fn writes_and_commands_are_bounded_too() {
    let tree = tree(&[bound(1, "wan")]);
    let values: Vec<(String, String)> = (0..=MAX_NAMES)
        .map(|i| (format!("Device.DHCPv4.Client.{i}.Alias"), "x".into()))
        .collect();
    let fault = tree.plan_set(&values).expect_err("257 values");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
    let args: HashMap<String, String> = (0..=MAX_NAMES)
        .map(|i| (format!("a{i}"), String::new()))
        .collect();
    let fault = tree
        .plan_operate("Device.DHCPv4.Client.1.Renew()", &args)
        .expect_err("257 arguments");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
}

#[test]
fn reply_bytes_stop_at_the_limit() {
    let mut bytes = ReplyBytes::default();
    let chunk = "x".repeat(1024);
    for _ in 0..MAX_REPLY_BYTES / 1024 {
        bytes.add(&[&chunk]).expect("within the limit");
    }
    let fault = bytes.add(&["y"]).expect_err("one byte over");
    assert_eq!(fault.kind, FaultKind::ResourcesExceeded, "{fault}");
}
