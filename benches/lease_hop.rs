//! Lease-hop benchmark (design §2 lease flow, §6 budgets): a plain binary (`harness = false`)
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

mod common;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    env_count, in_netns, median, ms, wait_for, AddrMonitor, Memory, Result, Stats, SyseventWatch,
    SYSEVENT_POLL,
};
use dhcpmgr::boottime::BootSeconds;
use dhcpmgr::tr181::DataModel1Proxy;
use dhcpmgr_lab::{bin, bin_dir, Kea4Options, Lab, Netns, WAN_IF};
use futures_util::StreamExt as _;
use serde_json::{json, Value};

/// A `ValuesChanged` signal's (name, value) pairs and when it arrived.
type ValuesChanged = (Instant, Vec<(String, String)>);

/// Leases applied before the measured ones (the first sets every sysevent key).
const WARMUP_LEASES: usize = 2;
/// Addresses the hop run moves `erouter0` between, in turn.
const HOP_ADDRESSES: [Ipv4Addr; 4] = [
    Ipv4Addr::new(192, 0, 2, 10),
    Ipv4Addr::new(192, 0, 2, 11),
    Ipv4Addr::new(192, 0, 2, 12),
    Ipv4Addr::new(192, 0, 2, 13),
];
/// Plugin runs with no daemon listening.
const SPOOL_RUNS: usize = 100;
/// Runs of `true`, direct and through `ip netns exec`.
const NETNS_EXEC_RUNS: usize = 50;
/// After a hop whose start crossed a second boundary, how long a `start_time` line may follow.
const START_TIME_GRACE: Duration = Duration::from_millis(20);
/// Deadlines (not timings): one hop, one acquisition, one udhcpc exit.
const HOP_DEADLINE: Duration = Duration::from_secs(5);
const ACQUIRE_DEADLINE: Duration = Duration::from_secs(20);
/// Idle time before the daemon's memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// TR-181 parameter carrying client 1's address.
const IP_PARAM: &str = "Device.DHCPv4.Client.1.IPAddress";
const PLUGIN: &str = "dhcpmgr-udhcpc-plugin";
const RELEASE_BINARIES: [&str; 3] = ["dhcpmgr", "dhcpmgrctl", PLUGIN];

/// busybox 1.35 `examples/udhcp/simple.script`, verbatim except that `RESOLV_CONF` (`@RESOLV@`)
/// points into the lab dir instead of `/etc/resolv.conf`.
const SIMPLE_SCRIPT: &str = r#"#!/bin/sh
# udhcpc script edited by Tim Riker <Tim@Rikers.org>

RESOLV_CONF="@RESOLV@"

[ -n "$1" ] || { echo "Error: should be called from udhcpc"; exit 1; }

NETMASK=""
if command -v ip >/dev/null; then
	[ -n "$subnet" ] && NETMASK="/$subnet"
else
	[ -n "$subnet" ] && NETMASK="netmask $subnet"
fi
BROADCAST="broadcast +"
[ -n "$broadcast" ] && BROADCAST="broadcast $broadcast"

case "$1" in
	deconfig)
		echo "Clearing IP addresses on $interface, upping it"
		if command -v ip >/dev/null; then
			ip -4 addr flush dev $interface
			ip link set dev $interface up
		else
			ifconfig $interface 0.0.0.0
		fi
		;;

	renew|bound)
		echo "Setting IP address $ip on $interface"
		if command -v ip >/dev/null; then
			ip addr add $ip$NETMASK $BROADCAST dev $interface
		else
			ifconfig $interface $ip $NETMASK $BROADCAST
		fi

		if [ -n "$router" ] ; then
			echo "Deleting routers"
			while route del default gw 0.0.0.0 dev $interface ; do
				:
			done

			metric=0
			for i in $router ; do
				echo "Adding router $i"
				if [ "$subnet" = "255.255.255.255" ]; then
	# special case for /32 subnets:
	# /32 instructs kernel to always use routing for all outgoing packets
	# (they can never be sent to local subnet - there is no local subnet for /32).
	# Used in datacenters, avoids the need for private ip-addresses between two hops.
					ip route add $i dev $interface
				fi
				route add default gw $i dev $interface metric $((metric++))
			done
		fi

		# If the file is a symlink somewhere (like /etc/resolv.conf
		# pointing to /run/resolv.conf), make sure things work.
		if test -L "$RESOLV_CONF"; then
			# If it's a dangling symlink, try to create the target.
			test -e "$RESOLV_CONF" || touch "$RESOLV_CONF"
		fi
		realconf=$(readlink -f "$RESOLV_CONF" 2>/dev/null || echo "$RESOLV_CONF")
		echo "Recreating $realconf"
		tmpfile="$realconf-$$"
		> "$tmpfile"
		[ -n "$domain" ] && echo "search $domain" >> "$tmpfile"
		for i in $dns ; do
			echo " Adding DNS server $i"
			echo "nameserver $i" >> "$tmpfile"
		done
		mv "$tmpfile" "$realconf"
		;;
