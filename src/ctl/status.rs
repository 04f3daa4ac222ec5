//! `dhcpmgrctl status`: DHCPv4 client rows built from the values under
//! `Device.DHCPv4.Client.`, shown as a table or as JSON; and resolving a CLIENT argument.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use serde::Serialize;

/// The table whose rows `status` shows.
pub const CLIENT_TABLE: &str = "Device.DHCPv4.Client.";
/// The DHCPv6 client table, searched too when resolving an alias.
pub const V6_CLIENT_TABLE: &str = "Device.DHCPv6.Client.";

/// One DHCPv4 client as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRow {
    /// TR-181 path: `Device.DHCPv4.Client.1`.
    pub client: String,
    pub alias: String,
    /// Linux interface name.
    pub interface: String,
    pub status: String,
    pub dhcp_status: String,
    /// Leased address, empty without a lease.
    pub address: String,
    pub prefix_len: Option<u32>,
    pub routers: Vec<String>,
    pub dns_servers: Vec<String>,
    /// Seconds; -1 for an infinite lease, 0 without one.
    pub lease_time_remaining: i64,
    /// DHCP server's address.
    pub server: String,
}

/// Rows from `GetParameterValues("Device.DHCPv4.Client.")`, by instance number.
pub fn rows(values: &[(String, String, String)]) -> Vec<ClientRow> {
    let mut clients: BTreeMap<u32, HashMap<&str, &str>> = BTreeMap::new();
    for (name, _, value) in values {
        let Some((instance, param)) = name
            .strip_prefix(CLIENT_TABLE)
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        if let Ok(instance) = instance.parse() {
            clients.entry(instance).or_default().insert(param, value);
        }
    }
    clients
        .into_iter()
        .map(|(instance, params)| {
            let get = |name: &str| params.get(name).copied().unwrap_or_default().to_string();
            let list = |name: &str| {
                params
                    .get(name)
                    .map(|v| {
                        v.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            ClientRow {
                client: format!("{CLIENT_TABLE}{instance}"),
                alias: get("Alias"),
                interface: get("X_RDK_LinuxInterface"),
                status: get("Status"),
                dhcp_status: get("DHCPStatus"),
                address: get("IPAddress"),
                prefix_len: get("SubnetMask").parse().ok().and_then(prefix_len),
                routers: list("IPRouters"),
                dns_servers: list("DNSServers"),
                lease_time_remaining: get("LeaseTimeRemaining").parse().unwrap_or(0),
                server: get("DHCPServer"),
            }
        })
        .collect()
}

/// The object paths of the clients whose `Alias` is `alias`, from `(name, type, value)`
/// triples. A DHCPv4 and a DHCPv6 client may share an alias (RDK configurations do): then
/// there are two, and the caller must not pick one.
pub fn resolve_alias(alias: &str, values: &[(String, String, String)]) -> Vec<String> {
    values
        .iter()
        .filter(|(name, _, value)| value == alias && name.ends_with(".Alias"))
        .filter_map(|(name, ..)| name.strip_suffix(".Alias"))
        .map(str::to_string)
        .collect()
}

/// The rows as an aligned table with a header line.
pub fn table(rows: &[ClientRow]) -> String {
    const HEADER: [&str; 10] = [
        "CLIENT",
        "ALIAS",
        "INTERFACE",
        "STATUS",
        "DHCP",
        "ADDRESS",
        "ROUTERS",
        "DNS",
        "LEASE LEFT",
        "SERVER",
    ];
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let mut lines: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let address = match row.prefix_len {
            Some(len) if !row.address.is_empty() => format!("{}/{len}", row.address),
            _ => dash(&row.address),
        };
        lines.push(vec![
            row.client.clone(),
            dash(&row.alias),
            dash(&row.interface),
            dash(&row.status),
            dash(&row.dhcp_status),
            address,
            dash(&row.routers.join(",")),
            dash(&row.dns_servers.join(",")),
            lease_left(row),
            dash(&row.server),
        ]);
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|col| {
            lines
                .iter()
                .map(|l| l[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Lease time left for people: `-` without a lease, `infinite`, `1h02m03s`.
fn lease_left(row: &ClientRow) -> String {
    let secs = row.lease_time_remaining;
    match secs {
        _ if row.address.is_empty() => "-".into(),
        -1 => "infinite".into(),
        s if s >= 86_400 => format!(
            "{}d{:02}h{:02}m",
            s / 86_400,
            s % 86_400 / 3600,
            s % 3600 / 60
        ),
        s if s >= 3600 => format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Prefix length of a contiguous netmask.
fn prefix_len(mask: Ipv4Addr) -> Option<u32> {
    let bits = u32::from(mask);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(bits.leading_ones())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(instance: u32, pairs: &[(&str, &str)]) -> Vec<(String, String, String)> {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    format!("{CLIENT_TABLE}{instance}.{n}"),
                    "string".into(),
                    v.to_string(),
                )
            })
            .collect()
    }

    fn sample() -> Vec<ClientRow> {
        let mut all = values(
            2,
            &[
                ("Alias", "backup"),
                ("X_RDK_LinuxInterface", "wan1"),
                ("Status", "Disabled"),
                ("DHCPStatus", "Init"),
                ("IPAddress", ""),
                ("SubnetMask", ""),
                ("IPRouters", ""),
                ("DNSServers", ""),
                ("LeaseTimeRemaining", "0"),
                ("DHCPServer", ""),
            ],
        );
        all.extend(values(
            1,
            &[
                ("Alias", "wan"),
                ("X_RDK_LinuxInterface", "erouter0"),
                ("Status", "Enabled"),
                ("DHCPStatus", "Bound"),
                ("IPAddress", "192.0.2.10"),
                ("SubnetMask", "255.255.255.0"),
                ("IPRouters", "192.0.2.1"),
                ("DNSServers", "198.51.100.53,198.51.100.54"),
                ("LeaseTimeRemaining", "3723"),
                ("DHCPServer", "192.0.2.254"),
            ],
        ));
        all.push((
            "Device.DHCPv4.ClientNumberOfEntries".into(),
            "unsignedInt".into(),
            "2".into(),
        ));
        rows(&all)
    }

    #[test]
    fn rows_are_grouped_by_instance() {
        let rows = sample();
        assert_eq!(rows.len(), 2);
        let wan = &rows[0];
        assert_eq!(wan.client, "Device.DHCPv4.Client.1");
        assert_eq!(
            (wan.address.as_str(), wan.prefix_len),
            ("192.0.2.10", Some(24))
        );
        assert_eq!(wan.dns_servers, ["198.51.100.53", "198.51.100.54"]);
        assert_eq!(wan.lease_time_remaining, 3723);
        assert_eq!((rows[1].prefix_len, rows[1].routers.len()), (None, 0));
    }

    #[test]
    fn table_is_aligned() {
        let text = table(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("CLIENT                  ALIAS   INTERFACE  STATUS"));
        assert!(
            lines[1].contains("192.0.2.10/24  192.0.2.1"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("1h02m03s"), "{}", lines[1]);
        assert!(
            lines[2].ends_with(
                "Init   -              -          -                            -           -"
            ),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn aliases_resolve_in_either_table() {
        let value =
            |name: &str, value: &str| (name.to_string(), "string".to_string(), value.to_string());
        let values = [
            value("Device.DHCPv4.Client.2.Alias", "backup"),
            value("Device.DHCPv4.Client.2.X_RDK_LinuxInterface", "wan6"),
            value("Device.DHCPv6.Client.1.Alias", "wan6"),
        ];
        assert_eq!(resolve_alias("backup", &values), ["Device.DHCPv4.Client.2"]);
        assert_eq!(resolve_alias("wan6", &values), ["Device.DHCPv6.Client.1"]);
        assert!(resolve_alias("lan", &values).is_empty());
    }

    #[test]
    fn an_alias_both_families_use_resolves_to_both() {
        let value =
            |name: &str, value: &str| (name.to_string(), "string".to_string(), value.to_string());
        let values = [
            value("Device.DHCPv4.Client.1.Alias", "wan"),
            value("Device.DHCPv6.Client.1.Alias", "wan"),
        ];
        assert_eq!(
            resolve_alias("wan", &values),
            ["Device.DHCPv4.Client.1", "Device.DHCPv6.Client.1"]
        );
    }

    #[test]
    fn lease_and_prefix_formats() {
        let row = |secs| ClientRow {
            lease_time_remaining: secs,
            ..sample()[0].clone()
        };
        for (secs, text) in [
            (-1, "infinite"),
            (59, "59s"),
            (61, "1m01s"),
            (90_061, "1d01h01m"),
        ] {
            assert_eq!(lease_left(&row(secs)), text);
        }
        assert_eq!(prefix_len(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(prefix_len(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(prefix_len(Ipv4Addr::new(255, 0, 255, 0)), None);
    }
}
