//! Kea DHCPv6 in the ISP namespace: options → JSON config (IA_NA pool, IA_PD pool, DNS, domain
//! list, raw options such as 95/94/64), the lease file parser, and the DHCPv6 side of [`Lab`]:
//! reloading Kea with new options under the same server DUID, a daemon config with one DHCPv6
//! client, the global addresses the CPE got.
//!
//! [`Lab`]: crate::Lab

use std::net::Ipv6Addr;
use std::path::Path;

use serde_json::{json, Value};

use crate::kea::csv_records;
use crate::ISP_IF;

/// What the lab's Kea DHCPv6 server hands out on 2001:db8:1::/64.
#[derive(Clone, Debug)]
pub struct Kea6Options {
    pub preferred_lifetime: u32,
    pub valid_lifetime: u32,
    pub renew_timer: u32,
    pub rebind_timer: u32,
    /// IA_NA pool, e.g. `2001:db8:1::100 - 2001:db8:1::1ff`.
    pub address_pool: (Ipv6Addr, Ipv6Addr),
    /// IA_PD pool: prefix, its length, and the delegated length.
    pub pd_pool: (Ipv6Addr, u8, u8),
    /// Option 23.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Option 24.
    pub domains: Vec<String>,
    /// Raw options sent to every client: (code, payload hex), e.g. option 95.
    pub raw_options: Vec<(u16, String)>,
    /// Answer a SOLICIT with rapid commit directly with a REPLY.
    pub rapid_commit: bool,
}

impl Default for Kea6Options {
    /// Lifetimes 3000/4000 s (T1 1000, T2 2000), addresses 2001:db8:1::100–1ff, /56 prefixes
    /// from 2001:db8:12::/48, DNS 2001:db8:1::53, domain `lab.example`, no raw options.
    fn default() -> Self {
        Kea6Options {
            preferred_lifetime: 3000,
            valid_lifetime: 4000,
            renew_timer: 1000,
            rebind_timer: 2000,
            address_pool: (
                Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100),
                Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1ff),
            ),
            pd_pool: (Ipv6Addr::new(0x2001, 0xdb8, 0x12, 0, 0, 0, 0, 0), 48, 56),
            dns_servers: vec![Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x53)],
            domains: vec!["lab.example".into()],
            raw_options: Vec::new(),
            rapid_commit: false,
        }
    }
}

/// One record of Kea's DHCPv6 memfile lease journal (`lease_type` 0 = IA_NA, 2 = IA_PD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kea6Lease {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub duid: String,
    pub valid_lifetime: u32,
    pub lease_type: u8,
    pub state: u32,
}

impl Kea6Lease {
    /// Whether this record describes a binding in use (not released or reclaimed).
    pub fn is_active(&self) -> bool {
        self.valid_lifetime > 0 && self.state == 0
    }

    pub fn is_prefix(&self) -> bool {
        self.lease_type == 2
    }
}

/// Kea's JSON configuration for `options`, with lease file and log in the lab dir.
pub(crate) fn config(options: &Kea6Options, leases: &Path, log: &Path) -> Value {
    let mut option_data = Vec::new();
    if !options.dns_servers.is_empty() {
        let list: Vec<String> = options
            .dns_servers
            .iter()
            .map(Ipv6Addr::to_string)
            .collect();
        option_data.push(json!({"name": "dns-servers", "data": list.join(", ")}));
    }
    if !options.domains.is_empty() {
        option_data.push(json!({"name": "domain-search", "data": options.domains.join(", ")}));
    }
    for (code, hex) in &options.raw_options {
        option_data.push(json!({
            "space": "dhcp6", "code": code, "csv-format": false, "data": hex, "always-send": true,
        }));
    }
    let (first, last) = options.address_pool;
    let (pd_prefix, pd_len, delegated) = options.pd_pool;
    json!({"Dhcp6": {
        "interfaces-config": {
            "interfaces": [ISP_IF],
            "service-sockets-max-retries": 50,
            "service-sockets-retry-wait-time": 200,
        },
        "server-id": {"type": "LLT", "persist": false},
        "lease-database": {"type": "memfile", "persist": true, "name": leases, "lfc-interval": 0},
        "preferred-lifetime": options.preferred_lifetime,
        "valid-lifetime": options.valid_lifetime,
        "renew-timer": options.renew_timer,
        "rebind-timer": options.rebind_timer,
        "subnet6": [{
            "id": 1,
            "subnet": "2001:db8:1::/64",
            "interface": ISP_IF,
            "rapid-commit": options.rapid_commit,
            "pools": [{"pool": format!("{first} - {last}")}],
            "pd-pools": [{"prefix": pd_prefix.to_string(), "prefix-len": pd_len, "delegated-len": delegated}],
            "option-data": option_data,
        }],
        "loggers": [{
            "name": "kea-dhcp6",
            "output_options": [{"output": log, "flush": true}],
            "severity": "INFO",
        }],
    }})
}