esac

exit 0
"#;

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
    let bins = bin_dir();
    let profile = ["release", "debug"]
        .into_iter()
        .find(|p| bins.ends_with(p))
        .unwrap_or("unknown");
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("lease_hop: dhcpmgr benchmark (design §6); timings are measured, never asserted");
    println!("binaries: {} ({profile} build)", bins.display());
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

    let mut lab = Lab::new();
    let mut monitor = AddrMonitor::start(lab.cpe().name())?;
    if !lab.cpe().ipv4_addrs(WAN_IF).is_empty() {
        return Err(format!("{WAN_IF} already has IPv4 addresses in a new lab"));
    }

    let hops = lease_hops(&lab, &mut monitor, n)?;
    let start = start_to_address(&mut lab, &mut monitor, runs)?;
    let sizes = release_sizes(lab.dir());

    print_report(&hops, &start, &sizes);
    let report = json!({
        "binaries": { "dir": bins.display().to_string(), "profile": profile },
        "lease_hop": hops.json(),
        "start_to_address": start.json(),
        "daemon_memory": {
            "idle_with_kea_lease": start.memory.json(),
            "after_hop_run": hops.memory.json(),
        },
        "release_binaries": sizes.iter().map(|s| s.json()).collect::<Vec<_>>(),
        "plugin_exec_ms": {
            "budget": 3.0,
            "delivered": Stats::of(&hops.column(|h| h.exit)).json(),
            "spooled": Stats::of(&hops.spooled).json(),
        },
        "netns_exec_ms": {
            "direct_true_p50": ms(Stats::of(&hops.direct_true).p50),
            "ip_netns_exec_true_p50": ms(Stats::of(&hops.netns_true).p50),
        },
    });
    println!("BENCH_JSON {report}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1 and 4: lease hops, spooling plugin, `ip netns exec` overhead
// ---------------------------------------------------------------------------------------------

/// Times of one hop, from just before the plugin's spawn.
struct Hop {
    added: Duration,
    exit: Duration,
    signal: Duration,
    sysevent_ip: Duration,
    sysevent_last: Duration,
    batch_lines: usize,
    stray_lines: usize,
}

impl Hop {
    /// The whole hop: until the last of (a), (b), (c).
    fn whole(&self) -> Duration {
        self.exit.max(self.signal).max(self.sysevent_last)
    }
}

struct HopReport {
    n: usize,
    /// The first (warm-up) lease: from no lease, so every sysevent key is set.
    first: Hop,
    hops: Vec<Hop>,
    spooled: Vec<Duration>,
    direct_true: Vec<Duration>,
    netns_true: Vec<Duration>,
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
            "warmup": WARMUP_LEASES,
            "wan_client": "disabled (no udhcpc running)",
            "ms": {
                "address_added_netlink": stats(|h| h.added),
                "plugin_exit": stats(|h| h.exit),
                "tr181_values_changed": stats(|h| h.signal),
                "sysevent_ipaddr_line": stats(|h| h.sysevent_ip),
                "sysevent_last_line": stats(|h| h.sysevent_last),
                "whole_hop": stats(Hop::whole),
            },
            "sysevent_lines_per_hop": {
                "1": self.batches(1),
                "2": self.batches(2),
                "other": self.n - self.batches(1) - self.batches(2),
            },
            "stray_sysevent_lines": self.stray(),
            "first_lease_ms": {
                "address_added_netlink": ms(self.first.added),
                "plugin_exit": ms(self.first.exit),
                "tr181_values_changed": ms(self.first.signal),
                "sysevent_last_line": ms(self.first.sysevent_last),
                "sysevent_lines": self.first.batch_lines + self.first.stray_lines,
            },
        })
    }
}

