//! One alias on a DHCPv4 and a DHCPv6 client (RDK configurations name both `wan`): the daemon
//! accepts the configuration, and `dhcpmgrctl` refuses to guess which client an alias command
//! means, naming both paths. Real daemon, real udhcpc and Kea in the lab; needs root.

use dhcpmgr_lab::{lab_or_skip, Kea4Options};

#[test]
fn an_alias_of_both_families_is_refused_by_the_cli_and_a_path_still_works() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let mut cfg = lab.daemon_config();
    cfg.extra_toml =
        "[[dhcpv6.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\nenable = false\n".into();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();

    for command in ["disable", "renew", "release", "restart", "enable"] {
        let out = lab
            .ctl_command()
            .args([command, "wan"])
            .output()
            .expect("run dhcpmgrctl");
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command} wan: {said}");
        assert!(
            said.contains("Device.DHCPv4.Client.1 and Device.DHCPv6.Client.1")
                && said.contains("give the path"),
            "{command} wan: {said}"
        );
    }
    // Nothing happened to either client.
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Enable"), "true");
    assert_eq!(lab.tr181_value("Device.DHCPv6.Client.1.Enable"), "false");
    assert_eq!(lab.wan_v4_addresses(), vec![address]);

    // The path names one client without doubt.
    lab.ctl(&["disable", "Device.DHCPv4.Client.1"]);
    lab.wait_until(
        std::time::Duration::from_secs(10),
        "the DHCPv4 client is disabled",
        || lab.tr181_value("Device.DHCPv4.Client.1.Status") == "Disabled",
    );
    assert_eq!(lab.tr181_value("Device.DHCPv6.Client.1.Enable"), "false");
}
