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
//!    SOLICIT, so with rapid commit the daemon learns the binding at the first RENEW: those runs
//!    use Kea T1 = 4 s.
//! 3. **Prefix continuity**: `V6_RESTARTS` (default 20) daemon restarts, alternately after
//!    SIGTERM (orderly stop) and SIGKILL, each time until the new dibbler-client has talked to
//!    Kea again (a new record in Kea's lease file) and then nothing changed for 1.5 s (Kea's
//!    lease file and log, sysevents, addresses on `erouter0`). The delegated prefixes seen in
//!    Kea's lease file and log and in the `…_v6pref` sysevent are counted: more than one is a
//!    FAIL (exit code 1). Withdrawals of the IA_NA address (`…_v6addr` emptied, the address
//!    taken off `erouter0`, and for how long) are counted too, but only reported.
//! 4. **Daemon memory** with one DHCPv4 and one DHCPv6 client idle, leases from Kea.
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

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    env_count, in_netns, kib, median, ms, wait_for, AddrMonitor, Memory, Result, Stats,
    SyseventWatch, SYSEVENT_POLL,
};
use dhcpmgr_lab::{bin, bin_dir, DaemonConfig, Kea4Options, Kea6Options, Lab, Netns, WAN_IF};
use serde_json::{json, Value};

const PLUGIN: &str = "dhcpmgr-dibbler-plugin";
const CLIENT: &str = "wan6";
const ADDR_KEY: &str = "tr_erouter0_dhcpv6_client_v6addr";
const PREF_KEY: &str = "tr_erouter0_dhcpv6_client_v6pref";
/// The last key of a first event's batch (keys go out sorted).
const NS_KEY: &str = "wan6_ns";
/// Events applied before the measured ones (the first sets every sysevent key).
const WARMUP_EVENTS: usize = 2;
/// IA_NA address and delegated /56 of each hop, in turn.
const HOP_LEASES: [(Ipv6Addr, Ipv6Addr); 4] = [
    (ia_na(0x110), prefix(0x1000)),
    (ia_na(0x111), prefix(0x1100)),
    (ia_na(0x112), prefix(0x1200)),
    (ia_na(0x113), prefix(0x1300)),
];
const HOP_PREFIX_LEN: u8 = 56;
/// Preferred and valid lifetimes of the hop events (the same every time, so only the address
/// and prefix keys change).
const HOP_LIFETIMES: (u32, u32) = (3000, 4000);
/// Kea T1/T2 of the rapid-commit runs.
const RAPID_T1: u32 = 4;
const RAPID_T2: u32 = 6;
/// Deadlines (not timings).
const HOP_DEADLINE: Duration = Duration::from_secs(5);
const BIND_DEADLINE: Duration = Duration::from_secs(30);
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// How long a restarted dibbler-client gets to talk to Kea (a new lease-file record) and to
/// finish its exchanges.
const TALK_DEADLINE: Duration = Duration::from_secs(15);
/// A restart has settled once nothing changed for this long after Kea's first new record.
const QUIET: Duration = Duration::from_millis(1500);
/// After the first binding, time for the exchange to finish.
const AFTER_TALK: Duration = Duration::from_millis(500);
/// Idle time before the daemon's memory is read.
const SETTLE: Duration = Duration::from_secs(2);

/// `2001:db8:1::<low>`, an address from the lab's IA_NA range.
const fn ia_na(low: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, low)
}

