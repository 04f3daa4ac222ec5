//! Part 1 of `v6_lease`: v6 lease hops delivered by `dhcpmgr-dibbler-plugin add`, each moving
//! the IA_NA address and the delegated prefix; its report section.

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dhcpmgr_lab::{bin, Lab, Netns, WAN_IF};
use serde_json::{json, Value};

use crate::common::hop::{self, Column, Hops, Sample};
use crate::common::netns::{in_netns, AddrMonitor};
use crate::common::stats::{ms, Memory};
use crate::common::sysevent::{SyseventWatch, SYSEVENT_POLL};
use crate::common::Result;
use crate::{
    dibbler_pids, flush_wan6, global_v6, sysevent_log, v6_config, ADDR_KEY, CLIENT, HOP_DEADLINE,
    PREF_KEY, WARMUP_EVENTS,
};

const PLUGIN: &str = "dhcpmgr-dibbler-plugin";
/// The last key of a first event's batch (keys go out sorted).
const NS_KEY: &str = "wan6_ns";
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

/// `2001:db8:1::<low>`, an address from the lab's IA_NA range.
const fn ia_na(low: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, low)
}

/// `2001:db8:12:<subnet>::`, a /56 from the lab's PD range.
const fn prefix(subnet: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x12, subnet, 0, 0, 0, 0)
}

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
}

impl HopReport {
    pub fn memory(&self) -> &Memory {
        &self.hops.memory
    }

    /// Events applied in all, warm-up included.
    pub fn leases(&self) -> usize {
        self.hops.n + WARMUP_EVENTS
    }

    pub fn json(&self) -> Value {
        let hops = &self.hops;
        let columns: [Column<'_, Hop>; 5] = [
            ("plugin_exit", |h| h.exit),
            ("address_added_netlink", |h| h.added),
            ("sysevent_v6addr_line", |h| h.sysevent_addr),
            ("sysevent_v6pref_line", |h| h.sysevent_pref),
            ("whole_hop", Hop::whole),
        ];
        json!({
            "n": hops.n,
            "warmup": WARMUP_EVENTS,
            "event": "add",
            "wan6_client": "disabled (no dibbler-client running)",
            "ms": hops.stats_json(&columns),
            "sysevent_lines_per_hop": {
                "2": hops.batches(2),
                "other": hops.n - hops.batches(2),
            },
            "stray_sysevent_lines": hops.stray(),
            "first_event_ms": {
                "plugin_exit": ms(hops.first.exit),
                "address_added_netlink": ms(hops.first.added),
                "sysevent_v6pref_line": ms(hops.first.sysevent_pref),
                "sysevent_lines": hops.first_lines(),
            },
        })
    }
}

pub fn v6_hops(lab: &Lab, monitor: &mut AddrMonitor<Ipv6Addr>, n: usize) -> Result<HopReport> {
    let config = v6_config(lab, "hop", "enable = false")?;
    let daemon = hop::start_daemon(lab, &config)?;
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
    let (first, hops) = in_netns(lab.cpe().name(), move || {
        let mut bench = bench;
        bench.ifindex = nix::net::if_::if_nametoindex(WAN_IF)
            .map_err(|e| format!("{WAN_IF}: {e}"))?
            .to_string();
        hop::series(WARMUP_EVENTS, n, |i, first| bench.hop(i, first))
    })
    .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
    let memory = hop::stop_daemon(daemon)?;
    flush_wan6(lab, monitor)?;
    Ok(HopReport {
        hops: Hops {
            n,
            first,
            hops,
            memory,
        },
    })
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
        let (t0, exit) = hop::deliver(&mut plugin, &self.plugin, address)?;
        let batch = self.wait_for_sysevents(address, prefix, t0, first)?;
        let added = hop::wait_sole(self.monitor, HOP_DEADLINE, address, "global address")?;
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

/// Part 1 of the report.
pub fn print(report: &HopReport) {
    let hops = &report.hops;
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
    hops.print_table(&[
        ("(a) plugin exit (daemon acked)", |h| h.exit),
        ("(b) IA_NA address added (netlink event)", |h| h.added),
        ("(c) sysevent …_v6addr line seen", |h| h.sysevent_addr),
        ("(c) sysevent …_v6pref line seen (last)", |h| {
            h.sysevent_pref
        }),
        ("whole hop: the last of (a), (b), (c)", Hop::whole),
    ]);
    println!(
        "   sysevent lines per hop: 2 (v6addr, v6pref) ×{}, other ×{}; stray ×{}",
        hops.batches(2),
        hops.n - hops.batches(2),
        hops.stray()
    );
    let f = &hops.first;
    println!(
        "   first event (warm-up, from no lease, {} sysevent lines; one sample): exit {:.3},",
        hops.first_lines(),
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
}
