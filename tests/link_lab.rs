//! The WAN link's real life in the lab, with the real daemon, udhcpc, dibbler-client and Kea:
//! a tentative link-local address at boot, an interface created after the daemon started,
//! carrier loss, admin down/up, and the interface deleted and created again. The daemon follows
//! the interface from rtnetlink: it waits instead of failing, and keeps its leases.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use dhcpmgr_lab::{
    lab_or_skip, CtlEvents, DaemonConfig, Kea4Options, Kea6Options, Lab, ISP_IF, WAN_IF,
};

const WAIT: Duration = Duration::from_secs(30);
const PREF: &str = "tr_erouter0_dhcpv6_client_v6pref";

/// The lab's config with the DHCPv4 client `wan` and, when `v6`, the DHCPv6 client `wan6`,
/// both on erouter0.
fn config(lab: &Lab, v6: bool) -> DaemonConfig {
    let v4 = lab.daemon_config();
    if !v6 {
        return v4;
    }
    DaemonConfig {
        v4_clients: v4.v4_clients,
        ..lab.v6_daemon_config("")
    }
}

fn wait_for_v6_binding(lab: &Lab) -> (Ipv6Addr, String) {
    lab.wait_until(WAIT, "an IA_NA address and a delegated prefix", || {
        !lab.global_v6().is_empty() && lab.sysevent(PREF).is_some_and(|p| !p.is_empty())
    });
    (lab.global_v6()[0], lab.sysevent(PREF).unwrap_or_default())
}

fn daemon_log(lab: &Lab) -> String {
    std::fs::read_to_string(lab.daemon_log_path()).unwrap_or_default()
}

/// Nothing was given back to Kea DHCPv6 and it never handed out a second prefix.
fn assert_nothing_released(lab: &Lab, prefix: &str) {
    assert_eq!(lab.kea6_releases(), 0, "Kea saw a RELEASE");
    assert_eq!(lab.kea6_delegated_prefixes().len(), 1, "the prefix changed");
    let set_since = lab.sysevent(PREF);
    assert!(
        set_since.as_deref().is_none_or(|p| p == prefix),
        "the prefix system event moved to {set_since:?}"
    );
    let emptied: Vec<_> = lab
        .sysevents()
        .into_iter()
        .filter(|(k, v)| k.starts_with("tr_erouter0_dhcpv6_client") && v.is_empty())
        .collect();
    assert!(emptied.is_empty(), "bindings were dropped: {emptied:?}");
}

#[test]
fn dhcpv6_starts_once_dad_of_the_link_local_address_is_over() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    // DAD on, three probes (about 3 s), then the link down and up: the state at boot.
    for setting in ["accept_dad=1", "dad_transmits=3"] {
        lab.cpe().run_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{WAN_IF}.{setting}"),
        ]);
    }
    lab.cpe().ip(&["link", "set", WAN_IF, "down"]);
    lab.cpe().ip(&["link", "set", WAN_IF, "up"]);
    let mut cfg = config(&lab, true);
    cfg.v4_clients.clear();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    // Well before dibbler-client's 30 s retry that a start during DAD cost.
    lab.wait_until(
        Duration::from_secs(15),
        "a DHCPv6 binding soon after DAD",
        || !lab.global_v6().is_empty() && lab.sysevent(PREF).is_some_and(|p| !p.is_empty()),
    );
    let log = daemon_log(&lab);
    assert!(
        log.contains("waiting for link-local address on erouter0"),
        "the daemon did not wait for DAD\n{}",
        lab.diagnostics()
    );
    assert_eq!(
        lab.tr181_value("Device.DHCPv6.Client.1.Status"),
        "Enabled",
        "a wait is not an error"
    );
}

#[test]
fn an_interface_created_after_the_daemon_started_gets_its_lease() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.delete_wan();
    let config = lab.write_daemon_config(&config(&lab, false));
    let _daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "the client says it waits", || {
        daemon_log(&lab).contains("waiting for erouter0")
    });
    // Long enough for several crash-loop backoffs if a missing interface counted as a crash.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        lab.udhcpc_count(),
        0,
        "udhcpc started on a missing interface"
    );
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Status"), "Enabled");
    assert!(
        !daemon_log(&lab).contains("DHCP client ended unexpectedly"),
        "a missing interface counted as a crash\n{}",
        lab.diagnostics()
    );
    // The wait is visible in the data model and in `dhcpmgrctl status`.
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.X_DHCPMGR_Status.Waiting"),
        "waiting for erouter0"
    );
    let status = lab.ctl(&["status"]);
    assert!(
        status.contains("Enabled (waiting for erouter0)"),
        "dhcpmgrctl status: {status}"
    );
    lab.create_wan();
    lab.start_kea4(Kea4Options::default());
    let address = lab.wait_for_v4_lease();
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.X_DHCPMGR_Status.Waiting"),
        "",
        "a running client waits for nothing"
    );

    // The interface goes away again: the bus hears a ClientWaiting event for it.
    let events = CtlEvents::follow(&lab);
    lab.ctl(&["set", "Device.DHCPv4.Client.1.Alias=wan-uplink"]);
    assert!(
        events.saw("wan-uplink", WAIT),
        "dhcpmgrctl events is not following the bus"
    );
    lab.delete_wan();
    let waiting = events.wait_for("ClientWaiting", WAIT, |e| {
        e.object_path == "Device.DHCPv4.Client.1"
    });
    assert_eq!(
        waiting.data.get("interface").map(String::as_str),
        Some(WAN_IF)
    );
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Status"), "Enabled");
}

