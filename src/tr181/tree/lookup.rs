//! Where the tree's rows and values come from: which instance numbers each table has under a
//! given parent row, and the value of each parameter of a concrete object, looked up in the
//! client snapshots. Parameters this returns nothing for are rendered from the definition's
//! `dhcpmgr:fixed` value (see `Tree::render`); and which objects a request reaches
//! ([`Scope`]). Pure.

use super::map::{domain_value, rcv_option_value, rule_value};
use super::values::{
    req_option_value, sent_option_value, server_row, server_value, v4_client_value,
    v4_status_value, v6_client_value, v6_sent_option_value, v6_status_value,
};
use super::write::{V4_CLIENT, V4_REQ_OPTION, V4_SENT_OPTION, V6_CLIENT, V6_SENT_OPTION};
use super::Tree;
use crate::boottime::BootSeconds;
use crate::model::Instance;
use crate::tr181::definition::ObjectDef;

const DHCPV4: &str = "Device.DHCPv4.";
const DHCPV6: &str = "Device.DHCPv6.";
const V4_STATS: &str = "Device.DHCPv4.Client.{i}.Stats.";
const V6_STATS: &str = "Device.DHCPv6.Client.{i}.Stats.";
const V4_STATUS: &str = "Device.DHCPv4.Client.{i}.X_DHCPMGR_Status.";
const V6_STATUS: &str = "Device.DHCPv6.Client.{i}.X_DHCPMGR_Status.";
const V6_SERVER: &str = "Device.DHCPv6.Client.{i}.Server.{i}.";
const V6_RECEIVED_OPTION: &str = "Device.DHCPv6.Client.{i}.ReceivedOption.{i}.";
const V6_RCV_OPTION: &str = "Device.DHCPv6.Client.{i}.X_RDKCENTRAL-COM_RcvOption.";
const MAP: &str = "Device.MAP.";
const MAP_DOMAIN: &str = "Device.MAP.Domain.{i}.";
const MAP_RULE: &str = "Device.MAP.Domain.{i}.Rule.{i}.";

impl Tree {
    /// Instance numbers of the rows of `table` (a definition path) under the parent rows
    /// `parent`. A MAP domain has the instance number of the DHCPv6 client it came from.
    pub(super) fn rows(&self, table: &str, parent: &[u32]) -> Vec<u32> {
        fn numbers<T>(rows: &[crate::config::Row<T>]) -> Vec<u32> {
            rows.iter().map(|r| r.instance).collect()
        }
        let v4 = |c: &u32| self.v4_clients.get(&Instance(*c));
        let v6 = |c: &u32| self.v6_clients.get(&Instance(*c));
        match (table, parent) {
            (V4_CLIENT, []) => self.v4_clients.keys().map(|i| i.0).collect(),
            (V6_CLIENT, []) => self.v6_clients.keys().map(|i| i.0).collect(),
            (V4_SENT_OPTION, [c]) => {
                v4(c).map_or_else(Vec::new, |c| numbers(c.settings.sent_options.rows()))
            }
            (V4_REQ_OPTION, [c]) => {
                v4(c).map_or_else(Vec::new, |c| numbers(c.settings.request_options.rows()))
            }
            (V6_SENT_OPTION, [c]) => {
                v6(c).map_or_else(Vec::new, |c| numbers(c.settings.sent_options.rows()))
            }
            (V6_SERVER, [c]) => v6(c)
                .filter(|c| server_row(&c.received_options))
                .map_or_else(Vec::new, |_| vec![1]),
            (V6_RECEIVED_OPTION, [c]) => {
                self.v6_received
                    .get(&Instance(*c))
                    .map_or_else(Vec::new, |options| {
                        (1..=options.len())
                            .filter_map(|n| u32::try_from(n).ok())
                            .collect()
                    })
            }
            (MAP_DOMAIN, []) => self.map_domains().collect(),
            (MAP_RULE, [d]) => v6(d)
                .filter(|c| c.map.is_some())
                .map_or_else(Vec::new, |_| vec![1]),
            _ => Vec::new(),
        }
    }

