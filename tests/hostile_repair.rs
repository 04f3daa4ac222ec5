//! A lease event whose state cannot be written (a full disk, no file descriptors left) with
//! the real daemon and the real udhcpc plugin in the lab: the plugin is not told "accepted",
//! it spools the event; the lease is in force and TR-181 says so; once writing works again the
//! daemon stores the state by itself and applies the spooled event. Needs root.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcpmgr_lab::lab_or_skip;

#[path = "support/udhcpc_plugin.rs"]
mod udhcpc_plugin;

#[test]
fn an_unstored_lease_is_not_acknowledged_and_is_stored_at_the_next_chance() {
    let Some(lab) = lab_or_skip() else { return };
    // No Kea: udhcpc gets nothing; the plugin below is the only source of a lease.
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    // A directory where the state file goes: every write of it fails, as on a full disk.
    let state_file = cfg.state_dir.join("v4-wan.json");
    let _ = std::fs::remove_file(&state_file);
    std::fs::create_dir_all(state_file.join("in-the-way")).expect("block the state file");

    let spool = cfg.run_dir.join("spool");
    let out = udhcpc_plugin::bound(&lab, &cfg.run_dir, "192.0.2.77");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && said.contains("could not apply it yet")
            && said.contains("could not be stored"),
        "the plugin hears that the event is not stored: {said}"
    );
    assert_eq!(
        std::fs::read_dir(&spool).map_or(0, |d| d.count()),
        1,
        "spooled"
    );
    // In force, and the data model says what is in force.
    assert_eq!(lab.wan_v4_addresses(), vec![Ipv4Addr::new(192, 0, 2, 77)]);
    assert_eq!(
        lab.tr181_value("Device.DHCPv4.Client.1.IPAddress"),
        "192.0.2.77"
    );

    std::fs::remove_dir_all(&state_file).expect("unblock the state file");
    lab.wait_until(Duration::from_secs(15), "the state is stored again", || {
        std::fs::read_to_string(&state_file).is_ok_and(|t| t.contains("192.0.2.77"))
    });
    lab.wait_until(
        Duration::from_secs(15),
        "the spooled event is applied",
        || std::fs::read_dir(&spool).map_or(0, |d| d.count()) == 0,
    );
    assert_eq!(lab.wan_v4_addresses(), vec![Ipv4Addr::new(192, 0, 2, 77)]);
    lab.wait_until(Duration::from_secs(10), "the ipaddr system event", || {
        lab.sysevent("ipv4_erouter0_ipaddr").as_deref() == Some("192.0.2.77")
    });
}
