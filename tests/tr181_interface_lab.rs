//! `Interface` written the way RDK-B's WAN Manager writes it, against the real daemon in the lab
//! (real Kea, udhcpc and dbus-daemon): set `Interface` to the Linux name, then `Enable=true`,
//! and the client runs on that interface and gets its lease; `Interface` and
//! `X_RDK_LinuxInterface` read back that name, across a daemon restart. Needs root; see the
//! README's Tests section.

use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, WAN_IF};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn wan_manager_sets_interface_then_enable_and_the_client_gets_its_lease() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let mut daemon_config = lab.daemon_config();
    // The file's client is disabled, on an interface WAN Manager will replace.
    daemon_config.v4_clients[0].enable = false;
    daemon_config.v4_clients[0].interface = "wan-later".into();
    let config = lab.write_daemon_config(&daemon_config);
    let daemon = lab.start_daemon(&config);
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.Interface"),
        "wan-later"
    );

    lab.ctl(&["set", &format!("Device.DHCPv4.Client.1.Interface={WAN_IF}")]);
    lab.ctl(&["set", "Device.DHCPv4.Client.1.Enable=true"]);
    lab.wait_until(
        WAIT,
        "the client bound on the interface WAN Manager named",
        || lab.tr181_value("Device.DHCPv4.Client.1.DHCPStatus") == "Bound",
    );
    let address = lab.tr181_value("Device.DHCPv4.Client.1.IPAddress");
    let on_interface = lab
        .cpe()
        .addrs(WAN_IF)
        .iter()
        .any(|(a, _)| a.to_string() == address);
    assert!(on_interface, "{address} on {WAN_IF}");
    for name in ["Interface", "X_RDK_LinuxInterface"] {
        assert_eq!(
            lab.tr181_value(&format!("Device.DHCPv4.Client.1.{name}")),
            WAN_IF,
            "{name}"
        );
    }
    // A Device.IP.Interface reference is refused with the reason, and changes nothing.
    let out = lab
        .ctl_command()
        .args([
            "set",
            "Device.DHCPv4.Client.1.Interface=Device.IP.Interface.1",
        ])
        .output()
        .expect("run dhcpmgrctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("Linux interface name") && stderr.contains("9007"),
        "{stderr}"
    );
    // Stored like any write: the name survives a restart.
    daemon.terminate();
    let _daemon = lab.start_daemon(&config);
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Interface"), WAN_IF);
    lab.wait_until(WAIT, "bound again after the restart", || {
        lab.tr181_value("Device.DHCPv4.Client.1.DHCPStatus") == "Bound"
    });
}
