//! TR-181 over D-Bus benchmark (docs/contracts.md#d-bus; issue 4, "Measured, not asserted"): a plain binary
//! (`harness = false`) that prints what it measured — a table, then one `BENCH_JSON {…}` line. It
//! never asserts a timing; it fails (exit code 1) only when something does not work at all.
//!
//! A private `dbus-daemon` (session-type config on a socket in a temp dir), the daemon's TR-181
//! thread (`dhcpmgr::tr181_thread::spawn`, the same code the daemon runs) and, in place of the
//! controller, a thread that answers every command `Ok` (and echoes new settings back as a
//! client update, as the controller does). The tree holds `dhcpmgr::tr181::fuzzing::
//! sample_updates`: two bound DHCPv4 clients with requested/sent options and raw lease options,
//! two DHCPv6 clients with received options. One client connection, calls one after another,
//! `TR181_BENCH_WARMUP` (default 200) unmeasured then `TR181_BENCH_N` (default 2000) measured:
//!
//! - `GetParameterValues(["Device.DHCPv4."])` and `(["Device.DHCPv6."])`: the whole trees;
//! - `SetParameterValues` of 10 writable parameters (found with `GetParameterNames`' writable
//!   flag at run time, spread over the client rows; booleans written `true`, everything else its
//!   current value), every one reaching the fake controller;
//! - for scale, `GetParameterValues` of one parameter (the bus round trip and little else), and
//!   the same requests on the tree in-process (no D-Bus) from this thread.
//!
//! Per request: calls/s (N / wall time of the N calls), p50/p99/max latency, and CPU time per
//! call of the TR-181 thread, the `dbus-daemon` and this client thread (from `schedstat`).
//!
//! Then the request limits (issue 13): `TR181_BENCH_EXTRA_CLIENTS` (default 40) more DHCPv4
//! rows, and `GetParameterValues` of as many distinct partial paths as fit in one reply (up to
//! `MAX_NAMES` names, close to `MAX_REPLY_ENTRIES` values): the peak RSS of the process (the
//! service and this client, `VmHWM` reset through `/proc/self/clear_refs` before each request)
//! and the time to answer; and the time to refuse over-limit requests (10,000 × `Device.`, and
//! one name past the reply limit) with ResourcesExceeded.
//!
//! ```sh
//! cargo bench --bench tr181            # bench profile = release: opt-level "z", LTO
//! TR181_BENCH_N=10000 cargo bench --bench tr181
//! ```
//!
//! Needs `dbus-daemon` (package `dbus-daemon`); it need not run as root (the bench's uid is
//! allowed to write).

#[allow(dead_code)] // Shared with the lab benches; this one uses the report helpers and `Stats`.
#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::stats::Stats;
use common::{env_count, host_line, Result};
use dhcpmgr::boottime::BootSeconds;
use dhcpmgr::channels::{
    ClientAction, ClientConfig, CommandError, CommandReceiver, ControllerCommand, ControllerUpdate,
    UpdateSender,
};
use dhcpmgr::config::BusChoice;
use dhcpmgr::config::ClientAlias;
use dhcpmgr::model::ClientKey;
use dhcpmgr::tr181::tree::limits::{MAX_NAMES, MAX_REPLY_ENTRIES};
use dhcpmgr::tr181::{fuzzing, DataModel1Proxy};
use dhcpmgr::tr181_thread::{self, Tr181Settings};
use dhcpmgr_lab::DbusDaemon;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Parameters in the measured SetParameterValues.
const SET_SIZE: usize = 10;
/// Deadline (not a timing) for the service to come up.
const READY_DEADLINE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tr181: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let n = env_count("TR181_BENCH_N", 2000)?;
    let warmup = env_count("TR181_BENCH_WARMUP", 200)?;
    let extra_clients = env_count("TR181_BENCH_EXTRA_CLIENTS", 40)?;
    println!(
        "tr181: TR-181 over D-Bus benchmark (docs/contracts.md#d-bus); timings are measured, never asserted"
    );
    println!(
        "build: {} (bench profile; the release profile's opt-level \"z\" and LTO)",
        if cfg!(debug_assertions) {
            "debug assertions ON"
        } else {
            "optimized"
        }
    );
    println!("{}", host_line());

    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let bus = DbusDaemon::start(dir.path());
    let service = Service::start(bus.address())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut report = runtime.block_on(measure_all(&bus, &service, warmup, n))?;
    report["limits"] = runtime.block_on(limits(&bus, &service, extra_clients))?;
    drop(service);
    println!("BENCH_JSON {report}");
    Ok(())
}

