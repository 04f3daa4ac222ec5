//! System events (design §4.5): the `ipv4_IF_*` keys computed from a lease, the memory of what
//! was last set so only changes go out, and the task that runs `<command> set <key> <value>`
//! off the lease path.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use dhcpmgr_ipc::V4Lease;

use crate::lease::v6::HeldV6;
use tokio::sync::mpsc;

/// Key/value pairs as WAN Manager reads them.
pub type SysEvents = BTreeMap<String, String>;

/// The `ipv4_IF_*` values for `interface` holding `lease` (or none), obtained at `start_time`
/// (seconds since boot).
pub fn v4_sysevents(interface: &str, lease: Option<&V4Lease>, start_time: u64) -> SysEvents {
    let key = |suffix: &str| format!("ipv4_{interface}_{suffix}");
    let mut out = SysEvents::new();
    let Some(lease) = lease else {
        out.insert(key("dhcp_state"), "deconfig".into());
        return out;
    };
    out.insert(key("ipaddr"), lease.address.to_string());
    out.insert(key("subnet"), netmask(lease.prefix_len).to_string());
    if let Some(gw) = lease.routers.first() {
        out.insert(key("gw_0"), gw.to_string());
    }
    out.insert(key("dns_number"), lease.dns_servers.len().to_string());
    for (i, dns) in lease.dns_servers.iter().enumerate() {
        out.insert(key(&format!("dns_{i}")), dns.to_string());
    }
    if let Some(server) = lease.server_id {
        out.insert(key("dhcp_server"), server.to_string());
    }
    if let Some(secs) = lease.lease_secs {
        out.insert(key("lease_time"), secs.to_string());
    }
    out.insert(key("dhcp_state"), "bound".into());
    out.insert(key("start_time"), start_time.to_string());
    out
}

/// The DHCPv6 values of design §4.5 for `interface` holding `held`, plus `wan6_ns` (the DNS
/// servers of option 23, space-separated). dibbler-client does not report IAIDs, T1 or T2, so
/// the `…_iaid` and `…_t1/t2` keys are set from what the daemon asked for when it knows them.
pub fn v6_sysevents(interface: &str, held: &HeldV6, asked: &V6Asked) -> SysEvents {
    let key = |suffix: &str| format!("tr_{interface}_dhcpv6_client_{suffix}");
    let mut out = SysEvents::new();
    if let Some(a) = held.addresses.first() {
        out.insert(key("v6addr"), a.lease.address.to_string());
        out.insert(key("addr_pretm"), a.lease.preferred.to_string());
        out.insert(key("addr_vldtm"), a.lease.valid.to_string());
        out.insert(key("addr_iaid"), asked.ia_na_iaid.to_string());
        if let Some(t1) = asked.t1 {
            out.insert(key("addr_t1"), t1.to_string());
        }
        if let Some(t2) = asked.t2 {
            out.insert(key("addr_t2"), t2.to_string());
        }
    }
    if let Some(p) = held.prefixes.first() {
        out.insert(
            key("v6pref"),
            format!("{}/{}", p.lease.prefix, p.lease.length),
        );
        out.insert(key("pref_pretm"), p.lease.preferred.to_string());
        out.insert(key("pref_vldtm"), p.lease.valid.to_string());
        out.insert(key("pref_iaid"), asked.ia_pd_iaid.to_string());
        if let Some(t1) = asked.t1 {
            out.insert(key("pref_t1"), t1.to_string());
        }
        if let Some(t2) = asked.t2 {
            out.insert(key("pref_t2"), t2.to_string());
        }
    }
    if let Some(dns) = held.options.get(&23) {
        let servers: Vec<&str> = dns.split_whitespace().collect();
        if !servers.is_empty() && !held.is_empty() {
            out.insert("wan6_ns".into(), servers.join(" "));
        }
    }
    out
}

/// What the daemon asked dibbler-client for, for the values dibbler does not report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Asked {
    pub ia_na_iaid: u32,
    pub ia_pd_iaid: u32,
    pub t1: Option<u32>,
    pub t2: Option<u32>,
}

/// The dotted netmask of a prefix length (0 to 32; larger is treated as 32).
pub fn netmask(prefix_len: u8) -> Ipv4Addr {
    let bits = u32::from(prefix_len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
}

/// What must be set to move from `last` to `next`: changed and new keys with their values,
/// vanished keys with an empty value, the `dhcp_state` and `mapt_config_flag` keys last so that
/// a listener woken by them finds every other value already set. `last` becomes `next`.
pub fn changes(last: &mut SysEvents, next: SysEvents) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = last
        .keys()
        .filter(|k| !next.contains_key(*k))
        .map(|k| (k.clone(), String::new()))
        .collect();
    out.extend(
        next.iter()
            .filter(|(k, v)| last.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out.sort_by_key(|(k, _)| k.ends_with("_dhcp_state") || k == "mapt_config_flag");
    *last = next;
    out
}

/// Sends batches of changes to the task that runs the command.
#[derive(Debug, Clone)]
pub struct SysEventSender(Option<mpsc::UnboundedSender<Vec<(String, String)>>>);

impl SysEventSender {
    /// Starts the runner task on the current runtime; `None` disables system events.
    pub fn start(command: Option<PathBuf>) -> Self {
        let Some(command) = command else {
            return Self(None);
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<(String, String)>>();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                for (key, value) in batch {
                    run_one(&command, &key, &value).await;
                }
            }
        });
        Self(Some(tx))
    }

    /// Queues `batch` in order; never blocks the caller.
    pub fn send(&self, batch: Vec<(String, String)>) {
        if batch.is_empty() {
            return;
        }
        if let Some(tx) = &self.0 {
            if tx.send(batch).is_err() {
                tracing::warn!("system event runner has stopped; events dropped");
            }
        }
    }
}