/// `2001:db8:12:<subnet>::`, a /56 from the lab's PD range.
const fn prefix(subnet: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x12, subnet, 0, 0, 0, 0)
}

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
    let bins = bin_dir();
    let profile = ["release", "debug"]
        .into_iter()
        .find(|p| bins.ends_with(p))
        .unwrap_or("unknown");
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
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
    println!("binaries: {} ({profile} build)", bins.display());
    println!("dibbler-client: {dibbler}");
    println!(
        "host: {} CPUs, load average at start {}",
        thread::available_parallelism().map_or(0, |p| p.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("daemon: started by the lab with RUST_LOG=debug (log to a file in the lab dir)");
    println!();

    let started = Instant::now();
    let mut lab = Lab::new();
    let mut monitor = AddrMonitor::<Ipv6Addr>::start(lab.cpe().name())?;
    if !global_v6(lab.cpe()).is_empty() {
        return Err(format!(
            "{WAN_IF} already has global IPv6 addresses in a new lab"
        ));
    }

    let hops = v6_hops(&lab, &mut monitor, n)?;
    let first_bound = first_bound(&mut lab, &mut monitor, runs)?;
    let continuity = prefix_continuity(&mut lab, &mut monitor, restarts)?;
    let idle = idle_memory(&mut lab)?;
    let elapsed = started.elapsed();

    print_report(&hops, &first_bound, &continuity, &idle);
    println!("   (all parts: {:.1} s)", elapsed.as_secs_f64());
    let report = json!({
        "binaries": { "dir": bins.display().to_string(), "profile": profile },
        "dibbler_client": dibbler,
        "v6_lease_hop": hops.json(),
        "first_bound": first_bound.json(),
        "prefix_continuity": continuity.json(),
        "daemon_memory": {
            "idle_v4_and_v6_clients": idle.json(),
            "after_v6_hop_run": hops.memory.json(),
        },
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
        match fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(format!("remove {}: {e}", dir.display())),
        }
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

/// Median, min, max and every sample, in ms.
fn spread_json(v: &[Duration]) -> Value {
    json!({
        "median": ms(median(v)),
        "min": ms(v.iter().copied().min().unwrap_or_default()),
        "max": ms(v.iter().copied().max().unwrap_or_default()),
        "all": v.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
    })
}

fn spread_row(label: &str, v: &[Duration]) -> String {
    format!(
        "  {label:<44} {:>8.1} {:>8.1} {:>8.1}",
        ms(median(v)),
        ms(v.iter().copied().min().unwrap_or_default()),
        ms(v.iter().copied().max().unwrap_or_default())
    )
}

fn list(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.0}", ms(*d)))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// 1: v6 lease hops
// ---------------------------------------------------------------------------------------------

/// Times of one hop, from just before the plugin's spawn.
struct Hop {
    added: Duration,
    exit: Duration,
    sysevent_addr: Duration,
    sysevent_pref: Duration,
    batch_lines: usize,
    stray_lines: usize,
}

impl Hop {
    /// The whole hop: until the last of exit, address and sysevent lines.
    fn whole(&self) -> Duration {
        self.exit.max(self.added).max(self.sysevent_pref)
    }
}

struct HopReport {
    n: usize,
    first: Hop,
    hops: Vec<Hop>,
    memory: Memory,
}

impl HopReport {
    fn column(&self, f: impl Fn(&Hop) -> Duration) -> Vec<Duration> {
        self.hops.iter().map(f).collect()
    }

    fn batches(&self, lines: usize) -> usize {
        self.hops.iter().filter(|h| h.batch_lines == lines).count()
    }

    fn stray(&self) -> usize {
        self.hops.iter().map(|h| h.stray_lines).sum()
    }

    fn json(&self) -> Value {
        let stats = |f: fn(&Hop) -> Duration| Stats::of(&self.column(f)).json();
        json!({
            "n": self.n,
            "warmup": WARMUP_EVENTS,
            "event": "add",
            "wan6_client": "disabled (no dibbler-client running)",
            "ms": {
                "plugin_exit": stats(|h| h.exit),
                "address_added_netlink": stats(|h| h.added),
                "sysevent_v6addr_line": stats(|h| h.sysevent_addr),
                "sysevent_v6pref_line": stats(|h| h.sysevent_pref),
                "whole_hop": stats(Hop::whole),
            },
            "sysevent_lines_per_hop": {
                "2": self.batches(2),
                "other": self.n - self.batches(2),
            },
            "stray_sysevent_lines": self.stray(),
            "first_event_ms": {
                "plugin_exit": ms(self.first.exit),
                "address_added_netlink": ms(self.first.added),
                "sysevent_v6pref_line": ms(self.first.sysevent_pref),
                "sysevent_lines": self.first.batch_lines + self.first.stray_lines,
            },
        })
    }
}

fn v6_hops(lab: &Lab, monitor: &mut AddrMonitor<Ipv6Addr>, n: usize) -> Result<HopReport> {
    let config = v6_config(lab, "hop", "enable = false")?;
    let config_path = lab.write_daemon_config(&config);
    let daemon = lab.start_daemon(&config_path);
    let socket = config.run_dir.join("ipc.sock");
    wait_for(Duration::from_secs(10), || socket.exists().then_some(())).ok_or_else(|| {
        format!(
            "daemon did not bind {}\n{}",
            socket.display(),
            daemon.log_tail()
        )
    })?;
    if !dibbler_pids(lab).is_empty() {
        return Err("dibbler-client runs although wan6 is disabled".into());
    }

    let bench = HopBench {
        cpe: lab.cpe(),
        plugin: bin(PLUGIN),
        run_dir: config.run_dir.clone(),
        sysevents: SyseventWatch::start(sysevent_log(lab))?,
        monitor: &mut *monitor,
        ifindex: String::new(),
    };
    let mut report = in_netns(lab.cpe().name(), move || {
        let mut bench = bench;
        bench.ifindex = nix::net::if_::if_nametoindex(WAN_IF)
            .map_err(|e| format!("{WAN_IF}: {e}"))?
            .to_string();
        let first = bench.hop(0, true)?;
        for i in 1..WARMUP_EVENTS {
            bench.hop(i, false)?;
        }
        let mut hops = Vec::with_capacity(n);
        for i in WARMUP_EVENTS..WARMUP_EVENTS + n {
            hops.push(bench.hop(i, false)?);
        }
        Ok(HopReport {
            n,
            first,
            hops,
            memory: Memory::default(),
        })
    })
    .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
    report.memory = Memory::read(daemon.pid())?;

    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("hop daemon exited with {status} on SIGTERM"));
    }
    flush_wan6(lab, monitor)?;
    Ok(report)
}

struct HopBench<'a> {
    cpe: &'a Netns,
    plugin: PathBuf,
    run_dir: PathBuf,
    sysevents: SyseventWatch,
    monitor: &'a mut AddrMonitor<Ipv6Addr>,
    /// `IFINDEX` as dibbler sets it.
    ifindex: String,
}

/// When a hop's sysevent lines were seen, from t0.
#[derive(Clone, Copy)]
struct Batch {
    addr: Duration,
    pref: Duration,
    lines: usize,
    /// Lines seen before this hop's `v6addr` line.
    stray: usize,
}

