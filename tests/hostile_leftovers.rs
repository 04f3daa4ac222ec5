//! What the file says must be what runs: a client disabled or removed in the configuration
//! while the daemon was killed leaves no DHCP client running and no address behind after the
//! next start, and a disabled client applies no events. Real daemon, busybox udhcpc,
//! dibbler-client and Kea in the lab; needs root.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, DaemonConfig, DaemonProcess, Kea4Options, Kea6Options, Lab};

#[path = "support/udhcpc_plugin.rs"]
mod udhcpc_plugin;

const WAIT: Duration = Duration::from_secs(30);

/// Processes in the CPE namespace whose command line contains `marker`.
fn pids_of(lab: &Lab, marker: &str) -> Vec<i32> {
    lab.cpe()
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Starts the daemon with `cfg`, waits for a DHCPv4 lease, kills the daemon with SIGKILL and
/// returns the udhcpc it left running.
fn lease_then_kill_the_daemon(lab: &mut Lab, cfg: &DaemonConfig) -> i32 {
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(cfg);
    let daemon = lab.start_daemon(&config);
    lab.wait_for_v4_lease();
    lab.wait_until(WAIT, "the ipaddr sysevent", || {
        lab.sysevent("ipv4_erouter0_ipaddr")
            .is_some_and(|v| !v.is_empty())
    });
    let udhcpc = pids_of(lab, "udhcpc");
    assert_eq!(udhcpc.len(), 1, "one udhcpc: {udhcpc:?}");
    daemon.sigkill();
    assert!(alive(udhcpc[0]), "udhcpc outlives the killed daemon");
    udhcpc[0]
}

#[test]
fn a_client_disabled_while_the_daemon_was_down_is_stopped_and_holds_no_address() {
    let Some(mut lab) = lab_or_skip() else { return };
    let mut cfg = lab.daemon_config();
    let orphan = lease_then_kill_the_daemon(&mut lab, &cfg);
    let grants_before = lab.kea4_leases().len();

    cfg.v4_clients[0].enable = false;
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "the orphan udhcpc is gone", || !alive(orphan));
    assert!(pids_of(&lab, "udhcpc").is_empty(), "no udhcpc runs");
    lab.wait_until(WAIT, "the address is removed", || {
        lab.wan_v4_addresses().is_empty()
    });
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.IPAddress"), "");
    lab.wait_until(WAIT, "the system events say deconfig", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("deconfig")
            && lab.sysevent("ipv4_erouter0_ipaddr").as_deref() == Some("")
    });
    // Stopped without a RELEASE: the server still holds the lease for the client.
    let released = lab.kea4_leases()[grants_before..]
        .iter()
        .any(|l| !l.is_active());
    assert!(!released, "the orphan released its lease");

    // A bound for the disabled client is refused and changes nothing.
    let out = udhcpc_plugin::bound(&lab, &cfg.run_dir, "192.0.2.150");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is disabled"), "{said}");
    assert!(lab.wan_v4_addresses().is_empty());
}

#[test]
fn a_client_removed_while_the_daemon_was_down_is_stopped_and_its_address_removed() {
    let Some(mut lab) = lab_or_skip() else { return };
    let mut cfg = lab.daemon_config();
    let orphan = lease_then_kill_the_daemon(&mut lab, &cfg);
    let state = cfg.state_dir.join("v4-wan.json");
    assert!(state.exists(), "the client has state");

    cfg.v4_clients.clear();
    let config = lab.write_daemon_config(&cfg);
    let daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "the orphan udhcpc is gone", || !alive(orphan));
    lab.wait_until(WAIT, "the address is removed", || {
        lab.wan_v4_addresses().is_empty()
    });
    assert!(!state.exists(), "the removed client's state is forgotten");
    lab.wait_until(WAIT, "its system events are cleared", || {
        lab.sysevent("ipv4_erouter0_ipaddr").as_deref() == Some("")
            && lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("")
    });
    let log = std::fs::read_to_string(daemon.log_path()).unwrap_or_default();
    assert!(
        !log.contains("refus"),
        "no renewal of the orphan is refused over and over:\n{log}"
    );
}

fn v6_config(lab: &Lab, enable: bool) -> DaemonConfig {
    let mut cfg = lab.daemon_config();
    cfg.v4_clients.clear();
    cfg.daemon_extra = format!(
        "dibbler = {}",
        serde_json::Value::from(lab.dibbler_command().to_string_lossy().as_ref())
    );
    cfg.extra_toml = format!(
        "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\nenable = {enable}\n"
    );
    cfg
}

/// Binds wan6 with dibbler-client, kills the daemon, restarts it with `next`, and checks that
/// dibbler is gone and the IA_NA address off the interface; returns the running daemon.
fn dibbler_left_behind_is_stopped(lab: &mut Lab, next: &DaemonConfig) -> DaemonProcess {
    lab.start_kea6(Kea6Options::default());
    let first = v6_config(lab, true);
    let config = lab.write_daemon_config(&first);
    let daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "an IA_NA address", || !lab.global_v6().is_empty());
    lab.wait_until(WAIT, "the v6addr sysevent", || {
        lab.sysevent("tr_erouter0_dhcpv6_client_v6addr")
            .is_some_and(|v| !v.is_empty())
    });
    let dibbler = pids_of(lab, "dibbler-client");
    assert!(!dibbler.is_empty(), "dibbler-client runs");
    daemon.sigkill();
    let config = lab.write_daemon_config(next);
    let daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "the orphan dibbler-client is gone", || {
        dibbler.iter().all(|&p| !alive(p))
    });
    lab.wait_until(WAIT, "the IA_NA address is removed", || {
        lab.global_v6().is_empty()
    });
    daemon
}

#[test]
fn a_dhcpv6_client_disabled_or_removed_while_the_daemon_was_down_leaves_nothing_running() {
    let Some(mut lab) = lab_or_skip() else { return };
    let disabled = v6_config(&lab, false);
    let daemon = dibbler_left_behind_is_stopped(&mut lab, &disabled);
    assert_eq!(
        lab.tr181_value("Device.DHCPv6.Client.1.Enable"),
        "false",
        "the configuration's Enable"
    );
    drop(daemon);
    drop(lab);

    let Some(mut lab) = lab_or_skip() else { return };
    let mut removed = v6_config(&lab, true);
    removed.extra_toml.clear();
    let _daemon = dibbler_left_behind_is_stopped(&mut lab, &removed);
    assert!(!Path::new(&removed.state_dir.join("v6-wan6.json")).exists());
    assert!(
        !removed.run_dir.join("dibbler-wan6").exists(),
        "its dibbler work directory is gone too"
    );
}
