//! Part 2 of `lease_hop`: udhcpc start → address, busybox's sample script against a fresh
//! dhcpmgr (and the daemon's idle memory, read on the last run); its report section.

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Kea4Options, Lab, WAN_IF};
use serde_json::{json, Value};

use crate::common::netns::AddrMonitor;
use crate::common::stats::{list, median, ms, spread_json, spread_row, Memory};
use crate::common::{remove_dir_if_present, wait_for, Result};
use crate::{flush_wan, SETTLE};

const ACQUIRE_DEADLINE: Duration = Duration::from_secs(20);

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

pub struct StartReport {
    busybox: Vec<Duration>,
    dhcpmgr: Vec<Duration>,
    address: Ipv4Addr,
    /// The daemon's, idle with a lease from Kea ([`SETTLE`] after the last run's address).
    pub memory: Memory,
}

impl StartReport {
    fn ratio(&self) -> f64 {
        ms(median(&self.dhcpmgr)) / ms(median(&self.busybox))
    }

    pub fn json(&self) -> Value {
        json!({
            "runs": self.busybox.len(),
            "address": self.address.to_string(),
            "busybox_simple_script_ms": spread_json(&self.busybox),
            "dhcpmgr_ms": spread_json(&self.dhcpmgr),
            "ratio_dhcpmgr_over_busybox": self.ratio(),
        })
    }
}

pub fn start_to_address(
    lab: &mut Lab,
    monitor: &mut AddrMonitor<Ipv4Addr>,
    runs: usize,
) -> Result<StartReport> {
    lab.start_kea4(Kea4Options::default());
    let pool = Kea4Options::default().pool;
    let script = simple_script(lab)?;
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
        let t0 = Instant::now();
        let mut child = busybox_udhcpc(lab, &script, &log)?;
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
            remove_dir_if_present(&dir)?;
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

/// Writes busybox's sample script (resolv.conf in the lab dir) into the lab dir.
pub fn simple_script(lab: &Lab) -> Result<PathBuf> {
    let script = lab.dir().join("simple.script");
    let resolv = lab.dir().join("resolv.conf");
    let resolv = resolv
        .to_str()
        .filter(|p| !p.contains('"'))
        .ok_or("lab dir path is not plain")?;
    fs::write(&script, SIMPLE_SCRIPT.replace("@RESOLV@", resolv))
        .and_then(|()| fs::set_permissions(&script, fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("write {}: {e}", script.display()))?;
    Ok(script)
}

/// Starts `busybox udhcpc -f -q` on [`WAN_IF`] with `script`, output appended to `log`.
pub fn busybox_udhcpc(lab: &Lab, script: &Path, log: &Path) -> Result<Reaped> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("clone log file: {e}"))?;
    let child = lab
        .cpe()
        .command("busybox")
        .args(["udhcpc", "-f", "-q", "-i", WAN_IF, "-s"])
        .arg(script)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start busybox udhcpc: {e}"))?;
    Ok(Reaped(child))
}

/// A child that is killed and reaped if it is still around when dropped.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Part 2 of the report.
pub fn print(start: &StartReport) {
    println!(
        "2. udhcpc start → {} on {WAN_IF}: {} runs each, interleaved, Kea default options",
        start.address,
        start.busybox.len()
    );
    println!("   both started via `ip netns exec`; end = netlink address event (event-driven)");
    println!("  {:<44} {:>8} {:>8} {:>8}", "ms", "median", "min", "max");
    println!(
        "{}",
        spread_row("busybox udhcpc -q + simple.script", &start.busybox)
    );
    println!(
        "{}",
        spread_row("dhcpmgr (fresh state dir, daemon start)", &start.dhcpmgr)
    );
    println!("   ratio dhcpmgr/busybox (medians): {:.2}", start.ratio());
    println!("   busybox runs: {}", list(&start.busybox, 1));
    println!("   dhcpmgr runs: {}", list(&start.dhcpmgr, 1));
    println!("   design budget: dhcpmgr no slower than busybox's sample script");
    println!();
}