impl HopBench<'_> {
    /// Delivers `add` for hop `i`'s address and prefix and waits for every effect of it.
    fn hop(&mut self, i: usize, first: bool) -> Result<Hop> {
        let (address, prefix) = HOP_LEASES[i % HOP_LEASES.len()];
        let mut plugin = self.plugin_command(address, prefix);
        let t0 = Instant::now();
        let out = plugin
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.plugin.display()))?;
        let exit = t0.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.trim().is_empty() {
            return Err(format!(
                "plugin for {address} did not deliver cleanly ({}): {stderr}",
                out.status
            ));
        }
        let batch = self.wait_for_sysevents(address, prefix, t0, first)?;
        let added =
            self.monitor
                .wait_until(HOP_DEADLINE, &format!("{address} is added"), |present| {
                    present.contains(&address)
                })?;
        self.monitor.wait_until(
            HOP_DEADLINE,
            &format!("{address} is the only global address"),
            |present| present.len() == 1,
        )?;
        let dump = global_v6(self.cpe);
        if dump != [address] {
            return Err(format!(
                "after the hop to {address}, {WAN_IF} has {dump:?} (ip -j addr)"
            ));
        }
        Ok(Hop {
            added: added.saturating_duration_since(t0),
            exit,
            sysevent_addr: batch.addr,
            sysevent_pref: batch.pref,
            batch_lines: batch.lines,
            stray_lines: batch.stray,
        })
    }

    /// `dhcpmgr-dibbler-plugin add` with the environment dibbler-client 1.0.1 gives its script
    /// for a REPLY with one IA_NA address and one delegated prefix, plus what the daemon's
    /// wrapper adds.
    fn plugin_command(&self, address: Ipv6Addr, prefix: Ipv6Addr) -> Command {
        let (pref, valid) = (HOP_LIFETIMES.0.to_string(), HOP_LIFETIMES.1.to_string());
        let mut cmd = Command::new(&self.plugin);
        cmd.arg("add")
            .env_clear()
            .env("DHCPMGR_SOCKET", self.run_dir.join("ipc.sock"))
            .env("DHCPMGR_SPOOL_DIR", self.run_dir.join("spool"))
            .env("DHCPMGR_CLIENT", CLIENT)
            .env("IFACE", WAN_IF)
            .env("IFINDEX", &self.ifindex)
            .env("REMOTE_ADDR", "ff02::1:2")
            .env("CLNT_MESSAGE", "REQUEST")
            .env("SRV_MESSAGE", "REPLY")
            .env("ADDR1", address.to_string())
            .env("ADDR1PREF", &pref)
            .env("ADDR1VALID", &valid)
            .env("PREFIX1", prefix.to_string())
            .env("PREFIX1LEN", HOP_PREFIX_LEN.to_string())
            .env("PREFIX1PREF", &pref)
            .env("PREFIX1VALID", &valid)
            .env("SRV_OPTION23", "2001:db8:1::53 ")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Takes recorded sysevent lines until the batch for this hop has ended: at the `v6pref`
    /// line, or for the first event (every key set) at the `wan6_ns` line.
    fn wait_for_sysevents(
        &mut self,
        address: Ipv6Addr,
        prefix: Ipv6Addr,
        t0: Instant,
        first: bool,
    ) -> Result<Batch> {
        let addr_line = format!("set {ADDR_KEY} {address}");
        let pref_line = format!("set {PREF_KEY} {prefix}/{HOP_PREFIX_LEN}");
        let ns_prefix = format!("set {NS_KEY} ");
        let mut batch: Option<Batch> = None;
        let mut stray = 0;
        let deadline = Instant::now() + HOP_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, line) = match self.sysevents.lines.recv_timeout(left) {
                Ok(Ok((at, line))) => (at.saturating_duration_since(t0), line),
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(format!(
                        "sysevents for {address} incomplete after {HOP_DEADLINE:?} ({e:?}; \
                         v6addr line seen: {}) in {}",
                        batch.is_some(),
                        self.sysevents.path.display()
                    ))
                }
            };
            let Some(b) = batch.as_mut() else {
                if line != addr_line {
                    stray += 1;
                    continue;
                }
                batch = Some(Batch {
                    addr: at,
                    pref: Duration::ZERO,
                    lines: 1,
                    stray,
                });
                continue;
            };
            b.lines += 1;
            if line == pref_line {
                b.pref = at;
                if !first {
                    return Ok(*b);
                }
            } else if first && line.starts_with(&ns_prefix) {
                if b.pref.is_zero() {
                    return Err(format!("no `{pref_line}` before `{line}`"));
                }
                return Ok(*b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2: daemon start → first bound event, without and with rapid commit
// ---------------------------------------------------------------------------------------------

/// One start: from daemon spawn.
struct Start {
    address: Duration,
    v6addr: Duration,
    v6pref: Duration,
}

struct StartMode {
    rapid: bool,
    kea: Kea6Options,
    runs: Vec<Start>,
    /// `…_LEASE_ADVERT` lines Kea logged during these runs.
    advertised: usize,
}

impl StartMode {
    fn column(&self, f: impl Fn(&Start) -> Duration) -> Vec<Duration> {
        self.runs.iter().map(f).collect()
    }

    fn json(&self) -> Value {
        json!({
            "rapid_commit": self.rapid,
            "kea_renew_timer_s": self.kea.renew_timer,
            "kea_rebind_timer_s": self.kea.rebind_timer,
            "runs": self.runs.len(),
            "ms": {
                "address_on_interface_netlink": spread_json(&self.column(|s| s.address)),
                "first_v6addr_sysevent": spread_json(&self.column(|s| s.v6addr)),
                "first_v6pref_sysevent": spread_json(&self.column(|s| s.v6pref)),
            },
            "kea_lease_advert_log_lines": self.advertised,
        })
    }
}

struct FirstBound {
    modes: Vec<StartMode>,
}

impl FirstBound {
    fn json(&self) -> Value {
        json!({
            "from": "daemon spawn (ip netns exec dhcpmgr), empty state and run dirs",
            "note": format!(
                "dibbler-client 1.0.1 runs no script for the REPLY to a rapid-commit SOLICIT: \
                 the daemon learns the binding at the first RENEW (Kea T1 = {RAPID_T1} s)"
            ),
            "without_rapid_commit": self.modes.iter().find(|m| !m.rapid).map(StartMode::json),
            "with_rapid_commit": self.modes.iter().find(|m| m.rapid).map(StartMode::json),
        })
    }
}

fn first_bound(
    lab: &mut Lab,
    monitor: &mut AddrMonitor<Ipv6Addr>,
    runs: usize,
) -> Result<FirstBound> {
    let mut modes = Vec::new();
    for rapid in [false, true] {
        let kea = if rapid {
            Kea6Options {
                rapid_commit: true,
                renew_timer: RAPID_T1,
                rebind_timer: RAPID_T2,
                ..Kea6Options::default()
            }
        } else {
            Kea6Options::default()
        };
        lab.start_kea6(kea.clone());
        let log_start = fs::read_to_string(lab.dir().join("kea6.log")).map_or(0, |l| l.len());
        let mut times = Vec::with_capacity(runs);
        for run in 0..runs {
            let tag = format!("start-{}-{run}", if rapid { "rapid" } else { "plain" });
            let extra = if rapid { "rapid_commit = true" } else { "" };
            let config = v6_config(lab, &tag, extra)?;
            let path = lab.write_daemon_config(&config);
            times.push(start_once(lab, monitor, &path, &kea)?);
        }
        let log = fs::read_to_string(lab.dir().join("kea6.log")).unwrap_or_default();
        let advertised = log
            .get(log_start..)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("_LEASE_ADVERT"))
            .count();
        modes.push(StartMode {
            rapid,
            kea,
            runs: times,
            advertised,
        });
    }
    Ok(FirstBound { modes })
}

/// Starts the daemon with `config` and times its first binding; stops it and cleans up.
fn start_once(
    lab: &Lab,
    monitor: &mut AddrMonitor<Ipv6Addr>,
    config: &Path,
    kea: &Kea6Options,
) -> Result<Start> {
    lab.clear_sysevents();
    let watch = SyseventWatch::start(sysevent_log(lab))?;
    let t0 = Instant::now();
    let daemon = lab.spawn_daemon(config);
    let failed = |e: String| format!("{e}\n{}", daemon.log_tail());
    let at = monitor
        .wait_until(BIND_DEADLINE, "dibbler-client configures an address", |p| {
            !p.is_empty()
        })
        .map_err(failed)?;
    let address_time = at.saturating_duration_since(t0);
    let address = monitor
        .present
        .iter()
        .next()
        .copied()
        .unwrap_or(Ipv6Addr::UNSPECIFIED);
    let (first, last) = kea.address_pool;
    if !(first..=last).contains(&address) {
        return Err(failed(format!(
            "{WAN_IF} got {address}, not from Kea's pool"
        )));
    }
    let (mut v6addr, mut v6pref) = (None, None);
    let deadline = Instant::now() + BIND_DEADLINE;
    while v6addr.is_none() || v6pref.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let (seen, line) = match watch.lines.recv_timeout(left) {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return Err(e),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                return Err(failed(format!(
                    "no {ADDR_KEY} and {PREF_KEY} sysevents within {BIND_DEADLINE:?}"
                )))
            }
        };
        let set = |key: &str| {
            line.strip_prefix("set ")
                .and_then(|r| r.strip_prefix(key)?.strip_prefix(' '))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let (None, Some(value)) = (v6addr, set(ADDR_KEY)) {
            if value != address.to_string() {
                return Err(failed(format!(
                    "{ADDR_KEY} {value} is not the address on {WAN_IF} ({address})"
                )));
            }
            v6addr = Some(seen.saturating_duration_since(t0));
        }
        if let (None, Some(_)) = (v6pref, set(PREF_KEY)) {
            v6pref = Some(seen.saturating_duration_since(t0));
        }
    }
    drop(watch);
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
    }
    wait_no_dibbler(lab)?;
    flush_wan6(lab, monitor)?;
    Ok(Start {
        address: address_time,
        v6addr: v6addr.unwrap_or_default(),
        v6pref: v6pref.unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// 3: prefix continuity across daemon restarts
// ---------------------------------------------------------------------------------------------

struct Restart {
    signal: &'static str,
    /// From the signal to the new daemon owning its bus name.
    daemon_up: Duration,
    /// From the signal to a new dibbler-client being the only one.
    dibbler_up: Duration,
    /// From the signal to the first new record in Kea's lease file, if one came in time.
    kea_record: Option<Duration>,
    /// From the signal to the last change seen (Kea's lease file or log, sysevents, addresses)
    /// before [`QUIET`] passed without one.
    settled: Duration,
    /// Prefix records Kea wrote during this restart.
    kea_pd_records: usize,
    /// The delegated prefix of Kea's newest prefix record (this part).
    kea_prefix: Option<String>,
    /// The last `…_v6pref` and `…_v6addr` values set.
    v6pref: Option<String>,
    v6addr: Option<String>,
    /// `…_v6addr` set to "" during this restart.
    v6addr_emptied: usize,
    /// Global addresses removed from erouter0 during this restart.
    address_removals: usize,
    /// The longest time a removed address took to come back (netlink events).
    address_gap: Option<Duration>,
    /// Whether the first IA_NA address is on erouter0 when the restart has settled.
    address_present: bool,
}

struct Continuity {
    initial_prefix: String,
    initial_address: Ipv6Addr,
    restarts: Vec<Restart>,
    /// Prefixes of Kea's lease-file records, of Kea's log lines (`lease for prefix …`), and of
    /// the `…_v6pref` sysevents, since this part began.
    kea_prefixes: BTreeSet<String>,
    kea_log_prefixes: BTreeSet<String>,
    sysevent_prefixes: BTreeSet<String>,
    /// Kea prefix records not active (released or reclaimed).
    inactive_prefix_records: usize,
    /// `…_v6pref` set to "" (a withdrawal).
    emptied_prefix_sets: usize,
    /// `…_v6pref` sets in all (the initial one included).
    prefix_sets: usize,
    /// Global IPv6 addresses on erouter0 at the end.
    final_addresses: Vec<Ipv6Addr>,
}

impl Continuity {
    fn all_prefixes(&self) -> BTreeSet<&String> {
        self.kea_prefixes
            .iter()
            .chain(&self.kea_log_prefixes)
            .chain(&self.sysevent_prefixes)
            .collect()
    }

    fn distinct(&self) -> usize {
        self.all_prefixes().len()
    }

    fn pass(&self) -> bool {
        self.distinct() == 1
    }

    fn count(&self, f: impl Fn(&Restart) -> bool) -> usize {
        self.restarts.iter().filter(|r| f(r)).count()
    }

    fn sum(&self, f: impl Fn(&Restart) -> usize) -> usize {
        self.restarts.iter().map(f).sum()
    }

    fn column(&self, signal: &str, f: impl Fn(&Restart) -> Option<Duration>) -> Vec<Duration> {
        self.restarts
            .iter()
            .filter(|r| r.signal == signal)
            .filter_map(f)
            .collect()
    }

    fn json(&self) -> Value {
        let per = |signal: &str| {
            json!({
                "restarts": self.count(|r| r.signal == signal),
                "daemon_up_ms": spread_json(&self.column(signal, |r| Some(r.daemon_up))),
                "dibbler_up_ms": spread_json(&self.column(signal, |r| Some(r.dibbler_up))),
                "first_kea_record_ms": spread_json(&self.column(signal, |r| r.kea_record)),
                "settled_ms": spread_json(&self.column(signal, |r| Some(r.settled))),
                "ia_na_address_removals": self.sum(|r| if r.signal == signal { r.address_removals } else { 0 }),
                "ia_na_address_gap_ms": spread_json(&self.column(signal, |r| r.address_gap)),
                "v6addr_emptied": self.sum(|r| if r.signal == signal { r.v6addr_emptied } else { 0 }),
            })
        };
        json!({
            "restarts": self.restarts.len(),
            "kinds": "alternating SIGTERM (orderly stop) and SIGKILL, then a new daemon",
            "initial_prefix": self.initial_prefix,
            "initial_address": self.initial_address.to_string(),
            "distinct_prefixes": self.distinct(),
            "pass": self.pass(),
            "kea_lease_file_prefixes": self.kea_prefixes,
            "kea_log_prefixes": self.kea_log_prefixes,
            "v6pref_sysevent_prefixes": self.sysevent_prefixes,
            "server_contacted_after": self.count(|r| r.kea_record.is_some()),
            "kea_prefix_records_written": self.sum(|r| r.kea_pd_records),
            "inactive_kea_prefix_records": self.inactive_prefix_records,
            "v6pref_sets": self.prefix_sets,
            "v6pref_emptied": self.emptied_prefix_sets,
            "v6addr_emptied": self.sum(|r| r.v6addr_emptied),
            "ia_na_address_removals": self.sum(|r| r.address_removals),
            "restarts_ending_without_ia_na_address": self.count(|r| !r.address_present),
            "restarts_ending_with_v6addr_empty": self.count(|r| r.v6addr.as_deref().is_none_or(str::is_empty)),
            "final_global_addresses": self.final_addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "sigterm": per("SIGTERM"),
            "sigkill": per("SIGKILL"),
        })
    }
}

/// The prefixes Kea's log names (`… lease for prefix 2001:db8:12:100::/56 …`).
fn kea_log_prefixes(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split_once("lease for prefix ")?.1;
            rest.split_whitespace().next().map(str::to_owned)
        })
        .collect()
}