fn lease_hops(lab: &Lab, monitor: &mut AddrMonitor<Ipv4Addr>, n: usize) -> Result<HopReport> {
    let mut config = lab.daemon_config();
    config.v4_clients[0].enable = false;
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
    let no_daemon = lab.dir().join("no-daemon");
    fs::create_dir_all(no_daemon.join("spool")).map_err(|e| format!("create spool dir: {e}"))?;
    let plugin = bin(PLUGIN);

    let bench = HopBench {
        cpe: lab.cpe(),
        plugin: plugin.clone(),
        run_dir: config.run_dir.clone(),
        sysevents: SyseventWatch::start(lab.dir().join("sysevents.log"))?,
        monitor: &mut *monitor,
        signals: watch_values_changed(lab.dbus_address())?,
        last_start_time: None,
    };
    let netns = lab.cpe().name();
    let mut report = in_netns(netns, move || {
        let mut bench = bench;
        let first = bench.hop(HOP_ADDRESSES[0], true)?;
        for i in 1..WARMUP_LEASES {
            bench.hop(HOP_ADDRESSES[i % HOP_ADDRESSES.len()], false)?;
        }
        let mut hops = Vec::with_capacity(n);
        for i in WARMUP_LEASES..WARMUP_LEASES + n {
            hops.push(bench.hop(HOP_ADDRESSES[i % HOP_ADDRESSES.len()], false)?);
        }
        drop(bench);
        let spooled = spool_runs(&plugin, &no_daemon)?;
        let (direct_true, netns_true) = netns_exec_overhead(netns)?;
        Ok(HopReport {
            n,
            first,
            hops,
            spooled,
            direct_true,
            netns_true,
            memory: Memory::default(),
        })
    })
    .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
    report.memory = Memory::read(daemon.pid())?;

    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("hop daemon exited with {status} on SIGTERM"));
    }
    flush_wan(lab, monitor)?;
    Ok(report)
}

struct HopBench<'a> {
    cpe: &'a Netns,
    plugin: PathBuf,
    run_dir: PathBuf,
    sysevents: SyseventWatch,
    monitor: &'a mut AddrMonitor<Ipv4Addr>,
    signals: Receiver<ValuesChanged>,
    /// The last `ipv4_erouter0_start_time` value recorded.
    last_start_time: Option<u64>,
}

/// Which sysevent line ends a hop's batch. The daemon sets only changed keys, sorted, with
/// `dhcp_state` last: `ipaddr`, then `start_time` if the bound second differs from the last one.
#[derive(Clone, Copy)]
enum BatchEnd {
    /// First lease: the whole set, ending with `dhcp_state`.
    DhcpState,
    /// The `start_time` line after `ipaddr`.
    StartTime,
    /// The `ipaddr` line.
    Ipaddr,
    /// The hop began in the last recorded second and ended in the next: `ipaddr`, and
    /// `start_time` if it comes within [`START_TIME_GRACE`].
    Either,
}

/// When a hop's sysevent lines were seen, from t0.
#[derive(Clone, Copy)]
struct Batch {
    ipaddr: Duration,
    last: Duration,
    lines: usize,
    /// Lines seen before this hop's `ipaddr` line.
    stray: usize,
}