#[test]
fn carrier_loss_keeps_leases_and_prefix_and_carrier_back_confirms_them() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    lab.start_kea6(Kea6Options::default());
    let config = lab.write_daemon_config(&config(&lab, true));
    let _daemon = lab.start_daemon(&config);
    let v4 = lab.wait_for_v4_lease();
    let (address, prefix) = wait_for_v6_binding(&lab);
    lab.clear_sysevents();
    // The ISP end goes down (keeping its own addresses): erouter0 loses carrier for 5 s.
    lab.isp().run_ok(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{ISP_IF}.keep_addr_on_down=1"),
    ]);
    lab.isp().ip(&["link", "set", ISP_IF, "down"]);
    lab.wait_until(WAIT, "the daemon saw the carrier go", || {
        daemon_log(&lab).contains("waiting for carrier on erouter0")
    });
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        lab.wan_v4_addresses(),
        vec![v4],
        "IPv4 address lost with carrier"
    );
    assert_eq!(
        lab.global_v6(),
        vec![address],
        "IA_NA address lost with carrier"
    );
    let events = |lab: &Lab, what: &str| daemon_log(lab).matches(what).count();
    let (v4_before, v6_before) = (events(&lab, "lease event"), events(&lab, "DHCPv6 event"));
    lab.isp().ip(&["link", "set", ISP_IF, "up"]);
    lab.wait_until(
        WAIT,
        "both leases confirmed after carrier came back",
        || events(&lab, "lease event") > v4_before && events(&lab, "DHCPv6 event") > v6_before,
    );
    assert_eq!(
        events(&lab, "link ready again; confirming the lease"),
        2,
        "each client confirms once"
    );
    assert_eq!(lab.wan_v4_addresses(), vec![v4]);
    assert_eq!(lab.global_v6(), vec![address]);
    assert_nothing_released(&lab, &prefix);
    assert!(
        !lab.kea4_log().contains("DHCP4_RELEASE"),
        "Kea DHCPv4 saw a RELEASE"
    );
}

#[test]
fn admin_down_and_up_puts_the_ia_na_address_back_and_keeps_the_prefix() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    let mut cfg = config(&lab, true);
    cfg.v4_clients.clear();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    let (address, prefix) = wait_for_v6_binding(&lab);
    lab.clear_sysevents();
    lab.cpe().ip(&["link", "set", WAN_IF, "down"]);
    lab.wait_until(WAIT, "the kernel flushed the IA_NA address", || {
        lab.global_v6().is_empty()
    });
    lab.cpe().ip(&["link", "set", WAN_IF, "up"]);
    lab.wait_until(WAIT, "the IA_NA address is back", || {
        lab.global_v6() == vec![address]
    });
    assert!(
        daemon_log(&lab).contains("IA_NA address put back"),
        "the address came back without the daemon\n{}",
        lab.diagnostics()
    );
    lab.wait_until(WAIT, "dibbler-client confirmed its bindings", || {
        daemon_log(&lab).contains("link ready again; confirming the lease")
    });
    assert_nothing_released(&lab, &prefix);
}

#[test]
fn a_deleted_and_recreated_interface_gets_the_same_lease_back() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&config(&lab, false));
    let _daemon = lab.start_daemon(&config);
    let address: Ipv4Addr = lab.wait_for_v4_lease();
    lab.delete_wan();
    lab.wait_until(WAIT, "udhcpc stopped with its interface", || {
        lab.udhcpc_count() == 0
    });
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Status"), "Enabled");
    lab.create_wan();
    lab.restart_kea4();
    lab.wait_until(WAIT, "the address is back on the new interface", || {
        lab.wan_v4_addresses() == vec![address]
    });
    let (_, cmdline) = lab.udhcpc_cmdline(WAN_IF).expect("udhcpc runs again");
    let requested = address.to_string();
    assert!(
        cmdline
            .windows(2)
            .any(|w| w[0] == "-r" && w[1] == requested),
        "udhcpc must ask for the held address: {cmdline:?}"
    );
    assert!(
        !lab.kea4_log().contains("DHCP4_RELEASE"),
        "the lease was released"
    );
}
