//! DHCPv4 end to end in the lab: real Kea, real busybox udhcpc, the real daemon, plugin and
//! dhcpmgrctl, in network namespaces. Needs root; see docs/testing.md.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "support/udhcpc_plugin.rs"]
mod udhcpc_plugin;

use dhcpmgr_lab::{
    bin, lab_or_skip, AddressMonitor, Kea4Options, Lab, Signal, V4Client, LEASE_WAIT, WAN_IF,
};

fn udhcpc_pids(lab: &Lab) -> Vec<i32> {
    lab.cpe()
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("udhcpc"))
        })
        .collect()
}

/// Kea lease-file records for `address` that are active (bound or renewed).
fn kea_grants(lab: &Lab, address: Ipv4Addr) -> usize {
    lab.kea4_leases()
        .iter()
        .filter(|l| l.address == address && l.is_active())
        .count()
}

#[test]
fn lease_is_acquired_configured_and_reported() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options {
        mtu: Some(1480),
        ..Kea4Options::default()
    });
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();

    assert_eq!(lab.cpe().ipv4_addrs(WAN_IF), vec![(address, 24)]);
    assert_eq!(lab.cpe().mtu(WAN_IF), 1480, "option 26 applied");
    lab.wait_until(LEASE_WAIT, "dhcp_state sysevent", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
    });
    let ip = address.to_string();
    for (key, want) in [
        ("ipv4_erouter0_ipaddr", ip.as_str()),
        ("ipv4_erouter0_subnet", "255.255.255.0"),
        ("ipv4_erouter0_gw_0", "192.0.2.1"),
        ("ipv4_erouter0_dns_number", "1"),
        ("ipv4_erouter0_dns_0", "192.0.2.53"),
        ("ipv4_erouter0_dhcp_server", "192.0.2.1"),
        ("ipv4_erouter0_lease_time", "3600"),
    ] {
        assert_eq!(lab.sysevent(key).as_deref(), Some(want), "{key}");
    }
    // Routes are WAN Manager's job: none installed by default.
    let routes = lab.cpe().run_ok(&["ip", "-4", "route", "show", "default"]);
    assert!(
        routes.trim().is_empty(),
        "unexpected default route: {routes}"
    );

    let status: serde_json::Value =
        serde_json::from_str(&lab.ctl(&["status", "--json"])).expect("status --json is JSON");
    let text = status.to_string();
    assert!(text.contains(&ip), "status shows the address: {text}");
    let got = lab.ctl(&[
        "get",
        "Device.DHCPv4.Client.1.IPAddress",
        "Device.DHCPv4.Client.1.DHCPStatus",
    ]);
    assert!(got.contains(&ip) && got.contains("Bound"), "{got}");
}

#[test]
fn renew_keeps_the_address_and_dhcpmgrctl_renew_reaches_the_server() {
    let Some(mut lab) = lab_or_skip() else { return };
    // busybox udhcpc renews at half the lease time and treats leases under 30 s as 30 s.
    lab.start_kea4(Kea4Options {
        valid_lifetime: 30,
        renew_timer: 15,
        rebind_timer: 25,
        ..Kea4Options::default()
    });
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let monitor = AddressMonitor::start(&lab, WAN_IF);
    let address = lab.wait_for_v4_lease();
    lab.wait_until(Duration::from_secs(25), "a renewal seen by Kea", || {
        kea_grants(&lab, address) >= 2
    });
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert!(
        !monitor.events().iter().any(|(added, _)| !added),
        "an address was removed during renewals: {:?}",
        monitor.events()
    );

    // A manual renew on a long lease.
    lab.start_kea4(Kea4Options::default());
    let before = kea_grants(&lab, address);
    lab.ctl(&["renew", "wan"]);
    lab.wait_until(
        Duration::from_secs(10),
        "Kea saw the requested renew",
        || kea_grants(&lab, address) > before,
    );
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
}