async fn run_one(command: &PathBuf, key: &str, value: &str) {
    let status = tokio::process::Command::new(command)
        .args(["set", key, value])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => tracing::debug!(key, value, "sysevent set"),
        Ok(s) => {
            tracing::warn!(key, command = %command.display(), status = %s, "sysevent command failed")
        }
        Err(e) => {
            tracing::warn!(key, command = %command.display(), error = %e, "cannot run sysevent command")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> V4Lease {
        V4Lease {
            routers: vec![Ipv4Addr::new(192, 0, 2, 1)],
            dns_servers: vec![Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(192, 0, 2, 54)],
            server_id: Some(Ipv4Addr::new(192, 0, 2, 1)),
            lease_secs: Some(3600),
            ..V4Lease::new(Ipv4Addr::new(192, 0, 2, 100), 24)
        }
    }

    #[test]
    fn lease_maps_to_design_keys() {
        let ev = v4_sysevents("erouter0", Some(&lease()), 77);
        let get = |k: &str| ev.get(&format!("ipv4_erouter0_{k}")).map(String::as_str);
        assert_eq!(get("ipaddr"), Some("192.0.2.100"));
        assert_eq!(get("subnet"), Some("255.255.255.0"));
        assert_eq!(get("gw_0"), Some("192.0.2.1"));
        assert_eq!(get("dns_number"), Some("2"));
        assert_eq!(get("dns_1"), Some("192.0.2.54"));
        assert_eq!(get("dhcp_server"), Some("192.0.2.1"));
        assert_eq!(get("lease_time"), Some("3600"));
        assert_eq!(get("dhcp_state"), Some("bound"));
        assert_eq!(get("start_time"), Some("77"));
    }

    #[test]
    fn only_changes_go_out_and_vanished_keys_are_emptied() {
        let mut last = SysEvents::new();
        let first = changes(&mut last, v4_sysevents("e", Some(&lease()), 1));
        assert_eq!(first.len(), 10);
        assert_eq!(
            first.last().map(|(k, _)| k.as_str()),
            Some("ipv4_e_dhcp_state")
        );
        assert!(changes(&mut last, v4_sysevents("e", Some(&lease()), 1)).is_empty());
        let renewed = changes(&mut last, v4_sysevents("e", Some(&lease()), 2));
        assert_eq!(renewed, vec![("ipv4_e_start_time".into(), "2".into())]);
        let gone = changes(&mut last, v4_sysevents("e", None, 2));
        assert!(gone.contains(&("ipv4_e_ipaddr".into(), String::new())));
        assert!(gone.contains(&("ipv4_e_dhcp_state".into(), "deconfig".into())));
    }

    #[test]
    fn v6_lease_maps_to_design_keys() {
        use crate::boottime::BootSeconds;
        use crate::lease::v6::{HeldAddress, HeldPrefix};
        let held = HeldV6 {
            addresses: vec![HeldAddress {
                lease: dhcpmgr_ipc::V6Address {
                    address: "2001:db8:1::100".parse().unwrap(),
                    preferred: 3000,
                    valid: 4000,
                },
                obtained: BootSeconds(1),
            }],
            prefixes: vec![HeldPrefix {
                lease: dhcpmgr_ipc::V6Prefix {
                    prefix: "2001:db8:12:3400::".parse().unwrap(),
                    length: 56,
                    preferred: 3000,
                    valid: 4000,
                },
                obtained: BootSeconds(1),
            }],
            options: BTreeMap::from([(23, "2001:db8:1::53 2001:db8:1::54".to_string())]),
        };
        let asked = V6Asked {
            ia_na_iaid: 1,
            ia_pd_iaid: 2,
            t1: Some(1000),
            t2: None,
        };
        let ev = v6_sysevents("erouter0", &held, &asked);
        let get = |k: &str| ev.get(k).map(String::as_str);
        assert_eq!(
            get("tr_erouter0_dhcpv6_client_v6addr"),
            Some("2001:db8:1::100")
        );
        assert_eq!(
            get("tr_erouter0_dhcpv6_client_v6pref"),
            Some("2001:db8:12:3400::/56")
        );
        assert_eq!(get("tr_erouter0_dhcpv6_client_addr_vldtm"), Some("4000"));
        assert_eq!(get("tr_erouter0_dhcpv6_client_pref_pretm"), Some("3000"));
        assert_eq!(get("tr_erouter0_dhcpv6_client_pref_iaid"), Some("2"));
        assert_eq!(get("tr_erouter0_dhcpv6_client_addr_t1"), Some("1000"));
        assert_eq!(get("tr_erouter0_dhcpv6_client_addr_t2"), None);
        assert_eq!(get("wan6_ns"), Some("2001:db8:1::53 2001:db8:1::54"));
        assert!(v6_sysevents("erouter0", &HeldV6::default(), &asked).is_empty());
    }

    #[test]
    fn netmask_of_edge_prefixes() {
        assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask(8), Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(netmask(30), Ipv4Addr::new(255, 255, 255, 252));
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
