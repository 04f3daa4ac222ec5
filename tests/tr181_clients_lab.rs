//! AddObject/DeleteObject on `Device.DHCPv4.Client.` against the real daemon in the lab (real
//! Kea, udhcpc and dbus-daemon): a deleted client stops and gives up its address, an added one
//! runs once it has an interface, both survive a daemon restart with their instance numbers,
//! and `dhcpmgrctl factory-reset` brings back the configuration file's client. Needs root; see
//! docs/testing.md.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Lab, WAN_IF};

const WAIT: Duration = Duration::from_secs(15);

/// Waits until client `instance` is bound and returns its address as TR-181 shows it.
fn wait_bound(lab: &Lab, instance: u32) -> String {
    let status = format!("Device.DHCPv4.Client.{instance}.DHCPStatus");
    lab.wait_until(WAIT, &format!("client {instance} bound"), || {
        lab.tr181_value(&status) == "Bound"
    });
    lab.tr181_value(&format!("Device.DHCPv4.Client.{instance}.IPAddress"))
}

/// `dhcpmgrctl ARGS…`, expected to fail: its standard error.
fn refused(lab: &Lab, args: &[&str]) -> String {
    let out = lab
        .ctl_command()
        .args(args)
        .output()
        .expect("run dhcpmgrctl");
    assert!(!out.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn clients_added_and_deleted_over_tr181_run_persist_and_a_factory_reset_undoes_them() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let daemon_config = lab.daemon_config();
    let writes = daemon_config.state_dir.join("tr181-writes.json");
    let config = lab.write_daemon_config(&daemon_config);
    let daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();

    let added = lab.ctl(&["add", "Device.DHCPv4.Client."]);
    assert_eq!(added.trim(), "Device.DHCPv4.Client.2.");
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.2.Alias"), "cpe-2");
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.2.Status"), "Disabled");
    // Two DHCP clients cannot run on one interface: refused, naming the parameter.
    let stderr = refused(
        &lab,
        &[
            "set",
            &format!("Device.DHCPv4.Client.2.X_RDK_LinuxInterface={WAN_IF}"),
            "Device.DHCPv4.Client.2.Enable=true",
        ],
    );
    assert!(
        stderr.contains("Client.2.X_RDK_LinuxInterface") && stderr.contains("9007"),
        "{stderr}"
    );
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.2.Enable"), "false");

    // The configuration file's client goes: its udhcpc stops and its address goes.
    lab.ctl(&["delete", "Device.DHCPv4.Client.1."]);
    lab.wait_until(WAIT, "udhcpc stopped and the address gone", || {
        lab.udhcpc_on(WAN_IF).is_none() && lab.wan_v4_addresses().is_empty()
    });
    assert_eq!(lab.tr181_value("Device.DHCPv4.ClientNumberOfEntries"), "1");
    // The last DHCPv4 client stays (BBF minEntries 1).
    let stderr = refused(&lab, &["delete", "Device.DHCPv4.Client.2."]);
    assert!(stderr.contains("minEntries"), "{stderr}");

    // The added client takes the interface over and binds, with the client identifier the
    // interface's MAC address gives: Kea hands out the same address.
    lab.ctl(&[
        "set",
        &format!("Device.DHCPv4.Client.2.X_RDK_LinuxInterface={WAN_IF}"),
        "Device.DHCPv4.Client.2.Enable=true",
    ]);
    assert_eq!(wait_bound(&lab, 2), address.to_string());
    assert_eq!(lab.wait_for_v4_lease(), address);
    assert!(
        writes.exists(),
        "the added and the deleted client are stored"
    );

    // Across a restart the deleted client stays deleted and the added one keeps its number.
    let status = daemon.terminate();
    assert!(status.success(), "{status:?}");
    let daemon = lab.start_daemon(&config);
    assert_eq!(lab.tr181_value("Device.DHCPv4.ClientNumberOfEntries"), "1");
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.2.Alias"), "cpe-2");
    assert_eq!(wait_bound(&lab, 2), address.to_string());
    // Numbers are never given twice, even after a restart.
    let added = lab.ctl(&["add", "Device.DHCPv4.Client."]);
    assert_eq!(added.trim(), "Device.DHCPv4.Client.3.");
    lab.ctl(&["delete", "Device.DHCPv4.Client.3."]);

    // A factory reset removes the added client and brings the file's back under a new number.
    lab.ctl(&["factory-reset"]);
    lab.wait_until(WAIT, "the file's client back as client 4", || {
        lab.tr181_value("Device.DHCPv4.ClientNumberOfEntries") == "1"
            && lab.tr181_value("Device.DHCPv4.Client.4.Alias") == "wan"
    });
    assert_eq!(wait_bound(&lab, 4), address.to_string());
    assert!(!writes.exists(), "nothing written is left");
    drop(daemon);
}
