//! Part 5 of `v6_lease`: the WAN link's moments (issue 11). (a) Cold start with a tentative
//! link-local address: DAD on, `erouter0` set down and up right before the daemon starts, empty
//! state; the DAD time (link up → link-local address no longer tentative, read from
//! `/proc/net/if_inet6` inside the namespace) and the first DHCPv6 event (`…_v6addr` sysevent)
//! in the same run. (b) Carrier loss (the ISP end down `V6_CARRIER_S` s, default 5) and
//! (c) admin down/up of `erouter0`, with DHCPv4 and DHCPv6 bound: from the link back until the
//! IPv4 address, the IA_NA address and the prefix are in place and both clients' confirmations
//! came in, with the RELEASEs Kea logged and the prefixes it delegated. (d) Then the daemon's
//! idle wakeups with both clients bound: context switches of all its threads over `V6_IDLE_S`
//! (default 60) s.

use std::fs;
use std::net::Ipv4Addr;
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Kea4Options, Kea6Options, Lab, ISP_IF, WAN_IF};
use serde_json::{json, Value};

use crate::common::netns::enter_netns;
use crate::common::stats::{list, ms, spread_json, spread_row};
use crate::common::sysevent::SyseventWatch;
use crate::common::{wait_for, Result};
use crate::{global_v6, sysevent_log, v6_config, wait_no_dibbler, ADDR_KEY, BIND_DEADLINE};

/// `IFA_F_TENTATIVE` in `/proc/net/if_inet6`'s flags column.
const TENTATIVE: u32 = 0x40;

struct ColdStart {
    dad: Duration,
    first_event: Duration,
}

/// One link interruption: from the link back.
struct Recovery {
    in_place: Duration,
    confirmed: Duration,
    v6_releases: usize,
    v4_releases: usize,
    /// Prefixes Kea delegated that it had not delegated before (0: the prefix stayed).
    new_prefixes: usize,
}

impl Recovery {
    fn json(&self) -> Value {
        json!({
            "addresses_and_prefix_in_place_ms": ms(self.in_place),
            "both_leases_confirmed_ms": ms(self.confirmed),
            "kea6_release_log_lines": self.v6_releases,
            "kea4_release_log_lines": self.v4_releases,
            "new_prefixes_delegated": self.new_prefixes,
        })
    }
}

pub struct LinkMoments {
    cold: Vec<ColdStart>,
    carrier_secs: u64,
    carrier: Recovery,
    admin: Recovery,
    idle_secs: u64,
    /// Context switches of the daemon's threads while idle with both clients bound.
    idle_switches: u64,
}

impl LinkMoments {
    pub fn json(&self) -> Value {
        let col = |f: fn(&ColdStart) -> Duration| self.cold.iter().map(f).collect::<Vec<_>>();
        json!({
            "cold_start_tentative_link_local": {
                "runs": self.cold.len(),
                "from": "erouter0 set up, daemon spawned right after",
                "dad_ms": spread_json(&col(|c| c.dad)),
                "first_dhcpv6_event_ms": spread_json(&col(|c| c.first_event)),
                "event_after_dad_ms": spread_json(&col(|c| c.first_event.saturating_sub(c.dad))),
            },
            "carrier_loss": { "seconds": self.carrier_secs, "recovery": self.carrier.json() },
            "admin_down_up": self.admin.json(),
            "idle_bound_v4_v6": { "seconds": self.idle_secs, "context_switches": self.idle_switches },
        })
    }
}

