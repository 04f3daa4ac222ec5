//! A gateway with many WAN clients stopping: eight real udhcpc clients (on `erouter0` and seven
//! macvlans on it), each bound by Kea, then SIGTERM. The daemon must stop all of them together
//! well inside the unit's `TimeoutStopSec=20s` (the lab waits 10 s), leave no udhcpc behind,
//! give nothing back to Kea (a stop keeps the leases) and have every lease stored for the next
//! start.

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Lab, V4Client, WAN_IF};

const CLIENTS: usize = 8;
const WAIT: Duration = Duration::from_secs(40);

/// `erouter0`, then the macvlans `wan1`…`wan7` on it (each with its own MAC, so Kea gives
/// each its own address).
fn wan_interfaces(lab: &Lab) -> Vec<String> {
    let mut names = vec![WAN_IF.to_string()];
    for n in 1..CLIENTS {
        let name = format!("wan{n}");
        lab.cpe().ip(&[
            "link", "add", &name, "link", WAN_IF, "type", "macvlan", "mode", "bridge",
        ]);
        lab.cpe().ip(&["link", "set", &name, "up"]);
        names.push(name);
    }
    names
}

#[test]
fn eight_bound_clients_stop_together_keep_their_leases_and_leave_nothing_running() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let interfaces = wan_interfaces(&lab);
    let mut cfg = lab.daemon_config();
    cfg.v4_clients = interfaces
        .iter()
        .enumerate()
        .map(|(n, interface)| V4Client {
            alias: format!("wan{n}"),
            interface: interface.clone(),
            ..V4Client::wan()
        })
        .collect();
    let config = lab.write_daemon_config(&cfg);
    let daemon = lab.start_daemon(&config);

    let mut addresses = vec![String::new(); CLIENTS];
    lab.wait_until(WAIT, "every client bound", || {
        for (n, address) in addresses.iter_mut().enumerate() {
            if address.is_empty() {
                *address = lab.tr181_value(&format!("Device.DHCPv4.Client.{}.IPAddress", n + 1));
            }
        }
        addresses.iter().all(|a| !a.is_empty())
    });
    let mut distinct = addresses.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), CLIENTS, "one address each: {addresses:?}");
    assert_eq!(lab.udhcpc_count(), CLIENTS, "one udhcpc per client");
    for (interface, address) in interfaces.iter().zip(&addresses) {
        let address: Ipv4Addr = address.parse().expect("IPAddress is an IPv4 address");
        assert!(
            lab.cpe()
                .ipv4_addrs(interface)
                .iter()
                .any(|(a, _)| *a == address),
            "{address} is on {interface}"
        );
    }
    let records_before = lab.kea4_leases().len();

    let status = daemon.terminate();
    assert!(status.success(), "dhcpmgr's exit after SIGTERM: {status}");
    assert_eq!(
        lab.udhcpc_count(),
        0,
        "a udhcpc outlived the daemon\n{}",
        lab.diagnostics()
    );
    for (n, address) in addresses.iter().enumerate() {
        let state = cfg.state_dir.join(format!("v4-wan{n}.json"));
        let stored = std::fs::read_to_string(&state).unwrap_or_default();
        assert!(
            stored.contains(address.as_str()),
            "client wan{n}'s lease {address} is stored in {}: {stored}",
            state.display()
        );
    }
    let released: Vec<_> = lab
        .kea4_leases()
        .into_iter()
        .skip(records_before)
        .filter(|lease| lease.valid_lifetime == 0)
        .collect();
    assert!(
        released.is_empty(),
        "a stop gives nothing back to Kea: {released:?}"
    );
}