/// What changes while dibbler-client and the daemon are busy: sizes of Kea's lease file and
/// log and of the sysevent record, and the addresses on erouter0.
fn activity(
    lab: &Lab,
    monitor: &mut AddrMonitor<Ipv6Addr>,
) -> Result<(Vec<u64>, usize, Vec<Ipv6Addr>)> {
    let size = |name: &str| fs::metadata(lab.dir().join(name)).map_or(0, |m| m.len());
    let sizes = vec![
        size("kea6-leases.csv"),
        size("kea6.log"),
        size("sysevents.log"),
    ];
    let changes = monitor.changes()?.len();
    Ok((sizes, changes, monitor.present.iter().copied().collect()))
}

fn prefix_continuity(
    lab: &mut Lab,
    monitor: &mut AddrMonitor<Ipv6Addr>,
    restarts: usize,
) -> Result<Continuity> {
    lab.start_kea6(Kea6Options::default());
    let config = v6_config(lab, "restart", "")?;
    let path = lab.write_daemon_config(&config);
    let records_start = lab.kea6_leases().len();
    let log_start = lab
        .dir()
        .join("kea6.log")
        .metadata()
        .map_or(0, |m| m.len() as usize);
    lab.clear_sysevents();
    let mut daemon = lab.start_daemon(&path);
    let initial_prefix = wait_for(BIND_DEADLINE, || {
        let prefix = lab.sysevent(PREF_KEY).filter(|p| !p.is_empty())?;
        let active = lab.kea6_leases()[records_start..]
            .iter()
            .any(|l| l.is_prefix() && l.is_active());
        active.then_some(prefix)
    })
    .ok_or_else(|| {
        format!(
            "no delegated prefix (sysevent and Kea lease) within {BIND_DEADLINE:?}\n{}",
            daemon.log_tail()
        )
    })?;
    monitor.wait_until(BIND_DEADLINE, "an IA_NA address on erouter0", |p| {
        !p.is_empty()
    })?;
    let initial_address = monitor
        .present
        .iter()
        .next()
        .copied()
        .ok_or("no IA_NA address on erouter0")?;
    // Let the first exchange finish (the daemon's sysevents follow Kea's records).
    thread::sleep(AFTER_TALK);

    let mut done = Vec::with_capacity(restarts);
    for i in 0..restarts {
        let signal = if i % 2 == 0 { "SIGTERM" } else { "SIGKILL" };
        let records = lab.kea6_leases().len();
        let sets = lab.sysevents().len();
        let changes_start = monitor.changes()?.len();
        let old = dibbler_pids(lab);
        if old.len() != 1 {
            return Err(format!(
                "before restart {}: dibbler-client pids {old:?}\n{}",
                i + 1,
                daemon.log_tail()
            ));
        }
        let t0 = Instant::now();
        let status = if signal == "SIGTERM" {
            daemon.terminate()
        } else {
            daemon.sigkill()
        };
        if signal == "SIGTERM" && !status.success() {
            return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
        }
        daemon = lab.start_daemon(&path);
        let daemon_up = t0.elapsed();
        let dibbler_up = wait_for(BIND_DEADLINE, || {
            let now = dibbler_pids(lab);
            (now.len() == 1 && !old.contains(&now[0])).then(|| t0.elapsed())
        })
        .ok_or_else(|| {
            format!(
                "restart {}: no new single dibbler-client within {BIND_DEADLINE:?} \
                 (pids {:?}, before {old:?})\n{}",
                i + 1,
                dibbler_pids(lab),
                daemon.log_tail()
            )
        })?;
        // Until Kea has a new record and nothing changed for QUIET (dibbler-client 1.0.1
        // sends CONFIRM, RENEW and REQUEST about a second apart), or the deadline.
        let deadline = Instant::now() + TALK_DEADLINE;
        let mut kea_record = None;
        let mut last = activity(lab, monitor)?;
        let mut changed = Instant::now();
        while Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
            let now = activity(lab, monitor)?;
            if now != last {
                (last, changed) = (now, Instant::now());
            }
            if kea_record.is_none() && lab.kea6_leases().len() > records {
                kea_record = Some(t0.elapsed());
            }
            if kea_record.is_some() && changed.elapsed() >= QUIET {
                break;
            }
        }
        let leases = lab.kea6_leases();
        let new_sets: Vec<(String, String)> = lab.sysevents().into_iter().skip(sets).collect();
        let changes = monitor.changes()?[changes_start..].to_vec();
        let removed: Vec<_> = changes.iter().filter(|c| !c.added).collect();
        let gap = removed
            .iter()
            .filter_map(|r| {
                let back = changes
                    .iter()
                    .find(|c| c.added && c.address == r.address && c.at >= r.at)?;
                Some(back.at.saturating_duration_since(r.at))
            })
            .max();
        done.push(Restart {
            signal,
            daemon_up,
            dibbler_up,
            kea_record,
            settled: changed.saturating_duration_since(t0),
            kea_pd_records: leases[records..].iter().filter(|l| l.is_prefix()).count(),
            kea_prefix: leases[records_start..]
                .iter()
                .rev()
                .find(|l| l.is_prefix())
                .map(|l| format!("{}/{}", l.address, l.prefix_len)),
            v6pref: lab.sysevent(PREF_KEY),
            v6addr: lab.sysevent(ADDR_KEY),
            v6addr_emptied: new_sets
                .iter()
                .filter(|(k, v)| k == ADDR_KEY && v.is_empty())
                .count(),
            address_removals: removed.len(),
            address_gap: gap,
            address_present: monitor.present.contains(&initial_address),
        });
    }
    let final_addresses = global_v6(lab.cpe());

    let leases = lab.kea6_leases();
    let prefix_records: Vec<_> = leases[records_start..]
        .iter()
        .filter(|l| l.is_prefix())
        .collect();
    let kea_log = fs::read_to_string(lab.dir().join("kea6.log")).unwrap_or_default();
    let sets: Vec<String> = lab
        .sysevents()
        .into_iter()
        .filter(|(k, _)| k == PREF_KEY)
        .map(|(_, v)| v)
        .collect();
    let continuity = Continuity {
        initial_prefix,
        initial_address,
        restarts: done,
        kea_prefixes: prefix_records
            .iter()
            .map(|l| format!("{}/{}", l.address, l.prefix_len))
            .collect(),
        kea_log_prefixes: kea_log_prefixes(kea_log.get(log_start..).unwrap_or_default()),
        sysevent_prefixes: sets.iter().filter(|v| !v.is_empty()).cloned().collect(),
        inactive_prefix_records: prefix_records.iter().filter(|l| !l.is_active()).count(),
        emptied_prefix_sets: sets.iter().filter(|v| v.is_empty()).count(),
        prefix_sets: sets.len(),
        final_addresses,
    };
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
    }
    wait_no_dibbler(lab)?;
    flush_wan6(lab, monitor)?;
    Ok(continuity)
}