impl HopBench<'_> {
    /// Delivers a `bound` lease for `address` and waits for every effect of it.
    fn hop(&mut self, address: Ipv4Addr, first: bool) -> Result<Hop> {
        let socket = self.run_dir.join("ipc.sock");
        let spool = self.run_dir.join("spool");
        let mut plugin = plugin_command(&self.plugin, &socket, &spool, address);
        let before = BootSeconds::now().0;
        let t0 = Instant::now();
        let out = plugin
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.plugin.display()))?;
        let exit = t0.elapsed();
        let after = BootSeconds::now().0;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.trim().is_empty() {
            return Err(format!(
                "plugin for {address} did not deliver cleanly ({}): {stderr}",
                out.status
            ));
        }

        // The daemon's start_time is the boot second it handled the event in; the last one
        // recorded is earlier, so it can only be repeated if the hop began in that second.
        let end = if first {
            BatchEnd::DhcpState
        } else if self.last_start_time != Some(before) {
            BatchEnd::StartTime
        } else if before == after {
            BatchEnd::Ipaddr
        } else {
            BatchEnd::Either
        };
        let batch = self.wait_for_sysevents(address, t0, end)?;

        let deadline = Instant::now() + HOP_DEADLINE;
        let wanted = address.to_string();
        let signal = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.signals.recv_timeout(left) {
                Ok((at, changes)) => {
                    if changes.iter().any(|(k, v)| k == IP_PARAM && *v == wanted) {
                        break at.saturating_duration_since(t0);
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "no ValuesChanged with {IP_PARAM}={address} ({e:?})"
                    ))
                }
            }
        };

        let added =
            self.monitor
                .wait_until(HOP_DEADLINE, &format!("{address} is added"), |present| {
                    present.contains(&address)
                })?;
        self.monitor.wait_until(
            HOP_DEADLINE,
            &format!("{address} is the only address"),
            |present| present.len() == 1,
        )?;
        let dump = self.cpe.ipv4_addrs(WAN_IF);
        if dump != [(address, 24)] {
            return Err(format!(
                "after the hop to {address}, {WAN_IF} has {dump:?} (ip -j addr)"
            ));
        }
        Ok(Hop {
            added: added.saturating_duration_since(t0),
            exit,
            signal,
            sysevent_ip: batch.ipaddr,
            sysevent_last: batch.last,
            batch_lines: batch.lines,
            stray_lines: batch.stray,
        })
    }

    /// Takes recorded sysevent lines until the batch for `address` has ended.
    fn wait_for_sysevents(
        &mut self,
        address: Ipv4Addr,
        t0: Instant,
        end: BatchEnd,
    ) -> Result<Batch> {
        let ip_line = format!("set ipv4_{WAN_IF}_ipaddr {address}");
        let start_prefix = format!("set ipv4_{WAN_IF}_start_time ");
        let state_prefix = format!("set ipv4_{WAN_IF}_dhcp_state ");
        let mut batch: Option<Batch> = None;
        let mut stray = 0;
        // The hop's deadline; for BatchEnd::Either, the grace period once `ipaddr` is seen.
        let mut until = Instant::now() + HOP_DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let (at, line) = match (self.sysevents.lines.recv_timeout(left), batch) {
                (Ok(Ok((at, line))), _) => (at.saturating_duration_since(t0), line),
                (Ok(Err(e)), _) => return Err(e),
                (Err(RecvTimeoutError::Timeout), Some(b)) if matches!(end, BatchEnd::Either) => {
                    return Ok(b)
                }
                (Err(e), _) => {
                    return Err(format!(
                        "sysevents for {address} incomplete after {HOP_DEADLINE:?} ({e:?}; \
                         ipaddr line seen: {}) in {}",
                        batch.is_some(),
                        self.sysevents.path.display()
                    ))
                }
            };
            if let Some(v) = line.strip_prefix(&start_prefix) {
                self.last_start_time = v.parse().ok();
            }
            let Some(b) = batch.as_mut() else {
                if line != ip_line {
                    stray += 1;
                    continue;
                }
                let opened = Batch {
                    ipaddr: at,
                    last: at,
                    lines: 1,
                    stray,
                };
                match end {
                    BatchEnd::Ipaddr => return Ok(opened),
                    BatchEnd::Either => until = until.min(Instant::now() + START_TIME_GRACE),
                    BatchEnd::DhcpState | BatchEnd::StartTime => {}
                }
                batch = Some(opened);
                continue;
            };
            (b.last, b.lines) = (at, b.lines + 1);
            let last_of_batch = match end {
                BatchEnd::DhcpState => line.starts_with(&state_prefix),
                BatchEnd::StartTime | BatchEnd::Either => line.starts_with(&start_prefix),
                BatchEnd::Ipaddr => false,
            };
            if last_of_batch {
                return Ok(*b);
            }
        }
    }
}

