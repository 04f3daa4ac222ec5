//! System events (docs/contracts.md#system-events): the `ipv4_IF_*` and `tr_IF_dhcpv6_client_*` keys computed from
//! a lease, which of them the configured [`Profile`] owns and in what order, and the
//! [`SysEventSender`] the controller hands each client's wanted values to. What was really set
//! is the [`Ledger`]'s business (a key counts only once its command succeeded, persisted), and
//! running the command, with retries, the `runner`'s.

mod ledger;
mod runner;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use dhcpmgr_ipc::V4Lease;
use tokio::sync::mpsc;

use crate::channels::UpdateSender;
use crate::config::Profile;
use crate::lease::v6::HeldV6;
use crate::persist::StateStore;
pub use ledger::Ledger;
use runner::{Desire, Runner};

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

/// The DHCPv6 values (docs/contracts.md#system-events) for `interface` holding `held`, plus `wan6_ns` (the DNS
/// servers of option 23 that are usable unicast addresses, at most [`MAX_WAN6_NS`],
/// space-separated). IAIDs, T1 and T2 are the server's when RDK's
/// dibbler reported them; upstream dibbler does not, and then they are what the daemon asked
/// for, when it knows them.
pub fn v6_sysevents(interface: &str, held: &HeldV6, asked: &V6Asked) -> SysEvents {
    let key = |suffix: &str| format!("tr_{interface}_dhcpv6_client_{suffix}");
    let mut out = SysEvents::new();
    let ia = |kind: &'static str, server: Option<dhcpmgr_ipc::IaParams>, iaid: u32| {
        let server = server.unwrap_or(dhcpmgr_ipc::IaParams {
            iaid: None,
            t1: None,
            t2: None,
        });
        let timers = [
            ("t1", server.t1.or(asked.t1)),
            ("t2", server.t2.or(asked.t2)),
        ];
        let iaid = (
            key(&format!("{kind}_iaid")),
            server.iaid.unwrap_or(iaid).to_string(),
        );
        let timers: Vec<(String, String)> = timers
            .into_iter()
            .filter_map(|(name, value)| Some((key(&format!("{kind}_{name}")), value?.to_string())))
            .collect();
        std::iter::once(iaid).chain(timers)
    };
    if let Some(a) = held.addresses.first() {
        out.extend(ia("addr", held.ia_na, asked.ia_na_iaid));
        out.insert(key("v6addr"), a.lease.address.to_string());
        out.insert(key("addr_pretm"), a.lease.preferred.to_string());
        out.insert(key("addr_vldtm"), a.lease.valid.to_string());
    }
    if let Some(p) = held.prefixes.first() {
        out.extend(ia("pref", held.ia_pd, asked.ia_pd_iaid));
        out.insert(
            key("v6pref"),
            format!("{}/{}", p.lease.prefix, p.lease.length),
        );
        out.insert(key("pref_pretm"), p.lease.preferred.to_string());
        out.insert(key("pref_vldtm"), p.lease.valid.to_string());
    }
    if let Some(dns) = held.options.get(&23) {
        let servers: Vec<&str> = dns
            .split_whitespace()
            .filter(|s| {
                s.parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|a| crate::lease::special::v6_not_global_unicast(a).is_none())
            })
            .take(MAX_WAN6_NS)
            .collect();
        if !servers.is_empty() && !held.is_empty() {
            out.insert("wan6_ns".into(), servers.join(" "));
        }
    }
    out
}

/// DNS servers `wan6_ns` carries, as many as the DHCPv4 keys carry.
pub const MAX_WAN6_NS: usize = crate::lease::v4::MAX_DNS_SERVERS;

/// What the daemon asked dibbler-client for, for the values dibbler does not report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Asked {
    /// IAID of the IA_NA in the daemon's dibbler configuration.
    pub ia_na_iaid: u32,
    /// IAID of the IA_PD in the daemon's dibbler configuration.
    pub ia_pd_iaid: u32,
    /// The T1 suggested to the server, seconds (`None`: the server chooses).
    pub t1: Option<u32>,
    /// The T2 suggested to the server, seconds (`None`: the server chooses).
    pub t2: Option<u32>,
}

