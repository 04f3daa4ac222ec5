//! Part 2 of `v6_lease`: daemon start → first bound event, without and with rapid commit; its
//! report section.

use std::fs;
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Kea6Options, Lab, WAN_IF};
use serde_json::{json, Value};

use crate::common::netns::AddrMonitor;
use crate::common::stats::{list, spread_json, spread_row};
use crate::common::sysevent::SyseventWatch;
use crate::common::Result;
use crate::{
    flush_wan6, sysevent_log, v6_config, wait_no_dibbler, ADDR_KEY, BIND_DEADLINE, PREF_KEY,
};

/// Kea T1/T2 of the rapid-commit runs.
const RAPID_T1: u32 = 4;
const RAPID_T2: u32 = 6;

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

pub struct FirstBound {
    modes: Vec<StartMode>,
}

impl FirstBound {
    pub fn json(&self) -> Value {
        json!({
            "from": "daemon spawn (ip netns exec dhcpmgr), empty state and run dirs",
            "note": format!(
                "dibbler-client 1.0.1 runs no script for the REPLY to a rapid-commit SOLICIT: \
                 the daemon takes the binding from its client-AddrMgr.xml (Kea T1 = {RAPID_T1} s)"
            ),
            "without_rapid_commit": self.modes.iter().find(|m| !m.rapid).map(StartMode::json),
            "with_rapid_commit": self.modes.iter().find(|m| m.rapid).map(StartMode::json),
        })
    }
}

pub fn first_bound(
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

/// Part 2 of the report.
pub fn print(start: &FirstBound) {
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
        println!("     runs (a): {}", list(&mode.column(|s| s.address), 0));
        println!("     runs (b): {}", list(&mode.column(|s| s.v6addr), 0));
    }
    println!(
        "   with rapid commit dibbler-client 1.0.1 configures the address from the REPLY but runs"
    );
    println!(
        "   no script for it: the daemon takes the lease from dibbler's client-AddrMgr.xml (inotify),"
    );
    println!("   so (b) - (a) is REPLY → bound event, not T1 = {RAPID_T1} s");
    println!();
}