/// [`SPOOL_RUNS`] plugin runs with nothing listening on the socket: exec → exit times.
fn spool_runs(plugin: &Path, dir: &Path) -> Result<Vec<Duration>> {
    let socket = dir.join("ipc.sock");
    let spool = dir.join("spool");
    let mut times = Vec::with_capacity(SPOOL_RUNS);
    for i in 0..SPOOL_RUNS {
        let address = HOP_ADDRESSES[i % HOP_ADDRESSES.len()];
        let mut cmd = plugin_command(plugin, &socket, &spool, address);
        let t0 = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", plugin.display()))?;
        times.push(t0.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.contains("spooled") {
            return Err(format!("plugin did not spool ({}): {stderr}", out.status));
        }
    }
    let spooled = fs::read_dir(&spool).map_or(0, |d| d.count());
    if spooled != SPOOL_RUNS {
        return Err(format!(
            "{} holds {spooled} messages after {SPOOL_RUNS} spooling runs",
            spool.display()
        ));
    }
    Ok(times)
}

/// `dhcpmgr-udhcpc-plugin bound` with the environment udhcpc gives it for a lease of `address`.
fn plugin_command(plugin: &Path, socket: &Path, spool: &Path, address: Ipv4Addr) -> Command {
    let mut cmd = Command::new(plugin);
    cmd.arg("bound")
        .env_clear()
        .env("DHCPMGR_SOCKET", socket)
        .env("DHCPMGR_SPOOL_DIR", spool)
        .env("DHCPMGR_CLIENT", "wan")
        .env("interface", WAN_IF)
        .env("ip", address.to_string())
        .env("mask", "24")
        .env("router", "192.0.2.1")
        .env("dns", "192.0.2.53")
        .env("lease", "3600")
        .env("serverid", "192.0.2.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Exec → exit of `true`, direct and through `ip netns exec` (from inside the namespace).
fn netns_exec_overhead(netns: &str) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let time = |cmd: &mut Command| -> Result<Duration> {
        let t0 = Instant::now();
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
        let elapsed = t0.elapsed();
        if !status.success() {
            return Err(format!("{cmd:?} failed: {status}"));
        }
        Ok(elapsed)
    };
    let (mut direct, mut via_ip) = (Vec::new(), Vec::new());
    for _ in 0..NETNS_EXEC_RUNS {
        direct.push(time(&mut Command::new("true"))?);
        via_ip.push(time(
            Command::new("ip").args(["netns", "exec", netns, "true"]),
        )?);
    }
    Ok((direct, via_ip))
}

/// Subscribes to the daemon's `ValuesChanged` on `address` (a thread with its own runtime) and
/// hands over each signal with the time it arrived.
fn watch_values_changed(address: &str) -> Result<Receiver<ValuesChanged>> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let address = address.to_owned();
    thread::Builder::new()
        .name("values-changed".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let subscribed = async {
                    let conn = zbus::connection::Builder::address(address.as_str())?
                        .build()
                        .await?;
                    let proxy = DataModel1Proxy::new(&conn).await?;
                    let stream = proxy.receive_values_changed().await?;
                    Ok::<_, zbus::Error>((conn, stream))
                };
                let (_conn, mut stream) = match subscribed.await {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("subscribe to ValuesChanged: {e}")));
                        return;
                    }
                };
                while let Some(signal) = stream.next().await {
                    let at = Instant::now();
                    if let Ok(args) = signal.args() {
                        if tx.send((at, args.changes)).is_err() {
                            return;
                        }
                    }
                }
            });
        })
        .map_err(|e| format!("spawn the D-Bus thread: {e}"))?;
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| format!("D-Bus subscriber did not start: {e}"))??;
    Ok(rx)
}