/// The TR-181 thread on the bus, and the fake controller answering its commands.
struct Service {
    shutdown: CancellationToken,
    tr181: Option<JoinHandle<()>>,
    controller: Option<JoinHandle<()>>,
    /// Commands the fake controller has answered.
    answered: Arc<AtomicU64>,
    /// Updates to the TR-181 thread, as the controller sends them.
    updates: UpdateSender,
    /// The snapshots the tree started with.
    snapshots: Vec<ControllerUpdate>,
}

impl Service {
    fn start(address: &str) -> Result<Self> {
        let (updates, updates_rx) = mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let shutdown = CancellationToken::new();
        // The bench's own uid may write (root may anyway).
        let uid = fs::metadata("/proc/self")
            .map_err(|e| format!("stat /proc/self: {e}"))?
            .uid();
        let settings = Tr181Settings {
            bus: BusChoice::Address(address.to_string()),
            write_uids: vec![uid],
            table_limit: dhcpmgr::config::DEFAULT_TABLE_LIMIT,
            rbus: Default::default(),
        };
        let tr181 = tr181_thread::spawn(settings, updates_rx, commands_tx, shutdown.clone())
            .map_err(|e| format!("start the TR-181 thread: {e}"))?;
        let snapshots = fuzzing::sample_updates(BootSeconds::now());
        for update in &snapshots {
            updates
                .send(update.clone())
                .map_err(|_| "the TR-181 thread stopped".to_string())?;
        }
        let answered = Arc::new(AtomicU64::new(0));
        let counter = answered.clone();
        let controller = thread::Builder::new()
            .name("fake-controller".into())
            .spawn({
                let shutdown = shutdown.clone();
                let (updates, snapshots) = (updates.clone(), snapshots.clone());
                move || fake_controller(commands_rx, updates, snapshots, &counter, &shutdown)
            })
            .map_err(|e| format!("spawn the fake controller: {e}"))?;
        Ok(Self {
            shutdown,
            tr181: Some(tr181),
            controller: Some(controller),
            answered,
            updates,
            snapshots,
        })
    }