pub fn link_moments(
    lab: &mut Lab,
    runs: usize,
    carrier_secs: u64,
    idle_secs: u64,
) -> Result<LinkMoments> {
    lab.start_kea6(Kea6Options::default());
    let mut cold = Vec::with_capacity(runs);
    set_dad(lab, true);
    for run in 0..runs {
        cold.push(cold_start(lab, run)?);
    }
    set_dad(lab, false);
    lab.start_kea4(Kea4Options::default());
    let mut cfg = v6_config(lab, "link", "")?;
    cfg.v4_clients = lab.daemon_config().v4_clients;
    let path = lab.write_daemon_config(&cfg);
    let daemon = lab.spawn_daemon(&path);
    let failed = |e: String| format!("{e}\n{}", daemon.log_tail());
    let bound =
        wait_for(BIND_DEADLINE, || bound(lab)).ok_or_else(|| failed("no v4+v6 binding".into()))?;
    lab.isp().run_ok(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{ISP_IF}.keep_addr_on_down=1"),
    ]);
    lab.isp().ip(&["link", "set", ISP_IF, "down"]);
    thread::sleep(Duration::from_secs(carrier_secs));
    let carrier = recover(lab, &bound, daemon.log_path(), || {
        lab.isp().ip(&["link", "set", ISP_IF, "up"]);
    })
    .map_err(failed)?;
    lab.cpe().ip(&["link", "set", WAN_IF, "down"]);
    wait_for(BIND_DEADLINE, || {
        global_v6(lab.cpe()).is_empty().then_some(())
    })
    .ok_or_else(|| failed("admin down left the IA_NA address".into()))?;
    let admin = recover(lab, &bound, daemon.log_path(), || {
        lab.cpe().ip(&["link", "set", WAN_IF, "up"]);
    })
    .map_err(failed)?;
    thread::sleep(Duration::from_secs(2));
    let before = context_switches(daemon.pid())?;
    thread::sleep(Duration::from_secs(idle_secs));
    let idle_switches = context_switches(daemon.pid())?.saturating_sub(before);
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
    }
    wait_no_dibbler(lab)?;
    Ok(LinkMoments {
        cold,
        carrier_secs,
        carrier,
        admin,
        idle_secs,
        idle_switches,
    })
}

/// Voluntary and involuntary context switches of every thread of `pid` so far.
fn context_switches(pid: u32) -> Result<u64> {
    let tasks = format!("/proc/{pid}/task");
    let mut total = 0;
    for task in fs::read_dir(&tasks).map_err(|e| format!("read {tasks}: {e}"))? {
        let path = task
            .map_err(|e| format!("read {tasks}: {e}"))?
            .path()
            .join("status");
        let status = fs::read_to_string(&path).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(total)
}

fn set_dad(lab: &Lab, on: bool) {
    for setting in [
        format!("accept_dad={}", u8::from(on)),
        "dad_transmits=1".into(),
    ] {
        lab.cpe().run_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{WAN_IF}.{setting}"),
        ]);
    }
}

/// The v4 address, the IA_NA address and the prefix sysevent, once all are there.
struct Bound {
    v4: Ipv4Addr,
    v6: std::net::Ipv6Addr,
}

fn bound(lab: &Lab) -> Option<Bound> {
    let v4 = *lab.wan_v4_addresses().first()?;
    let v6 = *global_v6(lab.cpe()).first()?;
    lab.sysevent(crate::PREF_KEY).filter(|p| !p.is_empty())?;
    Some(Bound { v4, v6 })
}

fn cold_start(lab: &Lab, run: usize) -> Result<ColdStart> {
    let config = v6_config(lab, &format!("cold-{run}"), "")?;
    let path = lab.write_daemon_config(&config);
    lab.clear_sysevents();
    let watch = SyseventWatch::start(sysevent_log(lab))?;
    lab.cpe().ip(&["link", "set", WAN_IF, "down"]);
    lab.cpe().ip(&["link", "set", WAN_IF, "up"]);
    let t0 = Instant::now();
    let netns = lab.cpe().name().to_string();
    let dad = thread::spawn(move || -> Result<Instant> {
        enter_netns(&netns)?;
        wait_for(Duration::from_secs(10), link_local_ready)
            .ok_or_else(|| "the link-local address stayed tentative".to_string())
    });
    let daemon = lab.spawn_daemon(&path);
    let failed = |e: String| format!("{e}\n{}", daemon.log_tail());
    let deadline = t0 + Duration::from_secs(60);
    let first_event = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match watch.lines.recv_timeout(left) {
            Ok(Ok((seen, line))) => {
                let set = line
                    .strip_prefix("set ")
                    .and_then(|r| r.strip_prefix(ADDR_KEY)?.strip_prefix(' '));
                if set.is_some_and(|v| !v.is_empty()) {
                    break seen.saturating_duration_since(t0);
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(failed(format!("no {ADDR_KEY} sysevent within 60 s"))),
        }
    };
    let dad = dad
        .join()
        .map_err(|_| "the DAD poller panicked".to_string())??
        .saturating_duration_since(t0);
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
    }
    wait_no_dibbler(lab)?;
    lab.cpe()
        .ip(&["-6", "addr", "flush", "dev", WAN_IF, "scope", "global"]);
    Ok(ColdStart { dad, first_event })
}

