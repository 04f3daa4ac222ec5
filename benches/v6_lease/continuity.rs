//! Part 3 of `v6_lease`: prefix continuity across daemon restarts (SIGTERM and SIGKILL in
//! turn), judged from Kea's lease file and log and the `…_v6pref` sysevent; its report section.

use std::collections::BTreeSet;
use std::fs;
use std::net::Ipv6Addr;
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Kea6Options, Lab, WAN_IF};
use serde_json::{json, Value};

use crate::common::netns::AddrMonitor;
use crate::common::stats::{ms, spread_json};
use crate::common::{wait_for, Result};
use crate::{
    dibbler_pids, flush_wan6, global_v6, v6_config, wait_no_dibbler, ADDR_KEY, BIND_DEADLINE,
    PREF_KEY,
};

/// How long a restarted dibbler-client gets to talk to Kea (a new lease-file record) and to
/// finish its exchanges.
const TALK_DEADLINE: Duration = Duration::from_secs(15);
/// A restart has settled once nothing changed for this long after Kea's first new record.
const QUIET: Duration = Duration::from_millis(1500);
/// After the first binding, time for the exchange to finish.
const AFTER_TALK: Duration = Duration::from_millis(500);

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

pub struct Continuity {
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

    pub fn pass(&self) -> bool {
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

    pub fn json(&self) -> Value {
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

pub fn prefix_continuity(
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

/// Part 3 of the report.
pub fn print(cont: &Continuity) {
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
}
