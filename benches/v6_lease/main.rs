//! DHCPv6 benchmark (issue 3, "Measured, not asserted"): a plain binary (`harness = false`) that
//! runs the real daemon, real dibbler-client 1.0.1 and Kea DHCPv6 in the `dhcpmgr-lab`
//! network-namespace lab and prints what it measured — a table, then one `BENCH_JSON {…}` line.
//! It never asserts a timing. It exits 1 when something does not work at all, and also when the
//! delegated prefix changed across the daemon restarts of part 3 (a correctness failure, not a
//! timing).
//!
//! 1. **v6 lease hop**: `V6_HOP_N` (default 200) `add` events, each moving the IA_NA address on
//!    `erouter0` and the delegated /56 to other values, delivered by `dhcpmgr-dibbler-plugin`
//!    with the environment dibbler-client gives its script (plus the `DHCPMGR_*` variables the
//!    daemon's wrapper would set), from a thread that entered the `cpe` namespace with `setns`.
//!    From just before the spawn: the plugin's exit (the daemon acks once the address is
//!    configured), the address-added netlink event, and the `…_v6addr` / `…_v6pref` lines of
//!    the lab's sysevent recorder. The daemon's `wan6` client is disabled, so no dibbler-client
//!    runs beside the bench's plugin calls.
//! 2. **Daemon start → first bound event**, `V6_START_RUNS` (default 5) runs each without and
//!    with rapid commit (Kea's `rapid-commit` and the client's `rapid_commit = true`), each from
//!    an empty state dir and run dir (no DUID, no dibbler bindings): until (a) the IA_NA address
//!    is on `erouter0` (netlink; dibbler-client adds it itself) and (b) the daemon's first
//!    `…_v6addr` sysevent. dibbler-client 1.0.1 runs no script for the REPLY to a rapid-commit
//!    SOLICIT; the daemon takes that binding from dibbler's `client-AddrMgr.xml` (inotify), so
//!    (b) − (a) is REPLY → bound event. Those runs use Kea T1 = 4 s.
//! 3. **Prefix continuity**: `V6_RESTARTS` (default 20) daemon restarts, alternately after
//!    SIGTERM (orderly stop) and SIGKILL, each time until the new dibbler-client has talked to
//!    Kea again (a new record in Kea's lease file) and then nothing changed for 1.5 s (Kea's
//!    lease file and log, sysevents, addresses on `erouter0`). The delegated prefixes seen in
//!    Kea's lease file and log and in the `…_v6pref` sysevent are counted: more than one is a
//!    FAIL (exit code 1). Withdrawals of the IA_NA address (`…_v6addr` emptied, the address
//!    taken off `erouter0`, and for how long) are counted too, but only reported.
//! 4. **Daemon memory** with one DHCPv4 and one DHCPv6 client idle, leases from Kea.
//! 5. **The link's moments** ([`link`]): `V6_COLD_RUNS` (default 20) cold starts with a tentative
//!    link-local address (DAD time and first DHCPv6 event in the same run), then with v4 and v6
//!    bound a carrier loss of `V6_CARRIER_S` (default 5) s and an admin down/up of `erouter0`
//!    (recovery times, Kea RELEASEs, prefixes delegated), then `V6_IDLE_S` (default 60) s idle
//!    (context switches).
//!
//! `V6_PARTS=link` runs part 5 only.
//!
//! Run it as root (network namespaces, busybox, Kea DHCPv4/v6, dibbler-client, dbus-daemon):
//!
//! ```sh
//! cargo build --release --workspace
//! DHCPMGR_BIN_DIR=$PWD/target/release cargo bench --bench v6_lease
//! ```
//!
//! dibbler-client always runs through [`Lab::dibbler_command`] (a private mount namespace), so
//! it cannot rewrite the machine's /etc/resolv.conf.
//!
//! Layout: [`hop`] (part 1), [`first_bound`] (part 2), [`continuity`] (part 3), [`memory`]
//! (part 4); this file runs them, prints the report in order, and holds the lab helpers they
//! share (the v6 daemon config, dibbler-client processes, global addresses on `erouter0`).

#[path = "../common/mod.rs"]
mod common;
mod continuity;
mod first_bound;
mod hop;
mod link;
mod memory;

use std::fs;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use common::netns::AddrMonitor;
use common::{
    env_count, host_line, remove_dir_if_present, wait_for, Binaries, Result, DAEMON_LINE,
};
use dhcpmgr_lab::{DaemonConfig, Lab, Netns, WAN_IF};
use serde_json::{json, Value};