// ---------------------------------------------------------------------------------------------
// 2 and 3: udhcpc start → address, busybox script vs dhcpmgr; daemon memory
// ---------------------------------------------------------------------------------------------

struct StartReport {
    busybox: Vec<Duration>,
    dhcpmgr: Vec<Duration>,
    address: Ipv4Addr,
    memory: Memory,
}

impl StartReport {
    fn ratio(&self) -> f64 {
        ms(median(&self.dhcpmgr)) / ms(median(&self.busybox))
    }

    fn json(&self) -> Value {
        let side = |v: &[Duration]| {
            json!({
                "median": ms(median(v)),
                "min": ms(v.iter().copied().min().unwrap_or_default()),
                "max": ms(v.iter().copied().max().unwrap_or_default()),
                "all": v.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            })
        };
        json!({
            "runs": self.busybox.len(),
            "address": self.address.to_string(),
            "busybox_simple_script_ms": side(&self.busybox),
            "dhcpmgr_ms": side(&self.dhcpmgr),
            "ratio_dhcpmgr_over_busybox": self.ratio(),
        })
    }
}

fn start_to_address(
    lab: &mut Lab,
    monitor: &mut AddrMonitor<Ipv4Addr>,
    runs: usize,
) -> Result<StartReport> {
    lab.start_kea4(Kea4Options::default());
    let pool = Kea4Options::default().pool;
    let script = lab.dir().join("simple.script");
    let resolv = lab.dir().join("resolv.conf");
    let resolv = resolv
        .to_str()
        .filter(|p| !p.contains('"'))
        .ok_or("lab dir path is not plain")?;
    fs::write(&script, SIMPLE_SCRIPT.replace("@RESOLV@", resolv))
        .and_then(|()| fs::set_permissions(&script, fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("write {}: {e}", script.display()))?;
    let config = lab.daemon_config();
    let config_path = lab.write_daemon_config(&config);
    let log = lab.dir().join("busybox-udhcpc.log");

    let mut address = Ipv4Addr::UNSPECIFIED;
    let mut acquired =
        |monitor: &mut AddrMonitor<Ipv4Addr>, t0: Instant, who: &str| -> Result<Duration> {
            let at = monitor.wait_until(
                ACQUIRE_DEADLINE,
                &format!("{who} configures an address"),
                |p| !p.is_empty(),
            )?;
            match monitor.present.iter().next() {
                Some(a) if pool.contains(a) => address = *a,
                other => return Err(format!("{who} configured {other:?}, not from Kea's pool")),
            }
            Ok(at.saturating_duration_since(t0))
        };
    let mut busybox = Vec::with_capacity(runs);
    let mut dhcpmgr = Vec::with_capacity(runs);
    let mut memory = Memory::default();
    for run in 0..runs {
        // (A) busybox udhcpc with the sample script.
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("open {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("clone log file: {e}"))?;
        let t0 = Instant::now();
        let child = lab
            .cpe()
            .command("busybox")
            .args(["udhcpc", "-f", "-q", "-i", WAN_IF, "-s"])
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start busybox udhcpc: {e}"))?;
        let mut child = Reaped(child);
        busybox.push(acquired(monitor, t0, "busybox udhcpc")?);
        let exited = wait_for(ACQUIRE_DEADLINE, || child.0.try_wait().ok().flatten());
        if !exited.is_some_and(|s| s.success()) {
            return Err(format!(
                "busybox udhcpc -q did not exit cleanly ({exited:?}); see {}",
                log.display()
            ));
        }
        flush_wan(lab, monitor)?;

        // (B) dhcpmgr from an empty state dir.
        for dir in [config.state_dir.clone(), config.run_dir.join("spool")] {
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(format!("remove {}: {e}", dir.display())),
            }
        }
        fs::create_dir_all(&config.state_dir).map_err(|e| format!("create state dir: {e}"))?;
        let t0 = Instant::now();
        let daemon = lab.spawn_daemon(&config_path);
        dhcpmgr.push(
            acquired(monitor, t0, "dhcpmgr").map_err(|e| format!("{e}\n{}", daemon.log_tail()))?,
        );
        if run + 1 == runs {
            thread::sleep(SETTLE);
            memory = Memory::read(daemon.pid())?;
        }
        let status = daemon.terminate();
        if !status.success() {
            return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
        }
        flush_wan(lab, monitor)?;
    }
    lab.stop_kea4();
    Ok(StartReport {
        busybox,
        dhcpmgr,
        address,
        memory,
    })
}

/// Removes every IPv4 address (and so the routes through them) from [`WAN_IF`].
fn flush_wan(lab: &Lab, monitor: &mut AddrMonitor<Ipv4Addr>) -> Result<()> {
    lab.cpe().ip(&["-4", "addr", "flush", "dev", WAN_IF]);
    monitor.wait_until(HOP_DEADLINE, "erouter0 is flushed", BTreeSet::is_empty)?;
    Ok(())
}

/// A child that is killed and reaped if it is still around when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Size of a release binary on disk and after `strip`.
struct BinarySize {
    name: &'static str,
    bytes: u64,
    stripped: Option<u64>,
}

impl BinarySize {
    fn json(&self) -> Value {
        json!({ "name": self.name, "bytes": self.bytes, "stripped_bytes": self.stripped })
    }
}

/// The release binaries under `$CARGO_TARGET_DIR` (or `target`) that exist, stripped copies
/// made in `scratch`.
fn release_sizes(scratch: &Path) -> Vec<BinarySize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), |t| root.join(t));
    RELEASE_BINARIES
        .iter()
        .filter_map(|&name| {
            let path = target.join("release").join(name);
            let bytes = fs::metadata(&path).ok()?.len();
            let copy = scratch.join(format!("stripped-{name}"));
            let stripped = Command::new("strip")
                .arg("-o")
                .arg(&copy)
                .arg(&path)
                .status()
                .ok()
                .filter(|s| s.success())
                .and_then(|_| fs::metadata(&copy).ok())
                .map(|m| m.len());
            Some(BinarySize {
                name,
                bytes,
                stripped,
            })
        })
        .collect()
}