#[test]
fn changed_lease_moves_the_address_without_a_gap() {
    let Some(mut lab) = lab_or_skip() else { return };
    let first = Ipv4Addr::new(192, 0, 2, 150);
    let second = Ipv4Addr::new(192, 0, 2, 160);
    lab.start_kea4(Kea4Options {
        pool: first..=first,
        ..Kea4Options::default()
    });
    let config = lab.write_daemon_config(&lab.daemon_config());
    let daemon = lab.start_daemon(&config);
    assert_eq!(lab.wait_for_v4_lease(), first);
    daemon.terminate();
    assert_eq!(
        lab.wan_v4_addresses(),
        vec![first],
        "orderly stop keeps the address"
    );

    // The ISP renumbers: the restarted client asks for .150 again and is offered .160.
    std::fs::remove_file(lab.dir().join("kea4-leases.csv")).expect("drop Kea's leases");
    lab.start_kea4(Kea4Options {
        pool: second..=second,
        ..Kea4Options::default()
    });
    let monitor = AddressMonitor::start(&lab, WAN_IF);
    let _daemon = lab.start_daemon(&config);
    lab.wait_until(LEASE_WAIT, "the address moved to .160", || {
        lab.wan_v4_addresses() == vec![second]
    });
    let events = monitor.events();
    let added = events.iter().position(|e| *e == (true, second));
    let removed = events.iter().position(|e| *e == (false, first));
    assert!(
        matches!((added, removed), (Some(a), Some(r)) if a < r),
        "new address must be added before the old one is removed: {events:?}"
    );
    // System events are set off the lease path: wait for them.
    lab.wait_until(
        Duration::from_secs(5),
        "the ipaddr sysevent for .160",
        || lab.sysevent("ipv4_erouter0_ipaddr").as_deref() == Some("192.0.2.160"),
    );
}

#[test]
fn lease_expires_when_the_server_is_gone() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options {
        valid_lifetime: 8,
        renew_timer: 4,
        rebind_timer: 6,
        ..Kea4Options::default()
    });
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    lab.stop_kea4();
    lab.wait_until(
        Duration::from_secs(20),
        "the expired lease is deconfigured",
        || !lab.wan_v4_addresses().contains(&address),
    );
    lab.wait_until(Duration::from_secs(5), "sysevents cleared", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("deconfig")
    });
    assert_eq!(lab.sysevent("ipv4_erouter0_ipaddr").as_deref(), Some(""));
    let got = lab.ctl(&["get", "Device.DHCPv4.Client.1.IPAddress"]);
    assert!(!got.contains(&address.to_string()), "{got}");
}

#[test]
fn killed_udhcpc_is_restarted_and_the_lease_kept() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    let monitor = AddressMonitor::start(&lab, WAN_IF);
    let old = udhcpc_pids(&lab);
    assert_eq!(old.len(), 1, "one udhcpc: {old:?}");
    let grants = kea_grants(&lab, address);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old[0]), Signal::SIGKILL)
        .expect("kill udhcpc");
    lab.wait_until(Duration::from_secs(10), "a new udhcpc bound again", || {
        let now = udhcpc_pids(&lab);
        now.len() == 1 && now != old && kea_grants(&lab, address) > grants
    });
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert!(
        monitor.events().is_empty(),
        "address flapped: {:?}",
        monitor.events()
    );
    let zombies: Vec<i32> = lab
        .cpe()
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            })
        })
        .collect();
    assert!(zombies.is_empty(), "zombie processes: {zombies:?}");
}

#[test]
fn default_route_is_installed_only_when_configured() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let mut cfg = lab.daemon_config();
    cfg.v4_clients[0].extra = "default_route = true".into();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    lab.wait_for_v4_lease();
    lab.wait_until(
        Duration::from_secs(5),
        "default route via the router",
        || {
            lab.cpe()
                .run_ok(&["ip", "-4", "route", "show", "default"])
                .contains("via 192.0.2.1 dev erouter0")
        },
    );
}

#[test]
fn daemon_sigkill_and_restart_keeps_the_lease_without_a_flap() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&lab.daemon_config());
    let daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    lab.wait_until(LEASE_WAIT, "sysevents sent", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
    });
    let monitor = AddressMonitor::start(&lab, WAN_IF);
    lab.clear_sysevents();
    daemon.sigkill();
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    let grants = kea_grants(&lab, address);

    let _daemon = lab.start_daemon(&config);
    lab.wait_until(
        LEASE_WAIT,
        "the restarted client got the same lease",
        || kea_grants(&lab, address) > grants,
    );
    lab.wait_until(Duration::from_secs(5), "only one udhcpc left", || {
        udhcpc_pids(&lab).len() == 1
    });
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert!(
        monitor.events().is_empty(),
        "address flapped: {:?}",
        monitor.events()
    );
    let resent: Vec<_> = lab
        .sysevents()
        .into_iter()
        .filter(|(k, _)| k != "ipv4_erouter0_start_time")
        .collect();
    assert!(
        resent.is_empty(),
        "unchanged sysevents were sent again: {resent:?}"
    );
    let got = lab.ctl(&["get", "Device.DHCPv4.Client.1.IPAddress"]);
    assert!(got.contains(&address.to_string()), "{got}");
}