    /// Stops the TR-181 thread and the fake controller.
    fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.tr181.take() {
            let _ = thread.join();
        }
        if let Some(thread) = self.controller.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Answers every command `Ok`; new settings go back to the TR-181 thread as a client update with
/// those settings, as the controller reports them. Counts the commands in `answered`. Ends at
/// `shutdown`, like the real controller (the command sender may outlive the TR-181 thread in
/// its D-Bus connection).
fn fake_controller(
    mut commands: CommandReceiver,
    updates: UpdateSender,
    snapshots: Vec<ControllerUpdate>,
    answered: &AtomicU64,
    shutdown: &CancellationToken,
) {
    let mut clients: HashMap<ClientKey, ControllerUpdate> = snapshots
        .into_iter()
        .filter_map(|update| match &update {
            ControllerUpdate::V4Client(s) => Some((ClientKey::V4(s.instance), update)),
            ControllerUpdate::V6Client(s) => Some((ClientKey::V6(s.instance), update)),
            _ => None,
        })
        .collect();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("tr181: the fake controller cannot build a runtime");
        return;
    };
    let mut next = || {
        runtime.block_on(async {
            tokio::select! {
                _ = shutdown.cancelled() => None,
                command = commands.recv() => command,
            }
        })
    };
    while let Some(command) = next() {
        let reply = match command {
            ControllerCommand::Client {
                client,
                action,
                reply,
            } => {
                if let ClientAction::Configure(settings) = action {
                    let echo = match (clients.get_mut(&client), settings) {
                        (Some(ControllerUpdate::V4Client(s)), ClientConfig::V4(new)) => {
                            s.settings = *new;
                            Some(ControllerUpdate::V4Client(s.clone()))
                        }
                        (Some(ControllerUpdate::V6Client(s)), ClientConfig::V6(new)) => {
                            s.settings = *new;
                            Some(ControllerUpdate::V6Client(s.clone()))
                        }
                        _ => None,
                    };
                    if let Some(update) = echo {
                        let _ = updates.send(update);
                    }
                }
                reply
            }
            ControllerCommand::FactoryReset { reply } => reply,
            ControllerCommand::AddClient { reply, .. } => {
                let _ = reply.send(Err(CommandError::Refused {
                    reason: "the bench adds no clients".into(),
                }));
                continue;
            }
            ControllerCommand::DeleteClient { reply, .. } => {
                let _ = reply.send(Err(CommandError::Refused {
                    reason: "the bench deletes no clients".into(),
                }));
                continue;
            }
        };
        let _ = reply.send(Ok(()));
        answered.fetch_add(1, Ordering::Relaxed);
    }
}

/// CPU time (ns) a task has run, from `/proc/…/schedstat`.
fn cpu_ns(schedstat: &Path) -> u64 {
    fs::read_to_string(schedstat)
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The `schedstat` files of the three parties: the TR-181 thread, dbus-daemon, this thread.
struct CpuProbes {
    tr181: PathBuf,
    bus: PathBuf,
    client: PathBuf,
}

impl CpuProbes {
    fn find(bus_pid: u32) -> Result<Self> {
        let tasks = fs::read_dir("/proc/self/task").map_err(|e| format!("/proc/self/task: {e}"))?;
        let tr181 = tasks
            .filter_map(|t| t.ok().map(|t| t.path()))
            .find(|t| fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim() == "tr181"))
            .ok_or("no thread named tr181 in this process")?;
        let client =
            fs::read_link("/proc/thread-self").map_err(|e| format!("/proc/thread-self: {e}"))?;
        Ok(Self {
            tr181: tr181.join("schedstat"),
            bus: PathBuf::from(format!("/proc/{bus_pid}/schedstat")),
            client: PathBuf::from("/proc").join(client).join("schedstat"),
        })
    }

    fn read(&self) -> [u64; 3] {
        [cpu_ns(&self.tr181), cpu_ns(&self.bus), cpu_ns(&self.client)]
    }
}

/// One measured request.
struct Measured {
    label: String,
    stats: Stats,
    calls_per_s: f64,
    /// CPU µs per call: TR-181 thread, dbus-daemon, client.
    cpu_us: [f64; 3],
    /// Values in a reply (GetParameterValues) or parameters written (SetParameterValues).
    items: usize,
}

impl Measured {
    fn row(&self) -> String {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        format!(
            "  {:<44} {:>6} {:>9.0} {:>8.1} {:>8.1} {:>8.1}   {:>6.1} {:>6.1} {:>6.1}",
            self.label,
            self.items,
            self.calls_per_s,
            us(self.stats.p50),
            us(self.stats.p99),
            us(self.stats.max),
            self.cpu_us[0],
            self.cpu_us[1],
            self.cpu_us[2],
        )
    }

    fn json(&self) -> Value {
        let us = |d: Duration| (d.as_secs_f64() * 1e7).round() / 10.0;
        json!({
            "request": self.label,
            "items": self.items,
            "n": self.stats.n,
            "calls_per_s": self.calls_per_s.round(),
            "p50_us": us(self.stats.p50),
            "p99_us": us(self.stats.p99),
            "max_us": us(self.stats.max),
            "cpu_us_per_call": {
                "tr181_thread": self.cpu_us[0],
                "dbus_daemon": self.cpu_us[1],
                "client": self.cpu_us[2],
            },
        })
    }
}

