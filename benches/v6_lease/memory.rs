//! Part 4 of `v6_lease`: the daemon's memory with one DHCPv4 and one DHCPv6 client idle (and
//! its clients'); its report section.

use std::thread;
use std::time::Duration;

use dhcpmgr_lab::{Kea4Options, Lab, WAN_IF};
use serde_json::{json, Value};

use crate::common::stats::{kib, Memory};
use crate::common::{wait_for, Result};
use crate::hop::HopReport;
use crate::{pids_named, v6_config, BIND_DEADLINE, PREF_KEY};

/// Idle time before the daemon's memory is read.
const SETTLE: Duration = Duration::from_secs(2);

pub struct Idle {
    daemon: Memory,
    udhcpc: Option<Memory>,
    dibbler: Option<Memory>,
}

impl Idle {
    pub fn json(&self) -> Value {
        json!({
            "daemon": self.daemon.json(),
            "udhcpc": self.udhcpc.as_ref().map(Memory::json),
            "dibbler_client": self.dibbler.as_ref().map(Memory::json),
        })
    }
}

pub fn idle_memory(lab: &mut Lab) -> Result<Idle> {
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

/// Part 4 of the report (`hops` for the memory after the hop run).
pub fn print(idle: &Idle, hops: &HopReport) {
    println!("4. Daemon memory (budget: idle RSS ≤ 6 MiB with v4+v6 clients and the shield;");
    println!("   measured here: one v4 and one v6 client, leases from Kea, no shield)");
    println!(
        "   idle, {SETTLE:?} after both bound: {}",
        idle.daemon.line()
    );
    println!(
        "   after the v6 hop run ({} events):  {}",
        hops.leases(),
        hops.memory().line()
    );
    for (name, m) in [("udhcpc", &idle.udhcpc), ("dibbler-client", &idle.dibbler)] {
        match m {
            Some(m) => println!("   child {name:<15} VmRSS {}", kib(m.rss)),
            None => println!("   child {name:<15} not found"),
        }
    }
}
