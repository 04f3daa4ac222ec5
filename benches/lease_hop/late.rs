//! Part 5 of `lease_hop`: the WAN interface appears N s after the daemon started (issue 11).
//! `erouter0` is hidden (set down and renamed) before a fresh daemon starts; after `LATE_S`
//! seconds (a comma-separated list, default `5,45,120`) it gets its name back and is set up:
//! time from then to the address on it (netlink), against a plain busybox udhcpc started at
//! that same moment on the same interface.

use std::net::Ipv4Addr;
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Kea4Options, Lab, WAN_IF};
use serde_json::{json, Value};

use crate::common::netns::AddrMonitor;
use crate::common::stats::ms;
use crate::common::{remove_dir_if_present, wait_for, Result};
use crate::flush_wan;
use crate::start::{busybox_udhcpc, simple_script};

const ACQUIRE_DEADLINE: Duration = Duration::from_secs(20);
/// The name `erouter0` hides under.
const HIDDEN: &str = "wanlate";

pub struct Late {
    after_secs: u64,
    dhcpmgr: Duration,
    busybox: Duration,
}

/// The delays from `LATE_S`.
pub fn delays() -> Result<Vec<u64>> {
    let text = std::env::var("LATE_S").unwrap_or_else(|_| "5,45,120".into());
    text.split(',')
        .map(|n| {
            n.trim()
                .parse::<u64>()
                .map_err(|_| format!("LATE_S={text:?} is not a list of seconds"))
        })
        .collect()
}

pub fn late_interface(
    lab: &mut Lab,
    monitor: &mut AddrMonitor<Ipv4Addr>,
    delays: &[u64],
) -> Result<Vec<Late>> {
    lab.start_kea4(Kea4Options::default());
    let script = simple_script(lab)?;
    let log = lab.dir().join("busybox-udhcpc-late.log");
    let config = lab.daemon_config();
    let path = lab.write_daemon_config(&config);
    let mut out = Vec::with_capacity(delays.len());
    for &after_secs in delays {
        hide(lab);
        remove_dir_if_present(&config.state_dir)?;
        std::fs::create_dir_all(&config.state_dir).map_err(|e| format!("create state dir: {e}"))?;
        let daemon = lab.spawn_daemon(&path);
        thread::sleep(Duration::from_secs(after_secs));
        let t0 = Instant::now();
        reveal(lab);
        let at = monitor
            .wait_until(ACQUIRE_DEADLINE, "dhcpmgr configures an address", |p| {
                !p.is_empty()
            })
            .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
        let dhcpmgr = at.saturating_duration_since(t0);
        let status = daemon.terminate();
        if !status.success() {
            return Err(format!("dhcpmgr exited with {status} on SIGTERM"));
        }
        flush_wan(lab, monitor)?;

        hide(lab);
        let t0 = Instant::now();
        reveal(lab);
        let mut child = busybox_udhcpc(lab, &script, &log)?;
        let at = monitor.wait_until(
            ACQUIRE_DEADLINE,
            "busybox udhcpc configures an address",
            |p| !p.is_empty(),
        )?;
        let busybox = at.saturating_duration_since(t0);
        wait_for(ACQUIRE_DEADLINE, || child.0.try_wait().ok().flatten())
            .ok_or("busybox udhcpc -q did not exit")?;
        flush_wan(lab, monitor)?;
        out.push(Late {
            after_secs,
            dhcpmgr,
            busybox,
        });
    }
    lab.stop_kea4();
    Ok(out)
}

fn hide(lab: &Lab) {
    lab.cpe().ip(&["link", "set", WAN_IF, "down"]);
    lab.cpe().ip(&["link", "set", WAN_IF, "name", HIDDEN]);
}

fn reveal(lab: &Lab) {
    lab.cpe().ip(&["link", "set", HIDDEN, "name", WAN_IF]);
    lab.cpe().ip(&["link", "set", WAN_IF, "up"]);
}

pub fn json(late: &[Late]) -> Value {
    json!(late
        .iter()
        .map(|l| json!({
            "created_after_s": l.after_secs,
            "dhcpmgr_ms": ms(l.dhcpmgr),
            "busybox_udhcpc_same_moment_ms": ms(l.busybox),
        }))
        .collect::<Vec<_>>())
}

/// Part 5 of the report.
pub fn print(late: &[Late]) {
    println!("5. erouter0 appears N s after the daemon started: from the interface named and up");
    println!("   to the address on it (netlink), against busybox udhcpc started at that moment");
    println!("  {:<44} {:>8} {:>8}", "ms", "dhcpmgr", "busybox");
    for l in late {
        println!(
            "  {:<44} {:>8.1} {:>8.1}",
            format!("created {} s after start", l.after_secs),
            ms(l.dhcpmgr),
            ms(l.busybox)
        );
    }
    println!();
}
