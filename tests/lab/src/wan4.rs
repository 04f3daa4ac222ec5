//! DHCPv4 on the CPE's WAN side, as tests look at it: the leased address, the udhcpc serving
//! an interface, and the order of address changes.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::{Lab, WAN_IF};

/// How long a first DHCPv4 lease may take in the lab.
pub const LEASE_WAIT: Duration = Duration::from_secs(20);

impl Lab {
    /// The single IPv4 address on the WAN interface once one from Kea's pool is there.
    pub fn wait_for_v4_lease(&self) -> Ipv4Addr {
        let pool = self.kea4_options().expect("Kea started").pool.clone();
        let mut found = None;
        self.wait_until(LEASE_WAIT, "a lease from Kea's pool on erouter0", || {
            found = self
                .cpe()
                .ipv4_addrs(WAN_IF)
                .into_iter()
                .find(|(a, _)| pool.contains(a))
                .map(|(a, _)| a);
            found.is_some()
        });
        found.expect("checked by wait_until")
    }

    /// The IPv4 addresses on the WAN interface.
    pub fn wan_v4_addresses(&self) -> Vec<Ipv4Addr> {
        self.cpe()
            .ipv4_addrs(WAN_IF)
            .into_iter()
            .map(|(a, _)| a)
            .collect()
    }

    /// How many udhcpc processes run in the CPE namespace.
    pub fn udhcpc_count(&self) -> usize {
        self.cpe()
            .pids()
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.contains("udhcpc"))
            })
            .count()
    }

    /// The udhcpc running on `interface`, if any.
    pub fn udhcpc_on(&self, interface: &str) -> Option<i32> {
        self.udhcpc_cmdline(interface).map(|(pid, _)| pid)
    }

    /// The udhcpc running on `interface` and its arguments, if there is one.
    pub fn udhcpc_cmdline(&self, interface: &str) -> Option<(i32, Vec<String>)> {
        let needle = format!("\0-i\0{interface}\0");
        self.cpe().pids().into_iter().find_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline);
            text.contains(&needle).then(|| {
                let args = text.split('\0').filter(|a| !a.is_empty());
                (pid, args.map(str::to_string).collect())
            })
        })
    }
}

/// `ip monitor address` in the CPE namespace, to see the order of address changes.
pub struct AddressMonitor {
    child: Child,
    log: PathBuf,
}

impl AddressMonitor {
    pub fn start(lab: &Lab, interface: &str) -> Self {
        let log = lab.dir().join(format!("ip-monitor-{interface}.log"));
        let out = std::fs::File::create(&log).expect("create monitor log");
        let child = lab
            .cpe()
            .command("ip")
            .args(["-o", "monitor", "address", "dev", interface])
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("start ip monitor");
        std::thread::sleep(Duration::from_millis(200));
        Self { child, log }
    }

    /// IPv4 address events so far: (added?, address).
    pub fn events(&self) -> Vec<(bool, Ipv4Addr)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let added = !line.starts_with("Deleted");
                let mut words = line.split_whitespace();
                words.find(|w| *w == "inet")?;
                let addr = words.next()?.split('/').next()?.parse().ok()?;
                Some((added, addr))
            })
            .collect()
    }
}

impl Drop for AddressMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
