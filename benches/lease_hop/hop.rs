//! Parts 1 and 4 of `lease_hop`: lease hops delivered by `dhcpmgr-udhcpc-plugin bound`, the
//! plugin spooling with no daemon, and what `ip netns exec` adds to an exec; their report
//! sections.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use dhcpmgr::boottime::BootSeconds;
use dhcpmgr_lab::{bin, Lab, Netns, WAN_IF};
use serde_json::{json, Value};

use crate::common::hop::{self, Column, Hops, Sample};
use crate::common::netns::{in_netns, AddrMonitor};
use crate::common::stats::{ms, Memory, Stats};
use crate::common::sysevent::{SyseventWatch, SYSEVENT_POLL};
use crate::common::Result;
use crate::dbus::{watch_values_changed, ValuesChanged};
use crate::v4_plugin::{plugin_command, HOP_ADDRESSES};
use crate::{flush_wan, HOP_DEADLINE, PLUGIN, WARMUP_LEASES};

/// Plugin runs with no daemon listening.
const SPOOL_RUNS: usize = 100;
/// Runs of `true`, direct and through `ip netns exec`.
const NETNS_EXEC_RUNS: usize = 50;
/// After a hop whose start crossed a second boundary, how long a `start_time` line may follow.
const START_TIME_GRACE: Duration = Duration::from_millis(20);
/// TR-181 parameter carrying client 1's address.
const IP_PARAM: &str = "Device.DHCPv4.Client.1.IPAddress";

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

impl Sample for Hop {
    fn batch_lines(&self) -> usize {
        self.batch_lines
    }

    fn stray_lines(&self) -> usize {
        self.stray_lines
    }
}

pub struct HopReport {
    hops: Hops<Hop>,
    spooled: Vec<Duration>,
    direct_true: Vec<Duration>,
    netns_true: Vec<Duration>,
}

impl HopReport {
    pub fn memory(&self) -> &Memory {
        &self.hops.memory
    }

    /// Leases applied in all, warm-up included.
    pub fn leases(&self) -> usize {
        self.hops.n + WARMUP_LEASES
    }

    pub fn json(&self) -> Value {
        let hops = &self.hops;
        let columns: [Column<'_, Hop>; 6] = [
            ("address_added_netlink", |h| h.added),
            ("plugin_exit", |h| h.exit),
            ("tr181_values_changed", |h| h.signal),
            ("sysevent_ipaddr_line", |h| h.sysevent_ip),
            ("sysevent_last_line", |h| h.sysevent_last),
            ("whole_hop", Hop::whole),
        ];
        json!({
            "n": hops.n,
            "warmup": WARMUP_LEASES,
            "wan_client": "disabled (no udhcpc running)",
            "ms": hops.stats_json(&columns),
            "sysevent_lines_per_hop": {
                "1": hops.batches(1),
                "2": hops.batches(2),
                "other": hops.n - hops.batches(1) - hops.batches(2),
            },
            "stray_sysevent_lines": hops.stray(),
            "first_lease_ms": {
                "address_added_netlink": ms(hops.first.added),
                "plugin_exit": ms(hops.first.exit),
                "tr181_values_changed": ms(hops.first.signal),
                "sysevent_last_line": ms(hops.first.sysevent_last),
                "sysevent_lines": hops.first_lines(),
            },
        })
    }

    /// The `plugin_exec_ms` and `netns_exec_ms` figures of part 4.
    pub fn exec_json(&self) -> (Value, Value) {
        (
            json!({
                "budget": 3.0,
                "delivered": self.hops.stats(|h| h.exit).json(),
                "spooled": Stats::of(&self.spooled).json(),
            }),
            json!({
                "direct_true_p50": ms(Stats::of(&self.direct_true).p50),
                "ip_netns_exec_true_p50": ms(Stats::of(&self.netns_true).p50),
            }),
        )
    }
}

pub fn lease_hops(lab: &Lab, monitor: &mut AddrMonitor<Ipv4Addr>, n: usize) -> Result<HopReport> {
    let mut config = lab.daemon_config();
    config.v4_clients[0].enable = false;
    let daemon = hop::start_daemon(lab, &config)?;
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
        let (first, hops) = hop::series(WARMUP_LEASES, n, |i, first| {
            bench.hop(HOP_ADDRESSES[i % HOP_ADDRESSES.len()], first)
        })?;
        drop(bench);
        let spooled = spool_runs(&plugin, &no_daemon)?;
        let (direct_true, netns_true) = netns_exec_overhead(netns)?;
        Ok(HopReport {
            hops: Hops {
                n,
                first,
                hops,
                memory: Memory::default(),
            },
            spooled,
            direct_true,
            netns_true,
        })
    })
    .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
    report.hops.memory = hop::stop_daemon(daemon)?;
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
        let (t0, exit) = hop::deliver(&mut plugin, &self.plugin, address)?;
        let after = BootSeconds::now().0;

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

        let added = hop::wait_sole(self.monitor, HOP_DEADLINE, address, "address")?;
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

/// Part 1 of the report.
pub fn print_hops(report: &HopReport) {
    let hops = &report.hops;
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
    hops.print_table(&[
        ("address added (netlink event received)", |h| h.added),
        ("(a) plugin exit (daemon acked)", |h| h.exit),
        ("(b) TR-181 ValuesChanged with new IPAddress", |h| h.signal),
        ("(c) sysevent ipaddr line seen", |h| h.sysevent_ip),
        ("(c) last sysevent line of the hop seen", |h| {
            h.sysevent_last
        }),
        ("whole hop: the last of (a), (b), (c)", Hop::whole),
    ]);
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
        hops.first_lines(),
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
}

/// Part 4 of the report.
pub fn print_exec(report: &HopReport) {
    let delivered = report.hops.stats(|h| h.exit);
    let spooled = Stats::of(&report.spooled);
    let direct = Stats::of(&report.direct_true);
    let via_ip = Stats::of(&report.netns_true);
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
