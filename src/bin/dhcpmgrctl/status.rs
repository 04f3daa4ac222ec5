//! `dhcpmgrctl status`: DHCPv4 client rows built from the values under
//! `Device.DHCPv4.Client.` (DHCPv6 rows: [`super::v6_status`]), shown as tables or as JSON; the
//! table layout and time formats both families share; and resolving a CLIENT argument.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use serde::Serialize;

/// The table whose rows `status` shows.
pub const CLIENT_TABLE: &str = "Device.DHCPv4.Client.";

/// One DHCPv4 client as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRow {
    /// TR-181 path: `Device.DHCPv4.Client.1`.
    pub client: String,
    pub alias: String,
    /// Linux interface name.
    pub interface: String,
    pub status: String,
    /// What the enabled client waits for ("waiting for erouter0"), empty when it does not.
    pub waiting: String,
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

/// One client of either family, as `status --json` lists it (`"family": "DHCPv4"` or
/// `"DHCPv6"` beside the row's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family")]
pub enum StatusRow {
    #[serde(rename = "DHCPv4")]
    V4(ClientRow),
    #[serde(rename = "DHCPv6")]
    V6(super::v6_status::V6ClientRow),
}

/// The parameters of each row of `table` (a partial path such as `Device.DHCPv4.Client.`) by
/// instance number, named relative to the row (`Alias`, `X_DHCPMGR_Status.Waiting`).
pub(super) fn params_by_instance<'a>(
    table: &str,
    values: &'a [(String, String, String)],
) -> BTreeMap<u32, Params<'a>> {
    let mut clients: BTreeMap<u32, Params<'a>> = BTreeMap::new();
    for (name, _, value) in values {
        let Some((instance, param)) = name
            .strip_prefix(table)
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        if let Ok(instance) = instance.parse() {
            clients.entry(instance).or_default().0.insert(param, value);
        }
    }
    clients
}

/// One row's parameters, named relative to the row.
#[derive(Debug, Default)]
pub(super) struct Params<'a>(HashMap<&'a str, &'a str>);

impl Params<'_> {
    /// The value of `name`, empty when absent.
    pub(super) fn get(&self, name: &str) -> String {
        self.0.get(name).copied().unwrap_or_default().to_string()
    }

    /// A comma-separated list value, empty items left out.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A number of seconds, 0 when absent or unreadable.
    pub(super) fn seconds(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }
}

/// Rows from `GetParameterValues("Device.DHCPv4.Client.")`, by instance number.
pub fn rows(values: &[(String, String, String)]) -> Vec<ClientRow> {
    params_by_instance(CLIENT_TABLE, values)
        .into_iter()
        .map(|(instance, params)| {
            let get = |name: &str| params.get(name);
            let list = |name: &str| params.list(name);
            ClientRow {
                client: format!("{CLIENT_TABLE}{instance}"),
                alias: get("Alias"),
                interface: get("X_RDK_LinuxInterface"),
                status: get("Status"),
                waiting: get("X_DHCPMGR_Status.Waiting"),
                dhcp_status: get("DHCPStatus"),
                address: get("IPAddress"),
                prefix_len: get("SubnetMask").parse().ok().and_then(prefix_len),
                routers: list("IPRouters"),
                dns_servers: list("DNSServers"),
                lease_time_remaining: params.seconds("LeaseTimeRemaining"),
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
    let lines = rows.iter().map(|row| {
        let address = match row.prefix_len {
            Some(len) if !row.address.is_empty() => format!("{}/{len}", row.address),
            _ => dash(&row.address),
        };
        let lease_left = if row.address.is_empty() {
            "-".to_string()
        } else {
            seconds_text(row.lease_time_remaining)
        };
        vec![
            row.client.clone(),
            dash(&row.alias),
            dash(&row.interface),
            status_text(&row.status, &row.waiting),
            dash(&row.dhcp_status),
            address,
            dash(&row.routers.join(",")),
            dash(&row.dns_servers.join(",")),
            lease_left,
            dash(&row.server),
        ]
    });
    aligned(&HEADER, lines)
}

/// A cell: `-` for an empty value.
pub(super) fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}

/// The STATUS cell: the TR-181 `Status`, and what the client waits for, if it waits.
pub(super) fn status_text(status: &str, waiting: &str) -> String {
    match waiting {
        "" => dash(status),
        waiting => format!("{} ({waiting})", dash(status)),
    }
}

/// `header` and `lines` as columns padded to their widest cell, two spaces apart.
pub(super) fn aligned(header: &[&str], lines: impl Iterator<Item = Vec<String>>) -> String {
    let mut lines: Vec<Vec<String>> =
        std::iter::once(header.iter().map(|h| h.to_string()).collect())
            .chain(lines)
            .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|col| {
            lines
                .iter()
                .filter_map(|l| l.get(col))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &mut lines {
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

/// Seconds for people: `infinite` for -1, `1h02m03s`, `1d01h01m`.
pub(super) fn seconds_text(secs: i64) -> String {
    match secs {
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
pub(super) mod tests {
    use super::*;

    /// `(name, type, value)` triples of row `instance` of `table`, as GetParameterValues gives.
    pub(crate) fn row_values(
        table: &str,
        instance: u32,
        pairs: &[(&str, &str)],
    ) -> Vec<(String, String, String)> {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    format!("{table}{instance}.{n}"),
                    "string".into(),
                    v.to_string(),
                )
            })
            .collect()
    }

    fn values(instance: u32, pairs: &[(&str, &str)]) -> Vec<(String, String, String)> {
        row_values(CLIENT_TABLE, instance, pairs)
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
    fn a_waiting_client_says_what_it_waits_for() {
        let mut all = values(
            1,
            &[
                ("Alias", "wan"),
                ("Status", "Enabled"),
                ("X_DHCPMGR_Status.Waiting", "waiting for erouter0"),
            ],
        );
        all.extend(values(2, &[("Alias", "lan"), ("Status", "Enabled")]));
        let rows = rows(&all);
        assert_eq!(rows[0].waiting, "waiting for erouter0");
        assert_eq!(rows[1].waiting, "");
        let text = table(&rows);
        assert!(text.contains("Enabled (waiting for erouter0)"), "{text}");
        let json = serde_json::to_value(StatusRow::V4(rows[0].clone())).expect("JSON");
        assert_eq!(json["family"], "DHCPv4");
        assert_eq!(json["waiting"], "waiting for erouter0");
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
        for (secs, text) in [
            (-1, "infinite"),
            (59, "59s"),
            (61, "1m01s"),
            (90_061, "1d01h01m"),
        ] {
            assert_eq!(seconds_text(secs), text);
        }
        assert_eq!(prefix_len(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(prefix_len(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(prefix_len(Ipv4Addr::new(255, 0, 255, 0)), None);
    }
}
