//! `dhcpmgrctl status` for DHCPv6 clients: rows built from the values under
//! `Device.DHCPv6.Client.` (the lease in `X_DHCPMGR_Status.`, MAP in
//! `X_RDKCENTRAL-COM_RcvOption.`), and their table.

use serde::Serialize;

use super::status::{aligned, dash, params_by_instance, seconds_text, status_text, Params};

/// The DHCPv6 client table.
pub const V6_CLIENT_TABLE: &str = "Device.DHCPv6.Client.";

/// One DHCPv6 client as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V6ClientRow {
    /// TR-181 path: `Device.DHCPv6.Client.1`.
    pub client: String,
    pub alias: String,
    /// Linux interface name.
    pub interface: String,
    pub status: String,
    /// What the enabled client waits for ("waiting for link-local address on erouter0"),
    /// empty when it does not.
    pub waiting: String,
    /// The IA_NA address, empty without one.
    pub address: String,
    pub address_lifetimes: Lifetimes,
    /// The delegated prefix (`prefix/length`), empty without one.
    pub prefix: String,
    pub prefix_lifetimes: Lifetimes,
    pub dns_servers: Vec<String>,
    /// The MAP configuration the server sent, when it is valid.
    pub map: Option<MapSummary>,
}

/// Seconds left of a binding's lifetimes: -1 when infinite, 0 without the binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lifetimes {
    pub preferred: i64,
    pub valid: i64,
}

/// What `status` shows of a MAP configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapSummary {
    /// `MAPT` or `MAPE`.
    pub mode: String,
    pub ipv4_address: String,
    pub psid: u32,
}

/// Rows from `GetParameterValues("Device.DHCPv6.Client.")`, by instance number.
pub fn rows(values: &[(String, String, String)]) -> Vec<V6ClientRow> {
    params_by_instance(V6_CLIENT_TABLE, values)
        .into_iter()
        .map(|(instance, params)| {
            let status = |name: &str| params.get(&format!("X_DHCPMGR_Status.{name}"));
            let lifetimes = |what: &str| Lifetimes {
                preferred: params
                    .seconds(&format!("X_DHCPMGR_Status.{what}PreferredTimeRemaining")),
                valid: params.seconds(&format!("X_DHCPMGR_Status.{what}ValidTimeRemaining")),
            };
            V6ClientRow {
                client: format!("{V6_CLIENT_TABLE}{instance}"),
                alias: params.get("Alias"),
                interface: params.get("X_RDK_LinuxInterface"),
                status: params.get("Status"),
                waiting: status("Waiting"),
                address: status("IANAAddress"),
                address_lifetimes: lifetimes("IANA"),
                prefix: status("IAPDPrefix"),
                prefix_lifetimes: lifetimes("IAPD"),
                dns_servers: params.list("X_DHCPMGR_Status.DNSServers"),
                map: map_summary(&params),
            }
        })
        .collect()
}

fn map_summary(params: &Params<'_>) -> Option<MapSummary> {
    let rcv = |name: &str| params.get(&format!("X_RDKCENTRAL-COM_RcvOption.{name}"));
    let mode = rcv("MapTransportMode");
    (!mode.is_empty()).then(|| MapSummary {
        mode,
        ipv4_address: rcv("MapIpv4Address"),
        psid: rcv("MapPSID").parse().unwrap_or(0),
    })
}

/// The rows as an aligned table with a header line.
pub fn table(rows: &[V6ClientRow]) -> String {
    const HEADER: [&str; 9] = [
        "CLIENT",
        "ALIAS",
        "INTERFACE",
        "STATUS",
        "ADDRESS",
        "PREF/VALID LEFT",
        "PREFIX",
        "PREF/VALID LEFT",
        "DNS",
    ];
    const MAP_HEADER: &str = "MAP";
    let with_map = rows.iter().any(|r| r.map.is_some());
    let header: Vec<&str> = HEADER
        .iter()
        .copied()
        .chain(with_map.then_some(MAP_HEADER))
        .collect();
    let lines = rows.iter().map(|row| {
        let mut cells = vec![
            row.client.clone(),
            dash(&row.alias),
            dash(&row.interface),
            status_text(&row.status, &row.waiting),
            dash(&row.address),
            lifetimes_text(&row.address, row.address_lifetimes),
            dash(&row.prefix),
            lifetimes_text(&row.prefix, row.prefix_lifetimes),
            dash(&row.dns_servers.join(",")),
        ];
        if with_map {
            cells.push(row.map.as_ref().map_or_else(
                || "-".to_string(),
                |m| format!("{} {} PSID {}", m.mode, m.ipv4_address, m.psid),
            ));
        }
        cells
    });
    aligned(&header, lines)
}