    /// Instance numbers of the DHCPv6 clients with a MAP configuration: the MAP domains.
    fn map_domains(&self) -> impl Iterator<Item = u32> + '_ {
        self.v6_clients
            .values()
            .filter(|c| c.map.is_some())
            .map(|c| c.instance.0)
    }

    /// The value of `param` of the object `object` with instance numbers `instances`; `None`
    /// when the snapshots do not give it.
    pub(super) fn value(
        &self,
        object: &ObjectDef,
        instances: &[u32],
        param: &str,
        now: BootSeconds,
    ) -> Option<String> {
        let v6 = |c: &u32| self.v6_clients.get(&Instance(*c));
        match (object.path.as_str(), instances, param) {
            (DHCPV4, [], "ClientNumberOfEntries") => Some(self.v4_clients.len().to_string()),
            (V4_CLIENT, [i], _) => v4_client_value(self.v4_clients.get(&Instance(*i))?, param, now),
            (DHCPV6, [], "ClientNumberOfEntries") => Some(self.v6_clients.len().to_string()),
            (V6_CLIENT, [i], _) => v6_client_value(v6(i)?, param),
            (V4_SENT_OPTION, [c, row], _) => {
                let client = self.v4_clients.get(&Instance(*c))?;
                sent_option_value(client.settings.sent_options.row(*row)?, param)
            }
            (V4_REQ_OPTION, [c, row], _) => {
                let client = self.v4_clients.get(&Instance(*c))?;
                let row = client.settings.request_options.row(*row)?;
                req_option_value(row, client.lease.as_ref(), param)
            }
            (V6_SENT_OPTION, [c, row], _) => {
                v6_sent_option_value(v6(c)?.settings.sent_options.row(*row)?, param)
            }
            (V4_STATS, [c], counter) => {
                let client = self.v4_clients.get(&Instance(*c))?;
                Some(client.stats.get(counter).copied().unwrap_or(0).to_string())
            }
            (V4_STATUS, [c], _) => v4_status_value(self.v4_clients.get(&Instance(*c))?, param),
            (V6_STATUS, [c], _) => v6_status_value(v6(c)?, param, now),
            (V6_STATS, [c], counter) => {
                Some(v6(c)?.stats.get(counter).copied().unwrap_or(0).to_string())
            }
            (V6_SERVER, [c, 1], _) => server_value(&v6(c)?.received_options, param),
            (V6_RECEIVED_OPTION, [c, row], _) => {
                let client = v6(c)?;
                let options = self.v6_received.get(&Instance(*c))?;
                let index = usize::try_from(*row).ok()?.checked_sub(1)?;
                let (tag, hex) = options.get(index)?;
                Some(match param {
                    "Tag" => tag.to_string(),
                    "Value" => hex.clone(),
                    // Every option of the reply came from the server of its OPTION_SERVERID.
                    "Server" if server_row(&client.received_options) => {
                        format!("Device.DHCPv6.Client.{c}.Server.1")
                    }
                    "Server" => String::new(),
                    _ => return None,
                })
            }
            (V6_RCV_OPTION, [c], _) => rcv_option_value(v6(c)?.map.as_ref(), param),
            (MAP, [], "Enable") => Some(self.map_domains().next().is_some().to_string()),
            (MAP, [], "DomainNumberOfEntries") => Some(self.map_domains().count().to_string()),
            (MAP_DOMAIN, [d], _) => {
                let client = v6(d)?;
                let alias = client.settings.tr181_alias().to_string();
                domain_value(&alias, client.map.as_ref()?, param)
            }
            (MAP_RULE, [d, 1], _) => rule_value(v6(d)?.map.as_ref()?, param),
            _ => None,
        }
    }
}

/// Which part of the tree a request needs rendered.
pub(super) enum Scope<'a> {
    Everything,
    /// Objects at or below these paths (full parameter names or partial paths ending in `.`),
    /// and the objects on the way to them.
    Paths(&'a [String]),
}

impl Scope<'_> {
    /// Whether the object at `object_path` (ending in `.`) is needed.
    pub(super) fn reaches(&self, object_path: &str) -> bool {
        match self {
            Self::Everything => true,
            Self::Paths(paths) => paths
                .iter()
                .any(|p| object_path.starts_with(p.as_str()) || p.starts_with(object_path)),
        }
    }
}
