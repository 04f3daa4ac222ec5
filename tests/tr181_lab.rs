//! TR-181 writes against the real daemon in the lab (real Kea, udhcpc and dbus-daemon): option
//! rows added and written restart udhcpc with them without losing the lease, writes survive a
//! daemon restart, and `dhcpmgrctl factory-reset` returns to the configuration file. Needs root;
//! see docs/testing.md.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, AddressMonitor, Kea4Options, Lab, WAN_IF};

const RESTART_WAIT: Duration = Duration::from_secs(10);

/// Waits for a udhcpc on the WAN interface other than `old` whose arguments satisfy `wanted`;
/// returns its pid and arguments.
fn wait_for_udhcpc(
    lab: &Lab,
    old: i32,
    what: &str,
    wanted: impl Fn(&[String]) -> bool,
) -> (i32, Vec<String>) {
    let mut found = None;
    lab.wait_until(RESTART_WAIT, what, || {
        found = lab
            .udhcpc_cmdline(WAN_IF)
            .filter(|(pid, args)| *pid != old && wanted(args));
        found.is_some()
    });
    found.expect("checked by wait_until")
}

fn has_pair(args: &[String], flag: &str, value: &str) -> bool {
    args.windows(2).any(|w| w[0] == flag && w[1] == value)
}

#[test]
fn option_writes_restart_udhcpc_with_them_and_keep_the_lease() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    let (first, args) = lab.udhcpc_cmdline(WAN_IF).expect("udhcpc runs");
    assert!(has_pair(&args, "-O", "121"), "{args:?}");
    let monitor = AddressMonitor::start(&lab, WAN_IF);

    let added = lab.ctl(&["add", "Device.DHCPv4.Client.1.SentOption."]);
    assert_eq!(added.trim(), "Device.DHCPv4.Client.1.SentOption.1.");
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOption.1.Enable"),
        "false"
    );
    // ReqOption rows follow request_options = [1, 3, 6, 15, 26, 28, 42, 121, 125]: 121 is row 8.
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.ReqOption.8.Tag"),
        "121"
    );
    lab.ctl(&[
        "set",
        "Device.DHCPv4.Client.1.SentOption.1.Tag=77",
        "Device.DHCPv4.Client.1.SentOption.1.Value=6C6162",
        "Device.DHCPv4.Client.1.SentOption.1.Enable=true",
        "Device.DHCPv4.Client.1.ReqOption.8.Enable=false",
    ]);
    let (_, args) = wait_for_udhcpc(&lab, first, "udhcpc restarted with the new options", |a| {
        has_pair(a, "-x", "0x4d:6c6162") && !has_pair(a, "-O", "121")
    });
    assert!(has_pair(&args, "-r", &address.to_string()), "{args:?}");
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOption.1.Value"),
        "6c6162"
    );
    lab.wait_until(RESTART_WAIT, "the lease bound again", || {
        lab.tr181_value("Device.DHCPv4.Client.1.DHCPStatus") == "Bound"
    });
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert!(
        monitor.events().iter().all(|(added, _)| *added),
        "the address went away while the client restarted: {:?}",
        monitor.events()
    );

    // A refused write changes nothing, and says which parameter and why.
    let out = lab
        .ctl_command()
        .args(["set", "Device.DHCPv4.Client.1.SentOption.1.Tag=53"])
        .output()
        .expect("run dhcpmgrctl");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("InvalidParameterValue")
            && stderr.contains("SentOption.1.Tag")
            && stderr.contains("9007"),
        "{stderr}"
    );
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOption.1.Tag"),
        "77"
    );

    lab.ctl(&["delete", "Device.DHCPv4.Client.1.SentOption.1."]);
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOptionNumberOfEntries"),
        "0"
    );
}

#[test]
fn writes_survive_a_restart_and_factory_reset_returns_to_the_file() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let daemon_config = lab.daemon_config();
    let writes = daemon_config.state_dir.join("tr181-writes.json");
    let config = lab.write_daemon_config(&daemon_config);
    let daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();

    lab.ctl(&["add", "Device.DHCPv4.Client.1.SentOption."]);
    lab.ctl(&["add", "Device.DHCPv4.Client.1.SentOption."]);
    lab.ctl(&["delete", "Device.DHCPv4.Client.1.SentOption.1."]);
    lab.ctl(&[
        "set",
        "Device.DHCPv4.Client.1.Alias=wan-primary",
        "Device.DHCPv4.Client.1.SentOption.2.Alias=vendor",
        "Device.DHCPv4.Client.1.SentOption.2.Tag=60",
        "Device.DHCPv4.Client.1.SentOption.2.Value=6473",
        "Device.DHCPv4.Client.1.SentOption.2.Enable=true",
    ]);
    assert!(writes.exists(), "writes are stored in state_dir");

    let status = daemon.terminate();
    assert!(status.success(), "{status:?}");
    let _daemon = lab.start_daemon(&config);
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.Alias"),
        "wan-primary"
    );
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOption.2.Alias"),
        "vendor",
        "the row keeps its instance number across the restart"
    );
    let (pid, args) = lab.udhcpc_cmdline(WAN_IF).expect("udhcpc runs");
    assert!(has_pair(&args, "-V", "ds"), "option 60 as text: {args:?}");
    assert_eq!(lab.wait_for_v4_lease(), address);
    // A row added now gets a number never used before.
    let added = lab.ctl(&["add", "Device.DHCPv4.Client.1.SentOption."]);
    assert_eq!(added.trim(), "Device.DHCPv4.Client.1.SentOption.3.");

    let said = lab.ctl(&["factory-reset"]);
    assert!(said.contains("configuration file"), "{said}");
    // The reset settings reach the data model with the controller's update (and ValuesChanged).
    lab.wait_until(RESTART_WAIT, "the configured alias back", || {
        lab.tr181_value("Device.DHCPv4.Client.1.Alias") == "wan"
    });
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.SentOptionNumberOfEntries"),
        "0"
    );
    assert!(!writes.exists(), "nothing written is left");
    wait_for_udhcpc(&lab, pid, "udhcpc restarted without the option", |a| {
        !a.iter().any(|arg| arg == "-V")
    });
    assert_eq!(lab.wait_for_v4_lease(), address);
}