#[test]
fn release_gives_the_lease_back_to_the_server() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    lab.ctl(&["release", "wan"]);
    lab.wait_until(Duration::from_secs(10), "Kea recorded the release", || {
        lab.kea4_leases()
            .last()
            .is_some_and(|l| l.address == address && !l.is_active())
    });
    lab.wait_until(Duration::from_secs(5), "address removed", || {
        lab.wan_v4_addresses().is_empty()
    });
    lab.wait_until(Duration::from_secs(5), "udhcpc stopped", || {
        udhcpc_pids(&lab).is_empty()
    });
    let status = lab.ctl(&["get", "Device.DHCPv4.Client.1.Status"]);
    assert!(status.contains("Disabled"), "{status}");

    lab.ctl(&["restart", "wan"]);
    assert_eq!(lab.wait_for_v4_lease(), address);
}

fn plugin_env(lab: &Lab, run_dir: &Path, address: &str) -> Command {
    let mut cmd = udhcpc_plugin::bound_command(lab, run_dir, address);
    cmd.env("serverid", "192.0.2.1");
    cmd
}

#[test]
fn plugin_spools_while_the_daemon_is_down_and_the_daemon_applies_it() {
    let Some(lab) = lab_or_skip() else { return };
    // No Kea: the client's udhcpc gets nothing, so the spooled event is the only lease.
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let out = plugin_env(&lab, &cfg.run_dir, "192.0.2.77")
        .output()
        .expect("run plugin");
    assert!(out.status.success(), "plugin must exit 0: {out:?}");
    let spooled = std::fs::read_dir(cfg.run_dir.join("spool")).map_or(0, |d| d.count());
    assert_eq!(spooled, 1, "one spooled message");
    assert!(lab.wan_v4_addresses().is_empty());

    let _daemon = lab.start_daemon(&config);
    lab.wait_until(Duration::from_secs(10), "spooled lease applied", || {
        lab.wan_v4_addresses() == vec![Ipv4Addr::new(192, 0, 2, 77)]
    });
    let left = std::fs::read_dir(cfg.run_dir.join("spool")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "spool drained");
    lab.wait_until(Duration::from_secs(5), "the ipaddr sysevent", || {
        lab.sysevent("ipv4_erouter0_ipaddr").as_deref() == Some("192.0.2.77")
    });
}

fn exchange(socket: &Path, bytes: &[u8]) -> Option<dhcpmgr_ipc::Reply> {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon socket");
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    let body = reply.get(4..)?;
    serde_json::from_slice(body).ok()
}

#[test]
fn malformed_ipc_is_rejected_and_changes_nothing() {
    let Some(lab) = lab_or_skip() else { return };
    // No Kea: the client's udhcpc gets nothing, so the plugin's events are the only leases.
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let mut daemon = lab.start_daemon(&config);
    let out = plugin_env(&lab, &cfg.run_dir, "192.0.2.77")
        .output()
        .expect("run plugin");
    assert!(out.status.success());
    lab.wait_until(Duration::from_secs(5), "valid lease applied", || {
        lab.wan_v4_addresses() == vec![Ipv4Addr::new(192, 0, 2, 77)]
    });
    let socket = cfg.run_dir.join("ipc.sock");
    let frame = |body: &[u8]| {
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    };
    let wrong_version = br#"{"version": 99, "event": {}}"#;
    let bad_schema = br#"{"version": 1, "created_unix_ms": 1, "client_pid": 1, "client": "wan", "event": {"v4": {"interface": "erouter0", "kind": "bound", "lease": {"address": "999.1.1.1"}}}}"#;
    let hostile_lease = br#"{"version": 1, "created_unix_ms": 99999999999999, "client_pid": 1, "client": "wan", "event": {"v4": {"interface": "erouter0", "kind": "bound", "lease": {"address": "255.255.255.255", "prefix_len": 24, "routers": [], "dns_servers": [], "domain": null, "lease_secs": 60, "renewal_secs": null, "rebinding_secs": null, "server_id": null, "mtu": null, "broadcast": null, "static_routes": [], "hostname": null, "ntp_servers": [], "raw_options": {}, "other": {}}}}}"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", frame(b"\x00\xffnot json")),
        ("wrong version", frame(wrong_version)),
        ("bad schema", frame(bad_schema)),
        ("unusable address", frame(hostile_lease)),
        ("oversized", (u32::MAX).to_be_bytes().to_vec()),
        ("truncated", vec![0, 0, 1, 0, b'{']),
    ];
    for (what, bytes) in cases {
        let reply = exchange(&socket, &bytes);
        assert!(
            reply
                .as_ref()
                .is_some_and(|r| !r.accepted && !r.reason.is_empty()),
            "{what}: expected a rejection with a reason, got {reply:?}"
        );
    }
    // A sender that is neither root nor the daemon's user is refused even if it can connect
    // (the socket is 0600; open it up here to reach the SO_PEERCRED check).
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .expect("chmod socket");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin("dhcpmgr-udhcpc-plugin"))
        .arg("bound")
        .env_clear()
        .env("DHCPMGR_SOCKET", &socket)
        .env("DHCPMGR_SPOOL_DIR", lab.dir().join("nobody-spool"))
        .env("DHCPMGR_CLIENT", "wan")
        .env("interface", WAN_IF)
        .env("ip", "192.0.2.99")
        .env("mask", "24")
        .output()
        .expect("run the plugin as nobody");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("uid 65534"),
        "rejection names the uid: {said}"
    );
    assert!(
        daemon.is_running(),
        "daemon survived:\n{}",
        daemon.log_tail()
    );
    assert_eq!(lab.wan_v4_addresses(), vec![Ipv4Addr::new(192, 0, 2, 77)]);
    let out = plugin_env(&lab, &cfg.run_dir, "192.0.2.78")
        .output()
        .expect("run plugin");
    assert!(out.status.success());
    lab.wait_until(
        Duration::from_secs(5),
        "later valid lease still applied",
        || lab.wan_v4_addresses() == vec![Ipv4Addr::new(192, 0, 2, 78)],
    );
}

