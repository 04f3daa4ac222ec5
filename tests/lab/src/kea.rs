//! Kea DHCPv4 in the ISP namespace: options → JSON config, the lease file parser.
//! Starting and stopping lives on [`crate::Lab`].

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::path::Path;

use serde_json::{json, Value};

use crate::{ISP_IF, ISP_V4};

/// What the lab's Kea DHCPv4 server hands out on subnet 192.0.2.0/24.
#[derive(Clone, Debug)]
pub struct Kea4Options {
    /// Lease time in seconds (option 51).
    pub valid_lifetime: u32,
    /// T1 in seconds (option 58).
    pub renew_timer: u32,
    /// T2 in seconds (option 59).
    pub rebind_timer: u32,
    /// Dynamic pool; a single address is `a..=a`.
    pub pool: RangeInclusive<Ipv4Addr>,
    /// Option 3; empty to leave it out.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6; empty to leave it out.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 15.
    pub domain: Option<String>,
    /// Option 26 (interface MTU).
    pub mtu: Option<u16>,
    /// Fixed addresses, which win over the pool (and may lie outside it).
    pub reservations: Vec<Reservation>,
    /// Further Kea `option-data` entries, verbatim (e.g. `{"code": 121, "csv-format": false,
    /// "data": "…"}`).
    pub extra_option_data: Vec<Value>,
    /// Answer requests for unknown addresses with a NAK (Kea's `authoritative`).
    pub authoritative: bool,
    /// Log at DEBUG (packet level) instead of INFO.
    pub debug_log: bool,
}

impl Default for Kea4Options {
    /// 1 h leases (T1 30 min, T2 52.5 min) from 192.0.2.100–199, router 192.0.2.1, DNS
    /// 192.0.2.53, domain `isp.example`, no MTU.
    fn default() -> Self {
        Kea4Options {
            valid_lifetime: 3600,
            renew_timer: 1800,
            rebind_timer: 3150,
            pool: Ipv4Addr::new(192, 0, 2, 100)..=Ipv4Addr::new(192, 0, 2, 199),
            routers: vec![ISP_V4],
            dns_servers: vec![Ipv4Addr::new(192, 0, 2, 53)],
            domain: Some("isp.example".into()),
            mtu: None,
            reservations: Vec::new(),
            extra_option_data: Vec::new(),
            authoritative: false,
            debug_log: false,
        }
    }
}

/// A host reservation: the client identified by `id` always gets `address`.
#[derive(Clone, Debug)]
pub struct Reservation {
    pub id: HostId,
    pub address: Ipv4Addr,
}

/// How Kea recognises a reserved client; values are colon-separated hex.
#[derive(Clone, Debug)]
pub enum HostId {
    /// `aa:bb:cc:dd:ee:ff`.
    HwAddress(String),
    /// Option 61 as sent, e.g. `01:aa:bb:cc:dd:ee:ff`.
    ClientId(String),
}

/// One record of Kea's memfile lease file. The file is a journal: a lease appears again on every
/// change, and a released or deleted lease is written with `valid_lifetime` 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kea4Lease {
    pub address: Ipv4Addr,
    pub hwaddr: String,
    pub client_id: String,
    pub valid_lifetime: u32,
    /// Expiry, seconds since the epoch.
    pub expire: u64,
    pub hostname: String,
    /// 0 default, 1 declined, 2 expired-reclaimed.
    pub state: u32,
}

impl Kea4Lease {
    /// Whether this record describes a lease in use (not released, declined or reclaimed).
    pub fn is_active(&self) -> bool {
        self.valid_lifetime > 0 && self.state == 0
    }
}