/// Runs `call` `warmup` times, then `n` times timed one by one.
async fn measure<F, Fut>(
    label: &str,
    probes: Option<&CpuProbes>,
    warmup: usize,
    n: usize,
    mut call: F,
) -> Result<Measured>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize>>,
{
    let mut items = 0;
    for _ in 0..warmup {
        items = call().await.map_err(|e| format!("{label}: {e}"))?;
    }
    let mut samples = Vec::with_capacity(n);
    let cpu_before = probes.map(CpuProbes::read);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        items = call().await.map_err(|e| format!("{label}: {e}"))?;
        samples.push(t0.elapsed());
    }
    let wall = start.elapsed();
    let cpu_us = match (cpu_before, probes.map(CpuProbes::read)) {
        (Some(before), Some(after)) => {
            [0, 1, 2].map(|i| after[i].saturating_sub(before[i]) as f64 / n as f64 / 1e3)
        }
        _ => [f64::NAN; 3],
    };
    Ok(Measured {
        label: label.to_string(),
        stats: Stats::of(&samples),
        calls_per_s: n as f64 / wall.as_secs_f64(),
        cpu_us,
        items,
    })
}

/// The client connection, once the service answers with all four client rows.
async fn connect(address: &str) -> Result<(zbus::Connection, DataModel1Proxy<'static>)> {
    let conn = zbus::connection::Builder::address(address)
        .map(|b| b.build())
        .map_err(|e| format!("bus address {address}: {e}"))?
        .await
        .map_err(|e| format!("connect to {address}: {e}"))?;
    let proxy = DataModel1Proxy::new(&conn)
        .await
        .map_err(|e| format!("proxy: {e}"))?;
    let counts = [
        "Device.DHCPv4.ClientNumberOfEntries",
        "Device.DHCPv6.ClientNumberOfEntries",
    ];
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        match proxy.get_parameter_values(&counts).await {
            Ok(v) if v.iter().all(|(_, _, value)| value == "2") => return Ok((conn, proxy)),
            other if Instant::now() >= deadline => {
                return Err(format!(
                    "the service did not come up with 2+2 clients: {other:?}"
                ))
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Command-style booleans: writing them carries out a command rather than changing a setting.
const COMMANDS: [&str; 3] = ["Renew", "X_RDK_Release", "X_RDK_Restart"];

/// [`SET_SIZE`] writable settings, spread over the rows, each with two values that both
/// differ from each other: booleans their opposite and their current value, `Alias` parameters
/// a bench alias and their current value. The measured calls alternate between the two sets,
/// so every call changes ten values. Each candidate is tried alone (both values) first, and
/// left out if the service refuses it.
async fn writes(proxy: &DataModel1Proxy<'_>) -> Result<[Vec<(String, String)>; 2]> {
    let names = proxy
        .get_parameter_names("Device.", false)
        .await
        .map_err(|e| format!("GetParameterNames(Device.): {e}"))?;
    let writable: Vec<&str> = names
        .iter()
        .filter(|(name, writable)| *writable && !name.ends_with('.'))
        .map(|(name, _)| name.as_str())
        .collect();
    let current = proxy
        .get_parameter_values(&writable)
        .await
        .map_err(|e| format!("GetParameterValues of the writable parameters: {e}"))?;
    // Row (object path) → its settings in tree order; then one from each row in turn.
    let mut rows: BTreeMap<&str, Vec<(String, [String; 2])>> = BTreeMap::new();
    for (name, type_name, value) in &current {
        let Some((row, param)) = name.rsplit_once('.') else {
            continue;
        };
        let changed = match (type_name.as_str(), value.as_str()) {
            _ if COMMANDS.contains(&param) => continue,
            ("boolean", "true" | "1") => "false".to_string(),
            ("boolean", _) => "true".to_string(),
            _ if param == "Alias" => format!("bench-{}", rows.len()),
            _ => continue,
        };
        rows.entry(row)
            .or_default()
            .push((name.clone(), [changed, value.clone()]));
    }
    let mut candidates = Vec::new();
    for i in 0.. {
        let round: Vec<_> = rows
            .values()
            .filter_map(|params| params.get(i))
            .cloned()
            .collect();
        if round.is_empty() {
            break;
        }
        candidates.extend(round);
    }
    let mut chosen = [Vec::new(), Vec::new()];
    let mut refused = Vec::new();
    for (name, values) in candidates {
        if chosen[0].len() == SET_SIZE {
            break;
        }
        let mut accepted = true;
        for value in &values {
            if let Err(e) = proxy.set_parameter_values(&[(&name, value)]).await {
                refused.push(format!("{name}={value:?}: {e}"));
                accepted = false;
            }
        }
        if accepted {
            let [changed, current] = values;
            chosen[0].push((name.clone(), changed));
            chosen[1].push((name, current));
        }
    }
    if chosen[0].len() < SET_SIZE {
        return Err(format!(
            "only {} of {} writable parameters take two values: {chosen:?}; refused: {refused:?}",
            chosen[0].len(),
            writable.len()
        ));
    }
    Ok(chosen)
}

async fn measure_all(
    bus: &DbusDaemon,
    service: &Service,
    warmup: usize,
    n: usize,
) -> Result<Value> {
    let (_conn, proxy) = connect(bus.address()).await?;
    let probes = CpuProbes::find(bus.pid())?;
    let sets = writes(&proxy).await?;
    let set_refs: Vec<Vec<(&str, &str)>> = sets
        .iter()
        .map(|set| set.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect())
        .collect();
    println!("warm-up {warmup} calls, then {n} measured, one after another on one connection");
    println!("SetParameterValues writes, alternately:");
    for set in &sets {
        let shown: Vec<String> = set.iter().map(|(n, v)| format!("{n}={v}")).collect();
        println!("  {}", shown.join(" "));
    }
    println!();

    let gpv = |names: &'static [&'static str]| {
        let proxy = &proxy;
        move || async move {
            proxy
                .get_parameter_values(names)
                .await
                .map(|v| v.len())
                .map_err(|e| e.to_string())
        }
    };
    let mut results = vec![
        measure(
            "GetParameterValues Device.DHCPv4.",
            Some(&probes),
            warmup,
            n,
            gpv(&["Device.DHCPv4."]),
        )
        .await?,
        measure(
            "GetParameterValues Device.DHCPv6.",
            Some(&probes),
            warmup,
            n,
            gpv(&["Device.DHCPv6."]),
        )
        .await?,
    ];
    let mut calls = 0usize;
    let set_call = || {
        calls += 1;
        let set = &set_refs[calls % 2];
        let proxy = &proxy;
        async move {
            proxy
                .set_parameter_values(set)
                .await
                .map(|()| set.len())
                .map_err(|e| e.to_string())
        }
    };
    let commands_before = service.answered.load(Ordering::Relaxed);
    results.push(
        measure(
            "SetParameterValues, 10 parameters",
            Some(&probes),
            warmup,
            n,
            set_call,
        )
        .await?,
    );
    let commands_per_set =
        (service.answered.load(Ordering::Relaxed) - commands_before) as f64 / (warmup + n) as f64;
    results.push(
        measure(
            "GetParameterValues, 1 parameter (bus floor)",
            Some(&probes),
            warmup,
            n,
            gpv(&["Device.DHCPv4.Client.1.IPAddress"]),
        )
        .await?,
    );

    // The same requests on the tree in-process: what the TR-181 thread itself spends.
    let tree = fuzzing::sample_tree();
    let now = BootSeconds::now();
    let in_process = |names: &'static [&'static str]| {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        move || {
            let out = tree
                .get_values(&names, now)
                .map(|v| v.len())
                .map_err(|f| f.to_string());
            async move { out }
        }
    };
    let local = [
        measure(
            "in-process get_values Device.DHCPv4.",
            None,
            warmup,
            n,
            in_process(&["Device.DHCPv4."]),
        )
        .await?,
        measure(
            "in-process get_values Device.DHCPv6.",
            None,
            warmup,
            n,
            in_process(&["Device.DHCPv6."]),
        )
        .await?,
        measure(
            "in-process plan_set, 10 parameters",
            None,
            warmup,
            n,
            || {
                let out = tree
                    .plan_set(&sets[0])
                    .map(|_| sets[0].len())
                    .map_err(|f| f.to_string());
                async move { out }
            },
        )
        .await?,
    ];

    println!(
        "  {:<44} {:>6} {:>9} {:>8} {:>8} {:>8}   {:>20}",
        "request",
        "items",
        "calls/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "CPU µs/call: tr181 bus client"
    );
    for m in &results {
        println!("{}", m.row());
    }
    println!();
    println!("  in-process, no D-Bus (this thread, same rows):");
    for m in &local {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  {:<44} {:>6} {:>9.0} {:>8.1} {:>8.1} {:>8.1}",
            m.label,
            m.items,
            m.calls_per_s,
            us(m.stats.p50),
            us(m.stats.p99),
            us(m.stats.max)
        );
    }
    println!();
    println!(
        "controller commands per SetParameterValues (each answered Ok at once by the fake \
         controller): {commands_per_set:.1}"
    );
    Ok(json!({
        "warmup": warmup,
        "n": n,
        "set_parameters": sets[0].iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        "over_dbus": results.iter().map(Measured::json).collect::<Vec<_>>(),
        "in_process": local.iter().map(Measured::json).collect::<Vec<_>>(),
        "controller_commands_per_set": commands_per_set,
        "rows": { "dhcpv4_clients": 2, "dhcpv6_clients": 2 },
    }))
}