/// The dotted netmask of a prefix length (0 to 32; larger is treated as 32).
pub fn netmask(prefix_len: u8) -> Ipv4Addr {
    let bits = u32::from(prefix_len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
}

/// `ipv4_IF_*` suffixes the C manager sets, in its order (`set_inf_sysevents`).
const RDK_V4: [&str; 4] = ["dhcp_server", "lease_time", "dhcp_state", "start_time"];
/// `tr_IF_dhcpv6_client_*` suffixes the C manager sets, in its order
/// (`ConfigureIpv6Sysevents`: the IA_PD's, then the IA_NA's).
const RDK_V6: [&str; 12] = [
    "v6pref",
    "pref_iaid",
    "pref_t1",
    "pref_t2",
    "pref_pretm",
    "pref_vldtm",
    "v6addr",
    "addr_iaid",
    "addr_t1",
    "addr_t2",
    "addr_pretm",
    "addr_vldtm",
];

impl Profile {
    /// The C manager sets its DHCPv4 keys before it configures the interface; standalone
    /// listeners woken by `dhcp_state` expect the address to be there already.
    pub fn before_configuring(self) -> bool {
        self == Self::RdkWanManager
    }

    /// The keys of `all` this profile sets, in the order they must go out. Standalone: every
    /// key, `…_dhcp_state` and `mapt_config_flag` last, so that a listener woken by them finds
    /// every other value set. RDK: the C manager's keys in its order.
    pub fn select(self, all: SysEvents) -> Vec<(String, String)> {
        match self {
            Self::Standalone => {
                let mut out: Vec<(String, String)> = all.into_iter().collect();
                out.sort_by_key(|(k, _)| k.ends_with("_dhcp_state") || k == "mapt_config_flag");
                out
            }
            Self::RdkWanManager => {
                let rank = |key: &str| {
                    let v4 = key.strip_prefix("ipv4_").and_then(|rest| {
                        RDK_V4.iter().position(|s| rest.ends_with(&format!("_{s}")))
                    });
                    let v6 = key.strip_prefix("tr_").and_then(|rest| {
                        RDK_V6
                            .iter()
                            .position(|s| rest.ends_with(&format!("_dhcpv6_client_{s}")))
                    });
                    v4.or(v6)
                };
                let mut out: Vec<(usize, String, String)> = all
                    .into_iter()
                    .filter_map(|(k, v)| Some((rank(&k)?, k, v)))
                    .collect();
                out.sort_by_key(|(rank, ..)| *rank);
                out.into_iter().map(|(_, k, v)| (k, v)).collect()
            }
        }
    }
}

/// Hands each client's wanted values to the runner task.
#[derive(Debug, Clone)]
pub struct SysEventSender {
    tx: Option<mpsc::UnboundedSender<Desire>>,
    profile: Profile,
}

impl SysEventSender {
    /// Starts the runner task on the current runtime with the ledger persisted in `store`;
    /// `command` `None` disables system events.
    pub fn start(
        command: Option<PathBuf>,
        profile: Profile,
        store: StateStore,
        updates: UpdateSender,
    ) -> Self {
        let Some(command) = command else {
            return Self { tx: None, profile };
        };
        let ledger = Ledger::load(&store, &crate::boottime::boot_id());
        let (tx, rx) = mpsc::unbounded_channel();
        let runner = Runner {
            command,
            store,
            ledger,
            updates,
            behind: None,
        };
        tokio::spawn(runner.run(rx));
        Self {
            tx: Some(tx),
            profile,
        }
    }

    /// Which keys this emitter sets ([`Profile`]).
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// `owner` (a client's state name; `object_path` its TR-181 object) now wants `all` set:
    /// the profile's keys of it go out in the profile's order, and keys it no longer wants are
    /// cleared. Never blocks the caller.
    pub fn desire(&self, owner: &str, object_path: &str, all: SysEvents) {
        let Some(tx) = &self.tx else { return };
        let desire = Desire {
            owner: owner.to_owned(),
            object_path: object_path.to_owned(),
            values: self.profile.select(all),
        };
        if tx.send(desire).is_err() {
            tracing::warn!("system event runner has stopped; events dropped");
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

    /// 2001:db8:12:3400::/56, obtained at 1 s.
    fn held_prefix() -> crate::model::HeldPrefix {
        crate::model::HeldPrefix {
            lease: dhcpmgr_ipc::V6Prefix {
                prefix: "2001:db8:12:3400::".parse().unwrap(),
                length: 56,
                preferred: 3000,
                valid: 4000,
            },
            obtained: crate::boottime::BootSeconds(1),
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

    /// What the runner would set for `next` after everything before was confirmed.
    fn settle(ledger: &mut Ledger, profile: Profile, next: SysEvents) -> Vec<(String, String)> {
        ledger.desire("v4-e", "Device.DHCPv4.Client.1", profile.select(next));
        let out: Vec<(String, String)> = ledger
            .pending()
            .iter()
            .map(|p| (p.key.to_string(), p.value.to_string()))
            .collect();
        for (k, v) in &out {
            ledger.confirm(k, v);
        }
        out
    }

    #[test]
    fn only_changes_go_out_and_vanished_keys_are_emptied() {
        let mut last = Ledger::default();
        let standalone = Profile::Standalone;
        let first = settle(&mut last, standalone, v4_sysevents("e", Some(&lease()), 1));
        assert_eq!(first.len(), 10);
        assert_eq!(
            first.last().map(|(k, _)| k.as_str()),
            Some("ipv4_e_dhcp_state")
        );
        assert!(settle(&mut last, standalone, v4_sysevents("e", Some(&lease()), 1)).is_empty());
        let renewed = settle(&mut last, standalone, v4_sysevents("e", Some(&lease()), 2));
        assert_eq!(renewed, vec![("ipv4_e_start_time".into(), "2".into())]);
        let gone = settle(&mut last, standalone, v4_sysevents("e", None, 2));
        assert!(gone.contains(&("ipv4_e_ipaddr".into(), String::new())));
        assert_eq!(
            gone.last(),
            Some(&("ipv4_e_dhcp_state".into(), "deconfig".into()))
        );
    }

    #[test]
    fn rdk_wanmanager_profile_sets_only_the_c_managers_v4_keys_in_its_order() {
        let mut ledger = Ledger::default();
        let rdk = Profile::RdkWanManager;
        let keys = |set: Vec<(String, String)>| set.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(settle(
                &mut ledger,
                rdk,
                v4_sysevents("erouter0", Some(&lease()), 5)
            )),
            [
                "ipv4_erouter0_dhcp_server",
                "ipv4_erouter0_lease_time",
                "ipv4_erouter0_dhcp_state",
                "ipv4_erouter0_start_time"
            ]
        );
        let gone = settle(&mut ledger, rdk, v4_sysevents("erouter0", None, 5));
        assert_eq!(
            gone,
            [
                ("ipv4_erouter0_dhcp_server".to_string(), String::new()),
                ("ipv4_erouter0_lease_time".to_string(), String::new()),
                ("ipv4_erouter0_start_time".to_string(), String::new()),
                (
                    "ipv4_erouter0_dhcp_state".to_string(),
                    "deconfig".to_string()
                ),
            ]
        );
        assert!(rdk.before_configuring() && !Profile::Standalone.before_configuring());
        assert_eq!(Profile::parse("rdk-wanmanager"), Some(rdk));
        assert_eq!(Profile::parse("standalone"), Some(Profile::Standalone));
        assert_eq!(Profile::parse("rdk"), None);
    }

    #[test]
    fn v6_lease_maps_to_design_keys() {
        use crate::boottime::BootSeconds;
        use crate::model::HeldAddress;
        let held = HeldV6 {
            addresses: vec![HeldAddress {
                lease: dhcpmgr_ipc::V6Address {
                    address: "2001:db8:1::100".parse().unwrap(),
                    preferred: 3000,
                    valid: 4000,
                },
                obtained: BootSeconds(1),
            }],
            prefixes: vec![held_prefix()],
            options: BTreeMap::from([(23, "2001:db8:1::53 2001:db8:1::54".to_string())]),
            ia_na: None,
            ia_pd: None,
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

        // RDK's profile: the twelve keys the C manager sets, the IA_PD's first; the server's
        // IAIDs and timers (RDK's dibbler) win over what was asked for.
        let rdk_held = HeldV6 {
            ia_na: Some(dhcpmgr_ipc::IaParams {
                iaid: Some(9),
                t1: Some(1500),
                t2: Some(2400),
            }),
            ia_pd: Some(dhcpmgr_ipc::IaParams {
                iaid: Some(10),
                t1: Some(1600),
                t2: Some(2500),
            }),
            ..held
        };
        let selected = Profile::RdkWanManager.select(v6_sysevents("erouter0", &rdk_held, &asked));
        let suffixes: Vec<&str> = selected
            .iter()
            .map(|(k, _)| k.strip_prefix("tr_erouter0_dhcpv6_client_").unwrap())
            .collect();
        assert_eq!(suffixes, RDK_V6);
        let value = |suffix: &str| {
            selected
                .iter()
                .find(|(k, _)| k.ends_with(&format!("_{suffix}")))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("addr_iaid"), Some("9"));
        assert_eq!(value("pref_t2"), Some("2500"));
        assert_eq!(value("addr_t1"), Some("1500"));
        let standalone = Profile::Standalone.select(v6_sysevents("erouter0", &rdk_held, &asked));
        assert!(standalone.iter().any(|(k, _)| k == "wan6_ns"));
    }

    #[test]
    fn wan6_ns_carries_only_usable_servers_and_at_most_eight() {
        let mut servers = vec![
            "ff02::1".to_string(),
            "::1".into(),
            "fe80::1".into(),
            "junk".into(),
        ];
        servers.extend((1..=20).map(|i| format!("2001:db8::{i}")));
        let held = HeldV6 {
            prefixes: vec![held_prefix()],
            options: BTreeMap::from([(23, servers.join(" "))]),
            ..HeldV6::default()
        };
        let asked = V6Asked {
            ia_na_iaid: 1,
            ia_pd_iaid: 1,
            t1: None,
            t2: None,
        };
        let ns = v6_sysevents("e", &held, &asked).remove("wan6_ns").unwrap();
        let want: Vec<String> = (1..=8).map(|i| format!("2001:db8::{i}")).collect();
        assert_eq!(ns, want.join(" "));
    }

    #[test]
    fn netmask_of_edge_prefixes() {
        assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask(8), Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(netmask(30), Ipv4Addr::new(255, 255, 255, 252));
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