#[test]
fn sighup_applies_added_removed_and_changed_clients_only() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let mut daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    lab.cpe().ip(&[
        "link",
        "add",
        "wan2",
        "type",
        "veth",
        "peer",
        "name",
        "wan2-peer",
    ]);
    // Both ends up: a client starts only once its interface has carrier.
    lab.cpe().ip(&["link", "set", "wan2-peer", "up"]);
    lab.cpe().ip(&["link", "set", "wan2", "up"]);
    let wan_pid = lab.udhcpc_on(WAN_IF).expect("udhcpc on erouter0");
    let monitor = AddressMonitor::start(&lab, WAN_IF);

    let mut added = cfg.clone();
    added.v4_clients.push(V4Client {
        alias: "wan2".into(),
        interface: "wan2".into(),
        ..V4Client::wan()
    });
    lab.write_daemon_config(&added);
    daemon.signal(Signal::SIGHUP);
    lab.wait_until(
        Duration::from_secs(10),
        "a udhcpc for the added client",
        || lab.udhcpc_on("wan2").is_some(),
    );
    assert_eq!(
        lab.udhcpc_on(WAN_IF),
        Some(wan_pid),
        "unchanged client untouched"
    );
    let alias = lab.ctl(&["get", "Device.DHCPv4.Client.2.Alias"]);
    assert!(alias.contains("wan2"), "{alias}");

    let mut changed = cfg.clone();
    changed.v4_clients[0].request_options.push(33);
    lab.write_daemon_config(&changed);
    daemon.signal(Signal::SIGHUP);
    lab.wait_until(
        Duration::from_secs(10),
        "removed client stopped, changed one restarted",
        || {
            lab.udhcpc_on("wan2").is_none()
                && lab.udhcpc_on(WAN_IF).is_some_and(|pid| pid != wan_pid)
        },
    );
    let out = lab
        .ctl_command()
        .args(["get", "Device.DHCPv4.Client.2.Alias"])
        .output()
        .expect("run dhcpmgrctl");
    assert!(!out.status.success(), "client 2 is gone");
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    assert!(
        monitor.events().is_empty(),
        "address flapped: {:?}",
        monitor.events()
    );

    std::fs::write(&config, "[daemon]\nbogus = 1\n").expect("write broken config");
    daemon.signal(Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        daemon.is_running(),
        "a broken config on reload is refused, not fatal"
    );
    assert!(lab.udhcpc_on(WAN_IF).is_some());
}

#[test]
fn corrupt_state_file_is_set_aside_and_the_daemon_starts() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    std::fs::write(
        cfg.state_dir.join("v4-wan.json"),
        b"{\"held\": {\"lease\": ",
    )
    .expect("write");
    let _daemon = lab.start_daemon(&config);
    lab.wait_for_v4_lease();
    assert!(cfg.state_dir.join("v4-wan.json.corrupt").exists());
}