fn print_report(hops: &HopReport, start: &StartReport, sizes: &[BinarySize]) {
    let column = |f: fn(&Hop) -> Duration| Stats::of(&hops.column(f));
    let first = HOP_ADDRESSES[0];
    let last = HOP_ADDRESSES[HOP_ADDRESSES.len() - 1];
    println!(
        "1. Lease hop: {} leases (+{WARMUP_LEASES} warm-up), {first}–{last} in turn, each a real change",
        hops.n
    );
    println!(
        "   wan client enable = false: no udhcpc runs, the bench is the only source of events"
    );
    println!(
        "   t0 = just before spawning `{PLUGIN} bound` from a thread setns'ed into the cpe netns"
    );
    println!(
        "  {:<44} {:>8} {:>8} {:>8}",
        "ms after t0", "p50", "p99", "max"
    );
    println!(
        "{}",
        column(|h| h.added).row("address added (netlink event received)")
    );
    println!(
        "{}",
        column(|h| h.exit).row("(a) plugin exit (daemon acked)")
    );
    println!(
        "{}",
        column(|h| h.signal).row("(b) TR-181 ValuesChanged with new IPAddress")
    );
    println!(
        "{}",
        column(|h| h.sysevent_ip).row("(c) sysevent ipaddr line seen")
    );
    println!(
        "{}",
        column(|h| h.sysevent_last).row("(c) last sysevent line of the hop seen")
    );
    println!(
        "{}",
        column(Hop::whole).row("whole hop: the last of (a), (b), (c)")
    );
    println!(
        "   sysevent lines per hop: 1 (ipaddr) ×{}, 2 (ipaddr, start_time) ×{}, other ×{}; stray ×{}",
        hops.batches(1),
        hops.batches(2),
        hops.n - hops.batches(1) - hops.batches(2),
        hops.stray()
    );
    println!("   (dhcp_state is not set again on an address change: only changed keys are set)");
    let f = &hops.first;
    println!(
        "   first lease (warm-up, from no lease, {} sysevent lines; one sample): address {:.3},",
        f.batch_lines + f.stray_lines,
        ms(f.added)
    );
    println!(
        "   (a) {:.3}, (b) {:.3}, last sysevent {:.3} ms",
        ms(f.exit),
        ms(f.signal),
        ms(f.sysevent_last)
    );
    println!(
        "   the sysevent recorder is a /bin/sh script (its fork+exec per key is included); a thread"
    );
    println!("   reads its file every {SYSEVENT_POLL:?}, so (c) is late by up to that much");
    println!("   design budget: whole hop (plugin start → … → sysevent sent) p99 ≤ 5 ms");
    println!();

    let side = |v: &[Duration]| {
        format!(
            "{:>8.1} {:>8.1} {:>8.1}",
            ms(median(v)),
            ms(v.iter().copied().min().unwrap_or_default()),
            ms(v.iter().copied().max().unwrap_or_default())
        )
    };
    let list = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.1}", ms(*d)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "2. udhcpc start → {} on {WAN_IF}: {} runs each, interleaved, Kea default options",
        start.address,
        start.busybox.len()
    );
    println!("   both started via `ip netns exec`; end = netlink address event (event-driven)");
    println!("  {:<44} {:>8} {:>8} {:>8}", "ms", "median", "min", "max");
    println!(
        "  {:<44} {}",
        "busybox udhcpc -q + simple.script",
        side(&start.busybox)
    );
    println!(
        "  {:<44} {}",
        "dhcpmgr (fresh state dir, daemon start)",
        side(&start.dhcpmgr)
    );
    println!("   ratio dhcpmgr/busybox (medians): {:.2}", start.ratio());
    println!("   busybox runs: {}", list(&start.busybox));
    println!("   dhcpmgr runs: {}", list(&start.dhcpmgr));
    println!("   design budget: dhcpmgr no slower than busybox's sample script");
    println!();

    println!("3. Daemon memory (budget: idle RSS ≤ 6 MiB with v4+v6 clients and the shield;");
    println!("   measured here: one v4 client, no v6 client, no shield)");
    println!(
        "   idle, lease from Kea, {SETTLE:?} after: {}",
        start.memory.line()
    );
    println!(
        "   after the hop run ({} leases):  {}",
        hops.n + WARMUP_LEASES,
        hops.memory.line()
    );
    if sizes.is_empty() {
        println!("   release binaries: none under target/release");
    }
    for size in sizes {
        let stripped = size.stripped.map_or("strip failed".into(), |b| {
            format!("{:.1} KiB", b as f64 / 1024.0)
        });
        println!(
            "   release {:<22} {:>8.1} KiB on disk, {stripped} stripped",
            size.name,
            size.bytes as f64 / 1024.0
        );
    }
    println!("   (budget: plugin binaries ≤ 600 KiB stripped)");
    println!();

    let delivered = column(|h| h.exit);
    let spooled = Stats::of(&hops.spooled);
    let direct = Stats::of(&hops.direct_true);
    let via_ip = Stats::of(&hops.netns_true);
    println!("4. Plugin exec → exit (budget ≤ 3 ms)");
    println!("  {:<44} {:>8} {:>8} {:>8}", "ms", "p50", "p99", "max");
    println!(
        "{}",
        delivered.row(&format!(
            "delivered to the daemon ({} runs, = (a))",
            delivered.n
        ))
    );
    println!(
        "{}",
        spooled.row(&format!("spooled, no daemon ({} runs)", spooled.n))
    );
    println!(
        "   `ip netns exec` overhead: `true` p50 {:.3} ms direct, {:.3} ms via ip netns exec (+{:.3} ms);",
        ms(direct.p50),
        ms(via_ip.p50),
        ms(via_ip.p50.saturating_sub(direct.p50))
    );
    println!("   not in 1/4 (setns thread), included on both sides of 2");
    println!("   (a delivered run includes the daemon's work until it acks: address, persistence)");
    println!();
}