/// When `erouter0` has a link-local address that is not tentative (read in this thread's
/// network namespace).
fn link_local_ready() -> Option<Instant> {
    let table = fs::read_to_string("/proc/thread-self/net/if_inet6").ok()?;
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .any(|f| {
            f.len() == 6
                && f[5] == WAN_IF
                && f[0].starts_with("fe80")
                && u32::from_str_radix(f[4], 16).is_ok_and(|flags| flags & TENTATIVE == 0)
        })
        .then(Instant::now)
}

/// Brings the link back with `restore` and times the recovery.
fn recover(
    lab: &Lab,
    bound: &Bound,
    log: &std::path::Path,
    restore: impl FnOnce(),
) -> Result<Recovery> {
    let log_count = |what: &str| {
        fs::read_to_string(log)
            .unwrap_or_default()
            .matches(what)
            .count()
    };
    let (v4_events, v6_events) = (log_count("lease event"), log_count("DHCPv6 event"));
    let releases = (
        lab.kea6_releases(),
        lab.kea4_log().matches("DHCP4_RELEASE ").count(),
    );
    let prefixes_before = lab.kea6_delegated_prefixes().len();
    let t0 = Instant::now();
    restore();
    let in_place = wait_for(BIND_DEADLINE, || {
        (lab.wan_v4_addresses() == vec![bound.v4] && global_v6(lab.cpe()) == vec![bound.v6])
            .then(Instant::now)
    })
    .ok_or("addresses not back within the deadline")?;
    let confirmed = wait_for(BIND_DEADLINE, || {
        (log_count("lease event") > v4_events && log_count("DHCPv6 event") > v6_events)
            .then(Instant::now)
    })
    .ok_or("the leases were not confirmed within the deadline")?;
    Ok(Recovery {
        in_place: in_place.saturating_duration_since(t0),
        confirmed: confirmed.saturating_duration_since(t0),
        v6_releases: lab.kea6_releases() - releases.0,
        v4_releases: lab.kea4_log().matches("DHCP4_RELEASE ").count() - releases.1,
        new_prefixes: lab.kea6_delegated_prefixes().len() - prefixes_before,
    })
}

/// Part 5 of the report.
pub fn print(link: &LinkMoments) {
    let col = |f: fn(&ColdStart) -> Duration| link.cold.iter().map(f).collect::<Vec<_>>();
    println!(
        "5. The link's moments. (a) cold start with a tentative link-local address, {} runs:",
        link.cold.len()
    );
    println!("   t0 = erouter0 set up (DAD on, 1 probe), daemon spawned right after, empty state");
    println!(
        "  {:<44} {:>8} {:>8} {:>8}",
        "ms after t0", "median", "min", "max"
    );
    println!(
        "{}",
        spread_row("DAD over (link-local not tentative)", &col(|c| c.dad))
    );
    println!(
        "{}",
        spread_row(
            "first DHCPv6 event (…_v6addr sysevent)",
            &col(|c| c.first_event)
        )
    );
    println!(
        "{}",
        spread_row(
            "first event after DAD",
            &col(|c| c.first_event.saturating_sub(c.dad))
        )
    );
    println!("     runs (event): {}", list(&col(|c| c.first_event), 0));
    for (name, r) in [
        (
            format!("(b) carrier lost {} s", link.carrier_secs),
            &link.carrier,
        ),
        ("(c) admin down/up".to_string(), &link.admin),
    ] {
        println!(
            "   {name}, v4+v6 bound, from the link back: addresses and prefix in place {:.1} ms, \
             both leases confirmed {:.1} ms; Kea RELEASEs v6 {} v4 {}, new prefixes {}",
            ms(r.in_place),
            ms(r.confirmed),
            r.v6_releases,
            r.v4_releases,
            r.new_prefixes
        );
    }
    println!(
        "   (d) idle {} s with v4 and v6 bound: {} context switches of the daemon's threads",
        link.idle_secs, link.idle_switches
    );
    println!();
}
