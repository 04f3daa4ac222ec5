//! The MAP views of a DHCPv6 client's MAP configuration ([`MapConfig`], computed by the
//! controller from option 95/94 and the delegated prefix): RDK-B's
//! `Device.DHCPv6.Client.{i}.X_RDKCENTRAL-COM_RcvOption.` and the standard read-only
//! `Device.MAP.Domain.{i}.` with its one `Rule.{i}.`, the Basic Mapping Rule. Pure.

use crate::s46::{MapConfig, MapTransport};

/// The value of a `X_RDKCENTRAL-COM_RcvOption.` parameter: what the map system events carry
/// (docs/contracts.md#system-events), or empty, 0 and false without a valid MAP configuration.
pub(super) fn rcv_option_value(map: Option<&MapConfig>, param: &str) -> Option<String> {
    let key = match param {
        "MapTransportMode" => "map_transport_mode",
        "MapBRPrefix" => "map_br_ipv6_prefix",
        "MapRuleIPv4Prefix" => "map_rule_ip_address",
        "MapRuleIPv6Prefix" => "map_rule_ipv6_address",
        "MapEALen" => "map_ea_length",
        "MapPSIDOffset" => "mapt_psid_offset",
        "MapPSIDLen" => "mapt_psid_length",
        "MapPSID" => "mapt_psid_value",
        "MapIsFMR" => "map_is_fmr",
        "MapIpv4Address" => "mapt_ip_address",
        "MapRatio" => "mapt_ratio",
        _ => return None,
    };
    let Some(map) = map else {
        return Some(
            match param {
                "MapIsFMR" => "false",
                "MapEALen" | "MapPSIDOffset" | "MapPSIDLen" | "MapPSID" | "MapRatio" => "0",
                _ => "",
            }
            .to_string(),
        );
    };
    let value = crate::s46::sysevents(map).remove(key)?;
    // The system event says TRUE/FALSE; a TR-181 boolean is true/false.
    Some(match param {
        "MapIsFMR" => value.to_ascii_lowercase(),
        _ => value,
    })
}

/// The value of a `Device.MAP.Domain.{i}.` parameter for the MAP configuration of the DHCPv6
/// client with TR-181 Alias `client_alias`. `DSCPMarkPolicy` is the definition's fixed value.
pub(super) fn domain_value(client_alias: &str, map: &MapConfig, param: &str) -> Option<String> {
    Some(match param {
        "Enable" => "true".to_string(),
        "Status" => "Enabled".to_string(),
        "Alias" => format!("cpe-map-{client_alias}").chars().take(64).collect(),
        "TransportMode" => match map.transport {
            MapTransport::Translation { .. } => "Translation",
            MapTransport::Encapsulation { .. } => "Encapsulation",
        }
        .to_string(),
        // References to Device.IP.Interface, which this build does not model.
        "WANInterface" | "IPv6Prefix" => String::new(),
        "BRIPv6Prefix" => match &map.transport {
            MapTransport::Translation { dmr } => dmr.to_string(),
            MapTransport::Encapsulation { border_relays } => border_relays
                .first()
                .map(|br| format!("{br}/128"))
                .unwrap_or_default(),
        },
        "RuleNumberOfEntries" => "1".to_string(),
        _ => return port_value(map, param),
    })
}

/// The value of a `Device.MAP.Domain.{i}.Rule.{i}.` parameter: the BMR.
pub(super) fn rule_value(map: &MapConfig, param: &str) -> Option<String> {
    let bmr = &map.bmr;
    Some(match param {
        "Enable" => "true".to_string(),
        "Status" => "Enabled".to_string(),
        "Alias" => "cpe-bmr".to_string(),
        "Origin" => "DHCPv6".to_string(),
        "IPv6Prefix" => bmr.ipv6_prefix.to_string(),
        "IPv4Prefix" => bmr.ipv4_prefix.to_string(),
        "EABitsLength" => bmr.ea_len.to_string(),
        "IsFMR" => bmr.is_fmr().to_string(),
        _ => return port_value(map, param),
    })
}

/// The port-set parameters a Domain (obsoleted there) and its Rule share. `PSID` is in the
/// high-order `PSIDLength` bits, as S46_PORTPARAMS carries it and TR-181 reads it.
fn port_value(map: &MapConfig, param: &str) -> Option<String> {
    let k = u32::from(map.psid.bits());
    Some(match param {
        "PSIDOffset" => map.psid_offset.to_string(),
        "PSIDLength" => k.to_string(),
        "PSID" => match k {
            0 => 0,
            _ => u32::from(map.psid.value()) << (16 - k),
        }
        .to_string(),
        "IncludeSystemPorts" => map
            .port_ranges
            .first()
            .is_some_and(|r| r.first < 1024)
            .to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tr181::tree::tests::example_map;

    #[test]
    fn map_views_of_the_rfc_example() {
        let map = example_map();
        let rcv = |p| rcv_option_value(Some(&map), p).unwrap();
        assert_eq!(rcv("MapTransportMode"), "MAPT");
        assert_eq!(rcv("MapIpv4Address"), "192.0.2.18");
        assert_eq!(rcv("MapPSID"), "52");
        assert_eq!(rcv("MapIsFMR"), "true");
        assert_eq!(rcv("MapRatio"), "256");
        assert_eq!(rcv_option_value(None, "MapRatio").as_deref(), Some("0"));
        assert_eq!(rcv_option_value(None, "MapBRPrefix").as_deref(), Some(""));
        let domain = |p| domain_value("wan6", &map, p).unwrap();
        assert_eq!(domain("TransportMode"), "Translation");
        assert_eq!(domain("BRIPv6Prefix"), "2001:db8:ffff::/64");
        assert_eq!(domain("Alias"), "cpe-map-wan6");
        let rule = |p| rule_value(&map, p).unwrap();
        assert_eq!(rule("IPv6Prefix"), "2001:db8::/40");
        assert_eq!(rule("IPv4Prefix"), "192.0.2.0/24");
        assert_eq!(rule("EABitsLength"), "16");
        // PSID 0x34 in the high-order 8 bits.
        assert_eq!(rule("PSID"), (0x34u32 << 8).to_string());
        assert_eq!(rule("IncludeSystemPorts"), "false");
        assert_eq!(rule_value(&map, "DSCPMarkPolicy"), None);
    }
}
