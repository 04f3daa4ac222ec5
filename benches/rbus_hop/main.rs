//! RBUS lease-event benchmark (issue 16 §5): a plain binary (`harness = false`) that runs the
//! real daemon with `[rbus] enable` against RDK's real broker (rtrouted, librbus from
//! scripts/install-deps.sh) in the lab, and prints what it measured: a table, then one
//! `BENCH_JSON {…}` line. It never asserts a timing.
//!
//! 1. **ACK → RBUS lease event**: `LEASE_HOP_N` (default 200) `bound` events, each moving
//!    `erouter0` to another address, delivered by `dhcpmgr-udhcpc-plugin` exactly as udhcpc runs
//!    it right after the ACK; timed from just before the spawn (CLOCK_REALTIME) to the moment
//!    the subscriber (tests/rbus/client.c, subscribed to `Device.DHCPv4.Client.1.Events` as WAN
//!    Manager is) received the `MsgType` 3 event carrying that address in `LeaseInfo`. The
//!    daemon's `wan` client is disabled, so the plugin runs are the only lease source (as in
//!    `lease_hop`, whose D-Bus figures stand beside these).
//! 2. **Idle memory**: VmRSS/VmHWM/Pss of an idle daemon with `[rbus] enable = true` (librbus
//!    loaded, the data model registered) and with it off.
//!
//! ```sh
//! cargo build --release --workspace
//! DHCPMGR_BIN_DIR=$PWD/target/release cargo bench --bench rbus_hop
//! ```

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // Shared with the lab benches; this one uses `Stats`, `Memory` and the header.
#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)] // Shared with the RBUS tests.
#[path = "../../tests/support/rbus.rs"]
mod rbus;
#[path = "../common/v4_plugin.rs"]
mod v4_plugin;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::hop;
use common::stats::{Memory, Stats};
use common::{env_count, host_line, Binaries, Result};
use dhcpmgr_lab::{bin, Lab};
use serde_json::json;
use v4_plugin::{plugin_command, HOP_ADDRESSES};

const EVENTS: &str = "Device.DHCPv4.Client.1.Events";
const WARMUP_LEASES: usize = 2;
/// Deadline (not a timing) of one hop.
const HOP_DEADLINE: Duration = Duration::from_secs(5);
/// Idle time before the daemon's memory is read.
const SETTLE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rbus_hop: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let n = env_count("LEASE_HOP_N", 200)?;
    let bins = Binaries::detect();
    println!("rbus_hop: dhcpmgr RBUS lease events; timings are measured, never asserted");
    println!("{}", bins.line());
    println!("{}", host_line());
    println!();
    rbus::require_rbus();

    let idle_off = idle_memory(false)?;
    let idle_on = idle_memory(true)?;
    let latencies = hops(n)?;

    let stats = Stats::of(&latencies);
    println!("ACK → RBUS lease event ({n} leases)           p50 ms   p99 ms   max ms");
    println!("{}", stats.row("plugin spawn → subscriber has the event"));
    println!();
    println!("idle daemon memory");
    println!("  [rbus] enable = false: {}", idle_off.line());
    println!("  [rbus] enable = true:  {}", idle_on.line());
    let report = json!({
        "binaries": bins.json(),
        "ack_to_rbus_event_ms": stats.json(),
        "idle_memory": { "rbus_off": idle_off.json(), "rbus_on": idle_on.json() },
    });
    println!("BENCH_JSON {report}");
    Ok(())
}

/// A lab with the broker, and the daemon (its `wan` client disabled) serving on RBUS when
/// `rbus`; returns them once the daemon listens on its IPC socket (and answers on RBUS).
fn start(rbus_on: bool) -> Result<(Lab, rbus::Broker, rbus::Daemon)> {
    let lab = Lab::new();
    let mut config = lab.daemon_config();
    config.v4_clients[0].enable = false;
    config.extra_toml = format!("[rbus]\nenable = {rbus_on}\n");
    let path = lab.write_daemon_config(&config);
    let broker = rbus::Broker::start(lab.dir());
    let daemon = rbus::Daemon::start(&lab, &broker, &path);
    let socket = config.run_dir.join("ipc.sock");
    common::wait_for(Duration::from_secs(10), || socket.exists().then_some(()))
        .ok_or_else(|| format!("the daemon did not bind {}", socket.display()))?;
    Ok((lab, broker, daemon))
}

fn idle_memory(rbus_on: bool) -> Result<Memory> {
    let (lab, broker, daemon) = start(rbus_on)?;
    if rbus_on {
        let exe = rbus::compile("client.c", lab.dir(), true);
        rbus::Client {
            broker: &broker,
            exe,
        }
        .wait_until_served("Device.DHCPv4.Client.1.Enable", Duration::from_secs(10))?;
    }
    std::thread::sleep(SETTLE);
    Memory::read(daemon.pid())
}

fn hops(n: usize) -> Result<Vec<Duration>> {
    let (lab, broker, _daemon) = start(true)?;
    let exe = rbus::compile("client.c", lab.dir(), true);
    let client = rbus::Client {
        broker: &broker,
        exe,
    };
    client.wait_until_served("Device.DHCPv4.Client.1.Enable", Duration::from_secs(10))?;
    let events = client.listen(EVENTS);
    let run_dir = lab.dir().join("run");
    let plugin = bin("dhcpmgr-udhcpc-plugin");
    let mut latencies = Vec::with_capacity(n);
    for i in 0..WARMUP_LEASES + n {
        let address = HOP_ADDRESSES[i % HOP_ADDRESSES.len()];
        let t0 = SystemTime::now();
        deliver(&plugin, &run_dir, address)?;
        let at = loop {
            let event = events
                .next(HOP_DEADLINE)
                .ok_or_else(|| format!("no RBUS lease event for {address}"))?;
            if event.msg_type() == Some(3)
                && event.get("lease.address") == Some(address.to_string().as_str())
            {
                break event.get("at").and_then(|at| at.parse::<u64>().ok());
            }
        }
        .ok_or("the subscriber printed no receive time")?;
        let t0 = t0.duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
        if i >= WARMUP_LEASES {
            latencies.push(Duration::from_nanos(at).saturating_sub(t0));
        }
    }
    Ok(latencies)
}

/// Runs the plugin for a `bound` lease of `address`, as udhcpc would.
fn deliver(plugin: &Path, run_dir: &Path, address: Ipv4Addr) -> Result<()> {
    let mut cmd = plugin_command(
        plugin,
        &run_dir.join("ipc.sock"),
        &run_dir.join("spool"),
        address,
    );
    hop::deliver(&mut cmd, plugin, address).map(drop)
}