// ---------------------------------------------------------------------------------------------
// 4: memory with one v4 and one v6 client
// ---------------------------------------------------------------------------------------------

struct Idle {
    daemon: Memory,
    udhcpc: Option<Memory>,
    dibbler: Option<Memory>,
}

impl Idle {
    fn json(&self) -> Value {
        json!({
            "daemon": self.daemon.json(),
            "udhcpc": self.udhcpc.as_ref().map(Memory::json),
            "dibbler_client": self.dibbler.as_ref().map(Memory::json),
        })
    }
}

fn idle_memory(lab: &mut Lab) -> Result<Idle> {
    lab.start_kea4(Kea4Options::default());
    let mut config = v6_config(lab, "memory", "")?;
    config.v4_clients = lab.daemon_config().v4_clients;
    let path = lab.write_daemon_config(&config);
    lab.clear_sysevents();
    let daemon = lab.start_daemon(&path);
    wait_for(BIND_DEADLINE, || {
        let v4 = lab
            .sysevent(&format!("ipv4_{WAN_IF}_ipaddr"))
            .filter(|a| !a.is_empty());
        let v6 = lab.sysevent(PREF_KEY).filter(|p| !p.is_empty());
        (v4.is_some() && v6.is_some()).then_some(())
    })
    .ok_or_else(|| {
        format!(
            "no v4 lease and v6 prefix within {BIND_DEADLINE:?}\n{}",
            daemon.log_tail()
        )
    })?;
    thread::sleep(SETTLE);
    let child = |comm: &str| {
        pids_named(lab, comm)
            .first()
            .and_then(|pid| Memory::read(u32::try_from(*pid).ok()?).ok())
    };
    let idle = Idle {
        daemon: Memory::read(daemon.pid())?,
        udhcpc: child("udhcpc").or_else(|| child("busybox")),
        dibbler: child("dibbler-client"),
    };
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
    }
    lab.stop_kea4();
    lab.stop_kea6();
    Ok(idle)
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn print_report(hops: &HopReport, start: &FirstBound, cont: &Continuity, idle: &Idle) {
    let column = |f: fn(&Hop) -> Duration| Stats::of(&hops.column(f));
    let (a0, p0) = HOP_LEASES[0];
    let (a3, p3) = HOP_LEASES[HOP_LEASES.len() - 1];
    println!(
        "1. v6 lease hop: {} `add` events (+{WARMUP_EVENTS} warm-up), IA_NA {a0}–{a3} and",
        hops.n
    );
    println!("   PD {p0}/{HOP_PREFIX_LEN}–{p3}/{HOP_PREFIX_LEN} in turn, each a real change");
    println!("   wan6 client enable = false: no dibbler-client runs, the bench is the only source");
    println!("   t0 = just before spawning `{PLUGIN} add` (dibbler's environment) from a thread");
    println!("   setns'ed into the cpe netns");
    println!(
        "  {:<44} {:>8} {:>8} {:>8}",
        "ms after t0", "p50", "p99", "max"
    );
    println!(
        "{}",
        column(|h| h.exit).row("(a) plugin exit (daemon acked)")
    );
    println!(
        "{}",
        column(|h| h.added).row("(b) IA_NA address added (netlink event)")
    );
    println!(
        "{}",
        column(|h| h.sysevent_addr).row("(c) sysevent …_v6addr line seen")
    );
    println!(
        "{}",
        column(|h| h.sysevent_pref).row("(c) sysevent …_v6pref line seen (last)")
    );
    println!(
        "{}",
        column(Hop::whole).row("whole hop: the last of (a), (b), (c)")
    );
    println!(
        "   sysevent lines per hop: 2 (v6addr, v6pref) ×{}, other ×{}; stray ×{}",
        hops.batches(2),
        hops.n - hops.batches(2),
        hops.stray()
    );
    let f = &hops.first;
    println!(
        "   first event (warm-up, from no lease, {} sysevent lines; one sample): exit {:.3},",
        f.batch_lines + f.stray_lines,
        ms(f.exit)
    );
    println!(
        "   address {:.3}, v6pref line {:.3} ms",
        ms(f.added),
        ms(f.sysevent_pref)
    );
    println!(
        "   the sysevent recorder is a /bin/sh script (fork+exec per key included); its file is"
    );
    println!("   read every {SYSEVENT_POLL:?}, so (c) is late by up to that much");
    println!();

    println!(
        "2. Daemon start → first bound event: {} runs each, empty state and run dirs (new DUID,",
        start.modes.first().map_or(0, |m| m.runs.len())
    );
    println!("   no dibbler bindings); t0 = daemon spawn (via `ip netns exec`)");
    println!(
        "  {:<44} {:>8} {:>8} {:>8}",
        "ms after t0", "median", "min", "max"
    );
    for mode in &start.modes {
        let (name, kea) = if mode.rapid {
            (
                "with rapid commit",
                format!("Kea T1 {} s", mode.kea.renew_timer),
            )
        } else {
            (
                "without rapid commit",
                format!("Kea T1 {} s", mode.kea.renew_timer),
            )
        };
        println!(
            "   {name} ({kea}; Kea logged {} *_LEASE_ADVERT lines):",
            mode.advertised
        );
        println!(
            "{}",
            spread_row(
                "(a) IA_NA address on erouter0 (netlink)",
                &mode.column(|s| s.address)
            )
        );
        println!(
            "{}",
            spread_row(
                "(b) first …_v6addr sysevent (bound event)",
                &mode.column(|s| s.v6addr)
            )
        );
        println!(
            "{}",
            spread_row("    first …_v6pref sysevent", &mode.column(|s| s.v6pref))
        );
        println!("     runs (a): {}", list(&mode.column(|s| s.address)));
        println!("     runs (b): {}", list(&mode.column(|s| s.v6addr)));
    }
    println!(
        "   with rapid commit dibbler-client 1.0.1 configures the address from the REPLY but runs"
    );
    println!(
        "   no script for it: the daemon's bound event waits for the first RENEW (T1 = {RAPID_T1} s here)"
    );
    println!();

    let kinds = |signal: &str| cont.count(|r| r.signal == signal);
    println!(
        "3. Prefix continuity: {} daemon restarts ({} after SIGTERM, {} after SIGKILL), Kea default",
        cont.restarts.len(),
        kinds("SIGTERM"),
        kinds("SIGKILL")
    );
    println!(
        "   acquired {} and {}; each restart: signal, new daemon, new dibbler-client,",
        cont.initial_prefix, cont.initial_address
    );
    println!(
        "   first new record in Kea's lease file, then until nothing changed for {QUIET:?} (Kea's"
    );
    println!("   lease file and log, sysevents, addresses; at most {TALK_DEADLINE:?})");
    println!(
        "   ms from the signal; PD = prefix records Kea wrote; v6addr: the last value set and how"
    );
    println!(
        "   often it was emptied; addr-: IA_NA address removals from {WAN_IF} (longest gap, ms)"
    );
    println!(
        "  {:<3} {:<7} {:>6} {:>7} {:>7} {:>7} {:>3}  {:<22} {:<22} {:<19} addr-",
        "#",
        "signal",
        "daemon",
        "dibbler",
        "Kea 1st",
        "settled",
        "PD",
        "Kea newest prefix",
        "v6pref sysevent",
        "v6addr (emptied)"
    );
    for (i, r) in cont.restarts.iter().enumerate() {
        let v6addr = match r.v6addr.as_deref() {
            None => "-".to_owned(),
            Some("") => format!("\"\" ({})", r.v6addr_emptied),
            Some(a) => format!("{a} ({})", r.v6addr_emptied),
        };
        let removals = match (r.address_removals, r.address_gap) {
            (0, _) => "0".to_owned(),
            (n, Some(gap)) => format!("{n} ({:.0})", ms(gap)),
            (n, None) => format!("{n} (not back)"),
        };
        println!(
            "  {:<3} {:<7} {:>6.0} {:>7.0} {:>7} {:>7.0} {:>3}  {:<22} {:<22} {:<19} {}",
            i + 1,
            r.signal,
            ms(r.daemon_up),
            ms(r.dibbler_up),
            r.kea_record
                .map_or("none".into(), |d| format!("{:.0}", ms(d))),
            ms(r.settled),
            r.kea_pd_records,
            r.kea_prefix.as_deref().unwrap_or("-"),
            r.v6pref.as_deref().unwrap_or("-"),
            v6addr,
            removals
        );
    }
    let join = |s: &BTreeSet<String>| {
        if s.is_empty() {
            "none".to_owned()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    println!(
        "   Kea talked to after {}/{} restarts; prefix records written {}, not active (released) {}",
        cont.count(|r| r.kea_record.is_some()),
        cont.restarts.len(),
        cont.sum(|r| r.kea_pd_records),
        cont.inactive_prefix_records
    );
    println!(
        "   …_v6pref sets: {} ({} emptied); …_v6addr emptied {} times; IA_NA address removed from",
        cont.prefix_sets,
        cont.emptied_prefix_sets,
        cont.sum(|r| r.v6addr_emptied)
    );
    let gap = cont.restarts.iter().filter_map(|r| r.address_gap).max();
    println!(
        "   {WAN_IF} {} times (longest gap {}); restarts settling without it: {}; at the end: {:?}",
        cont.sum(|r| r.address_removals),
        gap.map_or("-".into(), |g| format!("{:.0} ms", ms(g))),
        cont.count(|r| !r.address_present),
        cont.final_addresses
    );
    println!(
        "   prefixes in Kea's lease file: {}",
        join(&cont.kea_prefixes)
    );
    println!(
        "   prefixes in Kea's log:        {}",
        join(&cont.kea_log_prefixes)
    );
    println!(
        "   prefixes in …_v6pref:         {}",
        join(&cont.sysevent_prefixes)
    );
    println!(
        "   distinct delegated prefixes: {} (must be 1) → {}",
        cont.distinct(),
        if cont.pass() { "PASS" } else { "FAIL" }
    );
    println!();

    println!("4. Daemon memory (budget: idle RSS ≤ 6 MiB with v4+v6 clients and the shield;");
    println!("   measured here: one v4 and one v6 client, leases from Kea, no shield)");
    println!(
        "   idle, {SETTLE:?} after both bound: {}",
        idle.daemon.line()
    );
    println!(
        "   after the v6 hop run ({} events):  {}",
        hops.n + WARMUP_EVENTS,
        hops.memory.line()
    );
    for (name, m) in [("udhcpc", &idle.udhcpc), ("dibbler-client", &idle.dibbler)] {
        match m {
            Some(m) => println!("   child {name:<15} VmRSS {}", kib(m.rss)),
            None => println!("   child {name:<15} not found"),
        }
    }
}