/// `50m00s/1h06m40s`, or `-` without the binding.
fn lifetimes_text(binding: &str, lifetimes: Lifetimes) -> String {
    if binding.is_empty() {
        return "-".to_string();
    }
    format!(
        "{}/{}",
        seconds_text(lifetimes.preferred),
        seconds_text(lifetimes.valid)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(instance: u32, pairs: &[(&str, &str)]) -> Vec<(String, String, String)> {
        crate::status::tests::row_values(V6_CLIENT_TABLE, instance, pairs)
    }

    fn sample() -> Vec<V6ClientRow> {
        let mut all = values(
            1,
            &[
                ("Alias", "wan6"),
                ("X_RDK_LinuxInterface", "erouter0"),
                ("Status", "Enabled"),
                ("X_DHCPMGR_Status.Waiting", ""),
                ("X_DHCPMGR_Status.IANAAddress", "2001:db8:1::100"),
                ("X_DHCPMGR_Status.IANAPreferredTimeRemaining", "3000"),
                ("X_DHCPMGR_Status.IANAValidTimeRemaining", "4000"),
                ("X_DHCPMGR_Status.IAPDPrefix", "2001:db8:12:3400::/56"),
                ("X_DHCPMGR_Status.IAPDPreferredTimeRemaining", "-1"),
                ("X_DHCPMGR_Status.IAPDValidTimeRemaining", "-1"),
                (
                    "X_DHCPMGR_Status.DNSServers",
                    "2001:db8:1::53,2001:db8:1::54",
                ),
                ("X_RDKCENTRAL-COM_RcvOption.MapTransportMode", "MAPT"),
                ("X_RDKCENTRAL-COM_RcvOption.MapIpv4Address", "192.0.2.18"),
                ("X_RDKCENTRAL-COM_RcvOption.MapPSID", "52"),
            ],
        );
        all.extend(values(
            2,
            &[
                ("Alias", "backup6"),
                ("X_RDK_LinuxInterface", "wan1"),
                ("Status", "Enabled"),
                ("X_DHCPMGR_Status.Waiting", "waiting for wan1"),
                ("X_DHCPMGR_Status.IANAAddress", ""),
                ("X_DHCPMGR_Status.IANAValidTimeRemaining", "0"),
                ("X_RDKCENTRAL-COM_RcvOption.MapTransportMode", ""),
                ("X_RDKCENTRAL-COM_RcvOption.MapPSID", "0"),
            ],
        ));
        all.push((
            "Device.DHCPv4.Client.1.Alias".into(),
            "string".into(),
            "wan".into(),
        ));
        rows(&all)
    }

    #[test]
    fn rows_carry_the_lease_map_and_wait() {
        let rows = sample();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let wan6 = &rows[0];
        assert_eq!(wan6.client, "Device.DHCPv6.Client.1");
        assert_eq!(wan6.address, "2001:db8:1::100");
        assert_eq!(
            wan6.address_lifetimes,
            Lifetimes {
                preferred: 3000,
                valid: 4000
            }
        );
        assert_eq!(wan6.prefix_lifetimes.valid, -1);
        assert_eq!(wan6.dns_servers, ["2001:db8:1::53", "2001:db8:1::54"]);
        assert_eq!(
            wan6.map,
            Some(MapSummary {
                mode: "MAPT".into(),
                ipv4_address: "192.0.2.18".into(),
                psid: 52
            })
        );
        assert_eq!(rows[1].map, None);
        assert_eq!(rows[1].waiting, "waiting for wan1");
    }

    #[test]
    fn table_shows_lifetimes_map_and_wait() {
        let text = table(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].ends_with("DNS                            MAP"),
            "{text}"
        );
        assert!(
            lines[1].contains(
                "2001:db8:1::100  50m00s/1h06m40s  2001:db8:12:3400::/56  infinite/infinite"
            ),
            "{text}"
        );
        assert!(lines[1].ends_with("MAPT 192.0.2.18 PSID 52"), "{text}");
        assert!(lines[2].contains("Enabled (waiting for wan1)  -"), "{text}");
        // Without MAP anywhere, no MAP column.
        let plain = table(&sample()[1..]);
        assert!(!plain.contains("MAP"), "{plain}");
    }
}