/// Kea's `server-id` setting that gives back the DUID-LLT `duid` (hex, colons allowed), so a
/// reloaded server keeps the identity its clients renew with; `None` unless `duid` is a DUID-LLT.
fn pinned_server_id(duid: &str) -> Option<Value> {
    let hex: String = duid.chars().filter(|c| *c != ':').collect();
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    match bytes.as_slice() {
        [0, 1, h0, h1, t0, t1, t2, t3, lladdr @ ..] if !lladdr.is_empty() => {
            let identifier: String = lladdr.iter().map(|b| format!("{b:02x}")).collect();
            Some(json!({
                "type": "LLT",
                "htype": u16::from_be_bytes([*h0, *h1]),
                "time": u32::from_be_bytes([*t0, *t1, *t2, *t3]),
                "identifier": identifier,
                "persist": false,
            }))
        }
        _ => None,
    }
}

impl crate::Lab {
    /// The global (2001::/16, the lab's ISP space) IPv6 addresses on the WAN interface.
    pub fn global_v6(&self) -> Vec<Ipv6Addr> {
        self.cpe
            .addrs(crate::WAN_IF)
            .into_iter()
            .filter_map(|(a, _)| match a {
                std::net::IpAddr::V6(a) if a.segments()[0] == 0x2001 => Some(a),
                _ => None,
            })
            .collect()
    }

    /// Rewrites the running Kea DHCPv6's configuration for `options`, keeping its server DUID
    /// `server_duid` (a DUID-LLT in hex, as `Server.{i}.DUID` reads), and has it reload the file
    /// (SIGHUP): clients keep renewing with the same server and get the new options. Waits until
    /// Kea says the new configuration is in force; panics with its log otherwise.
    pub fn reload_kea6(&mut self, options: Kea6Options, server_duid: &str) {
        let dir = self.dir.path();
        let (path, log) = (dir.join("kea6.json"), dir.join("kea6.log"));
        let mut json = config(&options, &dir.join("kea6-leases.csv"), &log);
        json["Dhcp6"]["server-id"] = pinned_server_id(server_duid)
            .unwrap_or_else(|| panic!("{server_duid:?} is not a DUID-LLT"));
        std::fs::write(&path, format!("{json:#}")).expect("write Kea config into the lab dir");
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let kea = self.kea6.as_mut().expect("Kea DHCPv6 runs");
        kea.signal(nix::sys::signal::Signal::SIGHUP);
        let done = crate::process::poll(std::time::Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| {
                l.get(log_start..)
                    .is_some_and(|new| new.contains("DHCP6_CONFIG_COMPLETE"))
            })
        });
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let new = text.get(log_start..).unwrap_or_default();
        assert!(
            done && !new.contains("RECONFIGURATION_FAIL"),
            "Kea DHCPv6 did not take the new configuration:\n{new}"
        );
        self.kea6_options = Some(options);
    }
}

/// Parses a Kea 2.2 `leases6.csv` by its header, skipping lines it cannot read.
pub(crate) fn parse_leases(csv: &str) -> Vec<Kea6Lease> {
    let columns = [
        "address",
        "duid",
        "valid_lifetime",
        "lease_type",
        "prefix_len",
        "state",
    ];
    csv_records(csv, &columns)
        .into_iter()
        .filter_map(|f| match f[..] {
            [addr, duid, valid, kind, plen, state] => Some(Kea6Lease {
                address: addr.parse().ok()?,
                duid: duid.to_owned(),
                valid_lifetime: valid.parse().ok()?,
                lease_type: kind.parse().ok()?,
                prefix_len: plen.parse().ok()?,
                state: state.parse().ok()?,
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lease_journal() {
        let csv = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n\
                   2001:db8:1::100,00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3,4000,1795517039,1,3000,0,1,128,0,0,,a6:40:dc:44:09:b3,0,,1,2\n\
                   2001:db8:12::,00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3,0,1795517039,1,3000,2,1,56,0,0,,a6:40:dc:44:09:b3,0,,1,2\n";
        let leases = parse_leases(csv);
        assert_eq!(leases.len(), 2);
        assert!(leases[0].is_active() && !leases[0].is_prefix());
        assert_eq!(leases[1].prefix_len, 56);
        assert!(leases[1].is_prefix() && !leases[1].is_active());
    }

    #[test]
    fn a_duid_llt_pins_the_server_id() {
        let id = pinned_server_id("00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7").expect("LLT");
        assert_eq!(id["htype"], 1);
        assert_eq!(id["time"], 0x3298_174a_u32);
        assert_eq!(id["identifier"], "8606d3e2cdf7");
        assert_eq!(pinned_server_id("0003000102000000"), None, "a DUID-LL");
        assert_eq!(pinned_server_id("0001zz"), None);
    }
}