/// Kea's JSON configuration for `options`, with lease file and log in the lab dir.
pub(crate) fn config(options: &Kea4Options, leases: &Path, log: &Path) -> Value {
    let list = |addrs: &[Ipv4Addr]| {
        addrs
            .iter()
            .map(Ipv4Addr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut option_data = Vec::new();
    if !options.routers.is_empty() {
        option_data.push(json!({"name": "routers", "data": list(&options.routers)}));
    }
    if !options.dns_servers.is_empty() {
        option_data
            .push(json!({"name": "domain-name-servers", "data": list(&options.dns_servers)}));
    }
    if let Some(domain) = &options.domain {
        option_data.push(json!({"name": "domain-name", "data": domain}));
    }
    if let Some(mtu) = options.mtu {
        option_data.push(json!({"name": "interface-mtu", "data": mtu.to_string()}));
    }
    option_data.extend(options.extra_option_data.iter().cloned());
    let reservations: Vec<Value> = options
        .reservations
        .iter()
        .map(|r| match &r.id {
            HostId::HwAddress(hw) => json!({"hw-address": hw, "ip-address": r.address.to_string()}),
            HostId::ClientId(id) => json!({"client-id": id, "ip-address": r.address.to_string()}),
        })
        .collect();
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [ISP_IF]},
        "lease-database": {"type": "memfile", "persist": true, "name": leases, "lfc-interval": 0},
        "valid-lifetime": options.valid_lifetime,
        "renew-timer": options.renew_timer,
        "rebind-timer": options.rebind_timer,
        "authoritative": options.authoritative,
        "subnet4": [{
            "id": 1,
            "subnet": "192.0.2.0/24",
            "pools": [{"pool": format!("{} - {}", options.pool.start(), options.pool.end())}],
            "option-data": option_data,
            "reservations": reservations,
        }],
        "loggers": [{
            "name": "kea-dhcp4",
            "output_options": [{"output": log, "flush": true}],
            "severity": if options.debug_log { "DEBUG" } else { "INFO" },
            "debuglevel": 55,
        }],
    }})
}

/// The `columns` of every record of a Kea memfile CSV, found by its header; lines too short to
/// have them all are skipped. Nothing when the header lacks a column.
pub(crate) fn csv_records<'a>(csv: &'a str, columns: &[&str]) -> Vec<Vec<&'a str>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let Some(indices) = columns
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect::<Option<Vec<usize>>>()
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            indices.iter().map(|&i| fields.get(i).copied()).collect()
        })
        .collect()
}

/// Parses a Kea 2.2 `leases4.csv` by its header, skipping lines it cannot read.
pub(crate) fn parse_leases(csv: &str) -> Vec<Kea4Lease> {
    let columns = [
        "address",
        "hwaddr",
        "client_id",
        "valid_lifetime",
        "expire",
        "hostname",
        "state",
    ];
    csv_records(csv, &columns)
        .into_iter()
        .filter_map(|f| match f[..] {
            [addr, hw, cid, valid, exp, host, state] => Some(Kea4Lease {
                address: addr.parse().ok()?,
                hwaddr: hw.to_owned(),
                client_id: cid.to_owned(),
                valid_lifetime: valid.parse().ok()?,
                expire: exp.parse().ok()?,
                hostname: host.to_owned(),
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
        let csv = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n\
                   192.0.2.100,02:00:00:00:02:01,01:02:00:00:00:02:01,120,1795511615,1,0,0,lab,0,\n\
                   192.0.2.100,02:00:00:00:02:01,01:02:00:00:00:02:01,0,1795511516,1,0,0,,0,\n";
        let leases = parse_leases(csv);
        assert_eq!(leases.len(), 2);
        assert_eq!(leases[0].address, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(
            (leases[0].hostname.as_str(), leases[0].expire),
            ("lab", 1795511615)
        );
        assert!(leases[0].is_active() && !leases[1].is_active());
        assert!(parse_leases("").is_empty());
    }

    #[test]
    fn config_carries_options_and_reservations() {
        let options = Kea4Options {
            mtu: Some(1400),
            reservations: vec![Reservation {
                id: HostId::ClientId("01:02:00:00:00:02:01".into()),
                address: Ipv4Addr::new(192, 0, 2, 42),
            }],
            ..Kea4Options::default()
        };
        let cfg = config(&options, Path::new("/l.csv"), Path::new("/k.log"));
        let subnet = &cfg["Dhcp4"]["subnet4"][0];
        assert_eq!(subnet["pools"][0]["pool"], "192.0.2.100 - 192.0.2.199");
        assert_eq!(
            subnet["option-data"][3],
            json!({"name": "interface-mtu", "data": "1400"})
        );
        assert_eq!(
            subnet["reservations"][0]["client-id"],
            "01:02:00:00:00:02:01"
        );
        assert_eq!(cfg["Dhcp4"]["lease-database"]["lfc-interval"], 0);
    }
}