const CLIENT: &str = "wan6";
const ADDR_KEY: &str = "tr_erouter0_dhcpv6_client_v6addr";
const PREF_KEY: &str = "tr_erouter0_dhcpv6_client_v6pref";
/// Events applied before the measured ones (the first sets every sysevent key).
const WARMUP_EVENTS: usize = 2;
/// Deadlines (not timings).
const HOP_DEADLINE: Duration = Duration::from_secs(5);
const BIND_DEADLINE: Duration = Duration::from_secs(30);
const STOP_DEADLINE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("v6_lease: FAILED: the delegated prefix changed across daemon restarts");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("v6_lease: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every part; `Ok(false)` when the prefix did not survive the restarts.
fn run() -> Result<bool> {
    let n = env_count("V6_HOP_N", 200)?;
    let runs = env_count("V6_START_RUNS", 5)?;
    let restarts = env_count("V6_RESTARTS", 20)?;
    let cold_runs = env_count("V6_COLD_RUNS", 20)?;
    let carrier_secs = env_count("V6_CARRIER_S", 5)? as u64;
    let idle_secs = env_count("V6_IDLE_S", 60)? as u64;
    let only_link = std::env::var("V6_PARTS").is_ok_and(|p| p.trim() == "link");
    let bins = Binaries::detect();
    let dibbler = Command::new("dibbler-client")
        .arg("help")
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines()
                .find(|l| l.contains("version"))
                .map_or("unknown version".into(), |l| {
                    l.trim_start_matches(['|', ' ']).trim().to_owned()
                })
        })
        .unwrap_or_else(|e| format!("not runnable: {e}"));
    println!("v6_lease: dhcpmgr DHCPv6 benchmark (issue 3); timings are measured, never asserted");
    println!("{}", bins.line());
    println!("dibbler-client: {dibbler}");
    println!("{}", host_line());
    println!("{DAEMON_LINE}");
    println!();

    let started = Instant::now();
    let mut lab = Lab::new();
    let mut monitor = AddrMonitor::<Ipv6Addr>::start(lab.cpe().name())?;
    if !global_v6(lab.cpe()).is_empty() {
        return Err(format!(
            "{WAN_IF} already has global IPv6 addresses in a new lab"
        ));
    }

    if only_link {
        let link = link::link_moments(&mut lab, cold_runs, carrier_secs, idle_secs)?;
        link::print(&link);
        println!("   (part 5: {:.1} s)", started.elapsed().as_secs_f64());
        println!(
            "BENCH_JSON {}",
            json!({ "binaries": bins.json(), "link": link.json() })
        );
        return Ok(true);
    }
    let hops = hop::v6_hops(&lab, &mut monitor, n)?;
    let first_bound = first_bound::first_bound(&mut lab, &mut monitor, runs)?;
    let continuity = continuity::prefix_continuity(&mut lab, &mut monitor, restarts)?;
    let idle = memory::idle_memory(&mut lab)?;
    let link = link::link_moments(&mut lab, cold_runs, carrier_secs, idle_secs)?;
    let elapsed = started.elapsed();

    hop::print(&hops);
    first_bound::print(&first_bound);
    continuity::print(&continuity);
    memory::print(&idle, &hops);
    link::print(&link);
    println!("   (all parts: {:.1} s)", elapsed.as_secs_f64());
    let report = json!({
        "binaries": bins.json(),
        "dibbler_client": dibbler,
        "v6_lease_hop": hops.json(),
        "first_bound": first_bound.json(),
        "prefix_continuity": continuity.json(),
        "daemon_memory": {
            "idle_v4_and_v6_clients": idle.json(),
            "after_v6_hop_run": hops.memory().json(),
        },
        "link": link.json(),
        "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("BENCH_JSON {report}");
    Ok(continuity.pass())
}

/// A daemon config with only the DHCPv6 client `wan6` on erouter0 (dibbler-client through the
/// lab's wrapper), state and run dirs `<tag>-state` and `<tag>-run` in the lab dir, emptied.
fn v6_config(lab: &Lab, tag: &str, client_extra: &str) -> Result<DaemonConfig> {
    let mut cfg = lab.daemon_config();
    cfg.v4_clients.clear();
    cfg.state_dir = lab.dir().join(format!("{tag}-state"));
    cfg.run_dir = lab.dir().join(format!("{tag}-run"));
    for dir in [&cfg.state_dir, &cfg.run_dir] {
        remove_dir_if_present(dir)?;
    }
    cfg.daemon_extra = format!(
        "dibbler = {}",
        Value::from(lab.dibbler_command().to_string_lossy().as_ref())
    );
    cfg.extra_toml = format!(
        "[[dhcpv6.client]]\nalias = \"{CLIENT}\"\ninterface = \"{WAN_IF}\"\nrequested_options = [23, 24]\n{client_extra}\n"
    );
    Ok(cfg)
}

/// Global IPv6 addresses on [`WAN_IF`] (`ip -j addr`).
fn global_v6(cpe: &Netns) -> Vec<Ipv6Addr> {
    cpe.addrs(WAN_IF)
        .into_iter()
        .filter_map(|(a, _)| match a {
            std::net::IpAddr::V6(a) if !a.is_unicast_link_local() => Some(a),
            _ => None,
        })
        .collect()
}

/// Pids of the dibbler-client processes in the `cpe` namespace.
fn dibbler_pids(lab: &Lab) -> Vec<i32> {
    pids_named(lab, "dibbler-client")
}

fn pids_named(lab: &Lab, comm: &str) -> Vec<i32> {
    lab.cpe()
        .pids()
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .collect()
}

/// Removes the global IPv6 addresses from [`WAN_IF`] and waits until the monitor saw them go.
fn flush_wan6(lab: &Lab, monitor: &mut AddrMonitor<Ipv6Addr>) -> Result<()> {
    lab.cpe()
        .ip(&["-6", "addr", "flush", "dev", WAN_IF, "scope", "global"]);
    monitor.wait_until(HOP_DEADLINE, "erouter0 has no global IPv6 address", |p| {
        p.is_empty()
    })?;
    Ok(())
}

/// Waits until no dibbler-client runs in the lab (the daemon stops it with SIGKILL).
fn wait_no_dibbler(lab: &Lab) -> Result<()> {
    wait_for(STOP_DEADLINE, || dibbler_pids(lab).is_empty().then_some(()))
        .ok_or_else(|| format!("dibbler-client still runs: {:?}", dibbler_pids(lab)))
}

fn sysevent_log(lab: &Lab) -> PathBuf {
    lab.dir().join("sysevents.log")
}
