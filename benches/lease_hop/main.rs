//! Lease-hop benchmark (docs/architecture.md#a-leases-path, docs/performance.md#budgets): a plain binary (`harness = false`)
//! that runs the real daemon in the `dhcpmgr-lab` network-namespace lab and prints what it
//! measured — a table, then one `BENCH_JSON {…}` line. It never asserts a timing; it fails (exit
//! code 1, or a panic from the lab harness) only when something does not work at all.
//!
//! 1. **Lease hop**: `LEASE_HOP_N` (default 200) `bound` events, each moving `erouter0` to another
//!    address, delivered by `dhcpmgr-udhcpc-plugin` exactly as udhcpc would run it, from a thread
//!    that entered the `cpe` namespace with `setns` (no `ip netns exec` in the timed path). From
//!    just before the spawn: the address-added netlink event, the plugin's exit (the daemon acks
//!    once the address is configured), the TR-181 `ValuesChanged` signal with the new
//!    `IPAddress`, and the lines the lab's sysevent recorder (a shell script) appends. The daemon's
//!    `wan` client is disabled, so no udhcpc runs beside the bench's plugin calls.
//! 2. **udhcpc start → address**: with Kea serving, `START_RUNS` (default 10) times each:
//!    busybox `udhcpc -q` with a copy of busybox's `examples/udhcp/simple.script`, and a fresh
//!    `dhcpmgr` (empty state dir), both started through `ip netns exec`, timed until the address
//!    appears on `erouter0` (netlink event).
//! 3. **Daemon memory**: VmRSS/VmHWM/Pss of the daemon idle with a lease from Kea, and after the
//!    hop run; sizes of the stripped release binaries.
//! 4. **Plugin exec → exit**: delivering to the daemon (the hops) and spooling with no daemon;
//!    also what `ip netns exec` adds to an exec.
//! 5. **Interface created late** ([`late`]): `erouter0` appears `LATE_S` s (default `5,45,120`)
//!    after a fresh daemon started; time to its address, against a plain busybox udhcpc.
//!    `LEASE_HOP_PARTS=late` runs part 5 only.
//!
//! Run it as root (the lab needs network namespaces, busybox, Kea and dbus-daemon):
//!
//! ```sh
//! cargo build --release --workspace
//! DHCPMGR_BIN_DIR=$PWD/target/release cargo bench --bench lease_hop
//! ```
//!
//! The daemon, plugin and dhcpmgrctl binaries come from `dhcpmgr_lab::bin_dir()`: `DHCPMGR_BIN_DIR`
//! if set, else `target/debug`; the output says which. The lab starts the daemon with
//! `RUST_LOG=debug`, logging to a file. `LEASE_HOP_N` and `START_RUNS` change the counts; the
//! defaults run in well under a minute once built.
//!
//! Layout: [`hop`] (parts 1 and 4, with [`dbus`] for the `ValuesChanged` signal), [`start`]
//! (part 2), [`memory`] (part 3); this file runs them and prints the report in order.

#[path = "../common/mod.rs"]
mod common;
mod dbus;
mod hop;
mod late;
mod memory;
mod start;
#[path = "../common/v4_plugin.rs"]
mod v4_plugin;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Duration;

use common::netns::AddrMonitor;
use common::{env_count, host_line, Binaries, Result, DAEMON_LINE};
use dhcpmgr_lab::{Lab, WAN_IF};
use serde_json::json;

/// Leases applied before the measured ones (the first sets every sysevent key).
const WARMUP_LEASES: usize = 2;
/// Deadline (not a timing) of one hop.
const HOP_DEADLINE: Duration = Duration::from_secs(5);
/// Idle time before the daemon's memory is read.
const SETTLE: Duration = Duration::from_secs(2);
const PLUGIN: &str = "dhcpmgr-udhcpc-plugin";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lease_hop: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let n = env_count("LEASE_HOP_N", 200)?;
    let runs = env_count("START_RUNS", 10)?;
    let bins = Binaries::detect();
    println!("lease_hop: dhcpmgr benchmark (docs/performance.md#budgets); timings are measured, never asserted");
    println!("{}", bins.line());
    println!("{}", host_line());
    println!("{DAEMON_LINE}");
    println!();

    let mut lab = Lab::new();
    let mut monitor = AddrMonitor::start(lab.cpe().name())?;
    if !lab.cpe().ipv4_addrs(WAN_IF).is_empty() {
        return Err(format!("{WAN_IF} already has IPv4 addresses in a new lab"));
    }

    let delays = late::delays()?;
    if std::env::var("LEASE_HOP_PARTS").is_ok_and(|p| p.trim() == "late") {
        let late = late::late_interface(&mut lab, &mut monitor, &delays)?;
        late::print(&late);
        println!(
            "BENCH_JSON {}",
            json!({ "binaries": bins.json(), "interface_created_late": late::json(&late) })
        );
        return Ok(());
    }
    let hops = hop::lease_hops(&lab, &mut monitor, n)?;
    let start = start::start_to_address(&mut lab, &mut monitor, runs)?;
    let late = late::late_interface(&mut lab, &mut monitor, &delays)?;
    let sizes = memory::release_sizes(lab.dir());

    hop::print_hops(&hops);
    start::print(&start);
    memory::print(&start.memory, &hops, &sizes);
    hop::print_exec(&hops);
    late::print(&late);
    let (plugin_exec, netns_exec) = hops.exec_json();
    let report = json!({
        "binaries": bins.json(),
        "lease_hop": hops.json(),
        "start_to_address": start.json(),
        "daemon_memory": {
            "idle_with_kea_lease": start.memory.json(),
            "after_hop_run": hops.memory().json(),
        },
        "release_binaries": sizes.iter().map(|s| s.json()).collect::<Vec<_>>(),
        "plugin_exec_ms": plugin_exec,
        "netns_exec_ms": netns_exec,
        "interface_created_late": late::json(&late),
    });
    println!("BENCH_JSON {report}");
    Ok(())
}

/// Removes every IPv4 address (and so the routes through them) from [`WAN_IF`].
fn flush_wan(lab: &Lab, monitor: &mut AddrMonitor<Ipv4Addr>) -> Result<()> {
    lab.cpe().ip(&["-4", "addr", "flush", "dev", WAN_IF]);
    monitor.wait_until(HOP_DEADLINE, "erouter0 is flushed", BTreeSet::is_empty)?;
    Ok(())
}
