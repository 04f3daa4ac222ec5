//! Hostile lease content and hostile IPC input against the real daemon in the lab: Kea sending
//! unusable routers and DNS servers and far too many of them to real busybox udhcpc; the real
//! udhcpc plugin delivering an address in 0.0.0.0/8; and a flood of malformed IPC messages.
//! Needs root; see docs/testing.md.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, LEASE_WAIT, WAN_IF};

#[path = "support/udhcpc_plugin.rs"]
mod udhcpc_plugin;

#[test]
fn unusable_and_excess_lease_values_never_reach_tr181_or_the_system_events() {
    let Some(mut lab) = lab_or_skip() else { return };
    let mut dns = vec![
        Ipv4Addr::new(0, 0, 0, 0),
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(127, 0, 0, 1),
    ];
    dns.extend((1..=40).map(|i| Ipv4Addr::new(198, 51, 100, i)));
    lab.start_kea4(Kea4Options {
        routers: vec![Ipv4Addr::BROADCAST, Ipv4Addr::new(192, 0, 2, 1)],
        dns_servers: dns,
        ..Kea4Options::default()
    });
    let config = lab.write_daemon_config(&lab.daemon_config());
    let _daemon = lab.start_daemon(&config);
    let address = lab.wait_for_v4_lease();
    lab.wait_until(LEASE_WAIT, "dhcp_state bound", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
    });

    let routers = lab.tr181_value("Device.DHCPv4.Client.1.IPRouters");
    assert_eq!(routers, "192.0.2.1");
    let servers = lab.tr181_value("Device.DHCPv4.Client.1.DNSServers");
    let want: Vec<String> = (1..=8).map(|i| format!("198.51.100.{i}")).collect();
    assert_eq!(servers, want.join(","));
    assert!(servers.len() <= 256, "TR-181 maxLength 256: {servers}");

    assert_eq!(
        lab.sysevent("ipv4_erouter0_gw_0").as_deref(),
        Some("192.0.2.1")
    );
    assert_eq!(
        lab.sysevent("ipv4_erouter0_dns_number").as_deref(),
        Some("8")
    );
    assert_eq!(
        lab.sysevent("ipv4_erouter0_dns_0").as_deref(),
        Some("198.51.100.1")
    );
    assert_eq!(lab.sysevent("ipv4_erouter0_dns_8"), None);
    let dns_keys = lab
        .sysevents()
        .iter()
        .filter(|(k, _)| k.starts_with("ipv4_erouter0_dns_"))
        .count();
    assert_eq!(
        dns_keys,
        9,
        "dns_number and dns_0..dns_7: {:?}",
        lab.sysevents()
    );
    assert_eq!(lab.wan_v4_addresses(), vec![address]);
    let log = std::fs::read_to_string(lab.daemon_log_path()).unwrap_or_default();
    assert!(
        log.contains("lease values left out") && log.contains("beyond the first 8"),
        "the daemon says what it left out:\n{log}"
    );
}

#[test]
fn an_address_in_this_network_from_the_plugin_is_refused_and_changes_nothing() {
    let Some(lab) = lab_or_skip() else { return };
    // No Kea: udhcpc gets no lease, and the plugin below is the only source of a `bound`.
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    for bad in ["0.1.2.3", "127.0.0.9", "169.254.3.3", "240.0.0.1"] {
        let out = udhcpc_plugin::bound(&lab, &cfg.run_dir, bad);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("not a usable host address"),
            "{bad}: the plugin reports the refusal: {said}"
        );
        assert!(
            lab.wan_v4_addresses().is_empty(),
            "{bad} reached the interface"
        );
    }
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.IPAddress"), "");
}

fn exchange(socket: &Path, bytes: &[u8]) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).is_ok() && reply.len() > 4
}

#[test]
fn a_flood_of_malformed_ipc_messages_is_answered_but_logged_a_few_times() {
    let Some(lab) = lab_or_skip() else { return };
    let cfg = lab.daemon_config();
    let config = lab.write_daemon_config(&cfg);
    let daemon = lab.start_daemon(&config);
    let socket = cfg.run_dir.join("ipc.sock");
    let body = b"\x00\xffnot json";
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    let answered = (0..2000).filter(|_| exchange(&socket, &frame)).count();
    assert_eq!(answered, 2000, "every message gets its answer");
    // Well-formed messages whose lease is refused: one line per interval too, not two each.
    let envelope = dhcpmgr_ipc::Envelope {
        version: dhcpmgr_ipc::PROTOCOL_VERSION,
        created_unix_ms: 1,
        client_pid: 1,
        client: Some("wan".into()),
        event: dhcpmgr_ipc::ClientEvent::V4(dhcpmgr_ipc::V4Event {
            interface: WAN_IF.into(),
            kind: dhcpmgr_ipc::V4EventKind::Bound,
            lease: Some(dhcpmgr_ipc::V4Lease::new(Ipv4Addr::new(0, 1, 2, 3), 24)),
        }),
    };
    let refused =
        dhcpmgr_ipc::encode_frame(&dhcpmgr_ipc::encode_envelope(&envelope)).expect("a small frame");
    let answered = (0..2000).filter(|_| exchange(&socket, &refused)).count();
    assert_eq!(answered, 2000, "every refusal gets its answer");
    let log = std::fs::read_to_string(daemon.log_path()).unwrap_or_default();
    for line in ["rejected IPC message", "lease event refused"] {
        let lines = log.matches(line).count();
        assert!(
            (1..=10).contains(&lines),
            "{lines} {line:?} lines for 2000 rejections"
        );
    }
    assert!(lab.wan_v4_addresses().is_empty());
}
