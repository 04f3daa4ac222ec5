//! System events when the `sysevent` command fails (syseventd not up yet at boot): the real
//! daemon, busybox udhcpc and Kea in the lab, with a `sysevent` stand-in that exits 1 until the
//! test lets it work. Needs root; see docs/testing.md.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Lab};

/// Longest wait for a retry: the backoff doubles from 1 s and is at most 60 s; recovering
/// within the first few seconds means the next try comes within 16 s.
const RETRY_WAIT: Duration = Duration::from_secs(40);

/// The keys of one standalone DHCPv4 lease, `dhcp_state` last.
fn expected(address: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ipv4_erouter0_ipaddr", address.to_string()),
        ("ipv4_erouter0_subnet", "255.255.255.0".into()),
        ("ipv4_erouter0_gw_0", "192.0.2.1".into()),
        ("ipv4_erouter0_dns_number", "1".into()),
        ("ipv4_erouter0_dns_0", "192.0.2.53".into()),
        ("ipv4_erouter0_dhcp_server", "192.0.2.1".into()),
        ("ipv4_erouter0_lease_time", "3600".into()),
        ("ipv4_erouter0_dhcp_state", "bound".into()),
    ]
}

/// Every expected key was set exactly once with its value, and `dhcp_state` after the rest.
fn check_all_set(lab: &Lab, address: &str) {
    let sets = lab.sysevents();
    for (key, want) in expected(address) {
        let values: Vec<&str> = sets
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values, [want.as_str()], "{key} in {sets:?}");
    }
    assert_eq!(
        sets.last().map(|(k, _)| k.as_str()),
        Some("ipv4_erouter0_dhcp_state"),
        "a listener woken by dhcp_state finds the rest set: {sets:?}"
    );
}

/// `dhcpmgrctl events`, printing into `<lab>/events.log`.
fn follow_events(lab: &Lab) -> (Child, std::path::PathBuf) {
    let path = lab.dir().join("events.log");
    let out = File::create(&path).expect("create events.log");
    let child = lab
        .ctl_command()
        .arg("events")
        .stdout(Stdio::from(out))
        .stderr(Stdio::null())
        .spawn()
        .expect("run dhcpmgrctl events");
    (child, path)
}

fn events(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `dhcpmgrctl status`'s output, reading the daemon's state in `state_dir`.
fn status(lab: &Lab, state_dir: &std::path::Path) -> String {
    let out = lab
        .ctl_command()
        .env("DHCPMGR_STATE_DIR", state_dir)
        .arg("status")
        .output()
        .expect("run dhcpmgrctl status");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn failing_sysevent_command_is_retried_in_order_until_it_recovers() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    lab.set_sysevent_failing(true);
    let daemon_config = lab.daemon_config();
    let config = lab.write_daemon_config(&daemon_config);
    let _daemon = lab.start_daemon(&config);
    let (mut follower, events_log) = follow_events(&lab);
    let address = lab.wait_for_v4_lease().to_string();

    // The first key in order fails and is tried again, rather than the next one.
    lab.wait_until(RETRY_WAIT, "the failing key is tried again", || {
        let failed = lab.failed_sysevents();
        failed.len() >= 2 && failed[failed.len() - 1] == failed[failed.len() - 2]
    });
    assert!(lab.sysevents().is_empty(), "{:?}", lab.sysevents());
    let shown = status(&lab, &daemon_config.state_dir);
    assert!(
        shown.contains(&address) && shown.contains("system events behind: "),
        "the lease is in force and the backlog shown: {shown}"
    );

    // A subscriber that joined after the first failure still hears about the next change;
    // make one by recovering, and expect both kinds in the log by the end.
    lab.set_sysevent_failing(false);
    lab.wait_until(RETRY_WAIT, "every key is set after recovery", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
    });
    check_all_set(&lab, &address);
    lab.wait_until(
        Duration::from_secs(10),
        "SysEventsCaughtUp on the bus",
        || events(&events_log).contains("SysEventsCaughtUp"),
    );
    let shown = status(&lab, &daemon_config.state_dir);
    assert!(!shown.contains("system events behind"), "{shown}");

    // Failing again: the next change (a release) is reported behind on the bus.
    lab.set_sysevent_failing(true);
    lab.ctl(&["release", "wan"]);
    lab.wait_until(RETRY_WAIT, "SysEventsBehind on the bus", || {
        events(&events_log).contains("SysEventsBehind")
    });
    let log = events(&events_log);
    let behind = log
        .lines()
        .find(|l| l.contains("SysEventsBehind"))
        .unwrap_or_default();
    assert!(
        behind.starts_with("Event Device.DHCPv4.Client.1 SysEventsBehind")
            && behind.contains("key=ipv4_erouter0_")
            && behind.contains("reason="),
        "{log}"
    );
    let _ = follower.kill();
    let _ = follower.wait();
}

#[test]
fn keys_a_failed_command_left_behind_are_set_after_a_daemon_restart() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    lab.set_sysevent_failing(true);
    let daemon_config = lab.daemon_config();
    let config = lab.write_daemon_config(&daemon_config);
    let daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease().to_string();
    lab.wait_until(RETRY_WAIT, "a sysevent call failed", || {
        !lab.failed_sysevents().is_empty()
    });
    daemon.sigkill();

    // What is wanted and not yet confirmed is on disk, not just in the dead daemon's memory.
    let ledger_path = daemon_config.state_dir.join("sysevents.json");
    let ledger: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&ledger_path).expect("the sysevent ledger is persisted"),
    )
    .expect("the ledger is JSON");
    let wanted = ledger["wanted"]["v4-wan"]["values"].to_string();
    assert!(wanted.contains(&address), "{ledger}");
    assert_eq!(ledger["confirmed"], serde_json::json!({}), "{ledger}");
    assert!(lab.sysevents().is_empty());

    lab.set_sysevent_failing(false);
    let _daemon = lab.start_daemon(&config);
    lab.wait_until(RETRY_WAIT, "every key is set after the restart", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
    });
    check_all_set(&lab, &address);
    lab.wait_until(
        Duration::from_secs(10),
        "the ledger confirms every key",
        || {
            std::fs::read_to_string(&ledger_path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|l| l["confirmed"]["ipv4_erouter0_ipaddr"] == address.as_str())
        },
    );
}