/// Peak resident set of this process in KiB (`VmHWM`).
fn peak_rss_kib() -> Result<u64> {
    let status =
        fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".to_string())
}

/// Resets the peak resident set to the current one.
fn reset_peak_rss() -> Result<()> {
    fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("/proc/self/clear_refs: {e}"))
}

/// Adds `extra` DHCPv4 rows (copies of the first sample client) and waits until they show.
async fn grow_tree(proxy: &DataModel1Proxy<'_>, service: &Service, extra: usize) -> Result<usize> {
    let Some(ControllerUpdate::V4Client(first)) = service.snapshots.first() else {
        return Err("the sample has no DHCPv4 client".into());
    };
    let count = service.snapshots.len() / 2 + extra;
    for i in 0..extra {
        let instance = u32::try_from(i + 3).map_err(|e| e.to_string())?;
        let mut copy = first.clone();
        copy.instance = dhcpmgr::model::Instance(instance);
        copy.settings.alias = ClientAlias::new(&format!("bench{instance}"))?;
        service
            .updates
            .send(ControllerUpdate::V4Client(copy))
            .map_err(|_| "the TR-181 thread stopped".to_string())?;
    }
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let rows = proxy
            .get_parameter_values(&["Device.DHCPv4.ClientNumberOfEntries"])
            .await
            .map_err(|e| e.to_string())?;
        if rows.first().map(|(_, _, v)| v.as_str()) == Some(count.to_string().as_str()) {
            return Ok(count);
        }
        if Instant::now() >= deadline {
            return Err(format!("the tree did not grow to {count} DHCPv4 clients"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Distinct partial paths whose replies add up to as many values as one request may carry
/// (every object path with its value count, largest first, while the total fits), their
/// total, and every object path (far more than one reply may carry).
async fn names_at_the_limit(
    proxy: &DataModel1Proxy<'_>,
) -> Result<(Vec<String>, usize, Vec<String>)> {
    let names = proxy
        .get_parameter_names("Device.", false)
        .await
        .map_err(|e| format!("GetParameterNames(Device.): {e}"))?;
    let mut sized = Vec::new();
    for (path, _) in names.iter().filter(|(n, _)| n.ends_with('.')) {
        let values = proxy
            .get_parameter_values(&[path.as_str()])
            .await
            .map_err(|e| format!("GetParameterValues({path}): {e}"))?;
        sized.push((values.len(), path.clone()));
    }
    sized.sort_by(|a, b| b.cmp(a));
    let all: Vec<String> = sized.iter().map(|(_, p)| p.clone()).collect();
    let (mut chosen, mut total) = (Vec::new(), 0);
    for (count, path) in sized {
        if chosen.len() < MAX_NAMES && total + count <= MAX_REPLY_ENTRIES * 9 / 10 {
            total += count;
            chosen.push(path);
        }
    }
    Ok((chosen, total, all))
}

/// One timed request: its duration, the peak RSS growth while it ran, and its outcome.
async fn timed_request(
    proxy: &DataModel1Proxy<'_>,
    names: &[&str],
) -> Result<(Duration, u64, std::result::Result<usize, String>)> {
    reset_peak_rss()?;
    let base = peak_rss_kib()?;
    let start = Instant::now();
    let outcome = proxy
        .get_parameter_values(names)
        .await
        .map(|v| v.len())
        .map_err(|e| e.to_string());
    let took = start.elapsed();
    Ok((took, peak_rss_kib()?.saturating_sub(base), outcome))
}

/// The request limits: the largest request answered, and over-limit requests refused.
async fn limits(bus: &DbusDaemon, service: &Service, extra: usize) -> Result<Value> {
    let (_conn, proxy) = connect(bus.address()).await?;
    let clients = grow_tree(&proxy, service, extra).await?;
    let (names, expected, all) = names_at_the_limit(&proxy).await?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Warm the allocator and the bus once, so the measured peak is the request's own.
    timed_request(&proxy, &refs)
        .await?
        .2
        .map_err(|e| format!("the request at the limit was refused: {e}"))?;
    let (took, rss, outcome) = timed_request(&proxy, &refs).await?;
    let values = outcome.map_err(|e| format!("the request at the limit was refused: {e}"))?;
    let flood = vec!["Device."; 10_000];
    let (flood_took, flood_rss, flood_outcome) = timed_request(&proxy, &flood).await?;
    let mut over: Vec<&str> = all.iter().map(String::as_str).collect();
    over.truncate(MAX_NAMES);
    let (over_took, over_rss, over_outcome) = timed_request(&proxy, &over).await?;
    let refused = |outcome: &std::result::Result<usize, String>, what: &str| match outcome {
        Err(e) if e.contains("ResourcesExceeded") => Ok(()),
        other => Err(format!("{what}: expected ResourcesExceeded, got {other:?}")),
    };
    refused(&flood_outcome, "10000 × Device.")?;
    refused(&over_outcome, "past the reply limit")?;
    let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
    println!();
    println!(
        "request limits: {MAX_NAMES} names, {MAX_REPLY_ENTRIES} values per reply; tree of \
         {clients} DHCPv4 clients"
    );
    println!(
        "  at the limit: {} names, {values} values (expected {expected}): {:.1} ms, peak RSS +{rss} KiB \
         (service and client in this process)",
        names.len(),
        ms(took)
    );
    println!(
        "  refused, 10000 × Device.: {:.1} ms, peak RSS +{flood_rss} KiB",
        ms(flood_took)
    );
    println!(
        "  refused, {} names past the reply limit: {:.1} ms, peak RSS +{over_rss} KiB",
        over.len(),
        ms(over_took)
    );
    Ok(json!({
        "dhcpv4_clients": clients,
        "at_limit": {"names": names.len(), "values": values, "ms": ms(took), "peak_rss_kib": rss},
        "refused_flood": {"names": flood.len(), "ms": ms(flood_took), "peak_rss_kib": flood_rss},
        "refused_over_reply": {"names": over.len(), "ms": ms(over_took), "peak_rss_kib": over_rss},
    }))
}
