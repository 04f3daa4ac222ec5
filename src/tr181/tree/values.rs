//! Parameter values of the client objects, their option rows and the DHCPv6 Server row in
//! TR-181 string form, from the controller's snapshots (settings, status and lease). Pure.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpmgr_ipc::V4Lease;

use crate::boottime::BootSeconds;
use crate::config::{ReqOption, Row, SentOption, V6SentOption};
use crate::model::{lifetime_left, V4ClientSnapshot, V6ClientSnapshot, Waiting};

/// The `ReceivedOption` rows of the options dibbler-client rendered: `(code, data as lowercase
/// hex)` in code order, leaving out options whose rendering cannot be read back.
pub(super) fn received_options(rendered: &BTreeMap<u16, String>) -> Vec<(u16, String)> {
    rendered
        .iter()
        .filter_map(|(code, text)| Some((*code, option_data(*code, text)?)))
        .collect()
}

/// The data of DHCPv6 option `code` as lowercase hex, from dibbler-client's rendering:
/// space-separated IPv6 addresses for address-list options, space-separated names for
/// domain-list options (RFC 1035 wire form), colon-separated hex octets for the rest.
pub(super) fn option_data(code: u16, text: &str) -> Option<String> {
    // SIP servers, DNS servers, NIS servers, NIS+ servers, SNTP servers.
    const ADDRESS_LISTS: [u16; 5] = [22, 23, 27, 28, 31];
    // SIP domains, domain search list, NIS domain, NIS+ domain, AFTR name.
    const DOMAIN_LISTS: [u16; 5] = [21, 24, 29, 30, 64];
    let bytes = if ADDRESS_LISTS.contains(&code) {
        address_list(text).or_else(|| crate::s46::parse_colon_hex(text).ok())?
    } else if DOMAIN_LISTS.contains(&code) {
        domain_list(text).or_else(|| crate::s46::parse_colon_hex(text).ok())?
    } else {
        crate::s46::parse_colon_hex(text).ok()?
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Space-separated IPv6 addresses as their 16-byte forms one after another.
fn address_list(text: &str) -> Option<Vec<u8>> {
    let addresses = text
        .split_ascii_whitespace()
        .map(|a| a.parse::<Ipv6Addr>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some(addresses.iter().flat_map(|a| a.octets()).collect())
}

/// Space-separated domain names in RFC 1035 wire form (labels of 1 to 63 octets, each name
/// ending with the root label).
fn domain_list(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for name in text.split_ascii_whitespace() {
        let name = name.strip_suffix('.').unwrap_or(name);
        for label in name.split('.') {
            let len = u8::try_from(label.len())
                .ok()
                .filter(|l| (1..=63).contains(l))?;
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }
    (!out.is_empty()).then_some(out)
}

/// A row's `Enable` and `Alias`, which every option table has.
fn row_value<T>(row: &Row<T>, param: &str) -> Option<String> {
    match param {
        "Enable" => Some(row.enable.to_string()),
        "Alias" => Some(row.alias.clone()),
        _ => None,
    }
}

/// An unset tag reads as 0.
fn tag_text(tag: Option<impl ToString>) -> String {
    tag.map_or_else(|| "0".to_string(), |t| t.to_string())
}

/// The value of a `Device.DHCPv4.Client.{i}.SentOption.{i}.` parameter.
pub(super) fn sent_option_value(row: &Row<SentOption>, param: &str) -> Option<String> {
    Some(match param {
        "Tag" => tag_text(row.item.tag),
        "Value" => row.item.value.to_hex(),
        _ => return row_value(row, param),
    })
}

/// The value of a `Device.DHCPv4.Client.{i}.ReqOption.{i}.` parameter; `Value` is what the
/// lease carries for the option (udhcpc passes as hex the options it has no name for), or
/// empty.
pub(super) fn req_option_value(
    row: &Row<ReqOption>,
    lease: Option<&V4Lease>,
    param: &str,
) -> Option<String> {
    Some(match param {
        "Order" => row.item.order.to_string(),
        "Tag" => tag_text(row.item.tag),
        "Value" => row
            .item
            .tag
            .and_then(|tag| lease?.raw_options.get(&tag.0))
            .map(|hex| hex.to_ascii_lowercase())
            .unwrap_or_default(),
        _ => return row_value(row, param),
    })
}

/// The value of a `Device.DHCPv6.Client.{i}.SentOption.{i}.` parameter.
pub(super) fn v6_sent_option_value(row: &Row<V6SentOption>, param: &str) -> Option<String> {
    Some(match param {
        "Tag" => tag_text(row.item.tag),
        "Value" => row.item.value.to_hex(),
        _ => return row_value(row, param),
    })
}

/// The value of a `Device.DHCPv4.Client.{i}.` parameter.
pub(super) fn v4_client_value(
    client: &V4ClientSnapshot,
    param: &str,
    now: BootSeconds,
) -> Option<String> {
    let lease = client.lease.as_ref();
    let settings = &client.settings;
    let addresses = |list: Option<&Vec<Ipv4Addr>>| {
        list.map(|l| {
            l.iter()
                .map(Ipv4Addr::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
    };
    Some(match param {
        "Enable" => client.enable.to_string(),
        "Alias" => settings.tr181_alias().to_string(),
        // Device.IP.Interface is not modelled: the Linux name, as WAN Manager writes it.
        "Interface" => settings.interface_name().to_string(),
        "Status" => client.status.as_tr181().to_string(),
        "DHCPStatus" => client.dhcp_status.as_tr181().to_string(),
        // Command-style booleans read back false.
        "Renew" | "X_RDK_Release" | "X_RDK_Restart" => "false".to_string(),
        "IPAddress" => lease.map(|l| l.address.to_string()).unwrap_or_default(),
        "SubnetMask" => lease
            .map(|l| subnet_mask(l.prefix_len).to_string())
            .unwrap_or_default(),
        "IPRouters" => addresses(lease.map(|l| &l.routers)),
        "DNSServers" => addresses(lease.map(|l| &l.dns_servers)),
        "LeaseTimeRemaining" => client.lease_time_remaining(now).to_string(),
        "DHCPServer" => lease
            .and_then(|l| l.server_id)
            .map(|a| a.to_string())
            .unwrap_or_default(),
        "SentOptionNumberOfEntries" => settings.sent_options.len().to_string(),
        "ReqOptionNumberOfEntries" => settings.request_options.len().to_string(),
        "X_RDK_LinuxInterface" => settings.interface_name().to_string(),
        _ => return None,
    })
}

/// The value of a `Device.DHCPv6.Client.{i}.` parameter.
pub(super) fn v6_client_value(client: &V6ClientSnapshot, param: &str) -> Option<String> {
    let settings = &client.settings;
    let suggested = |t: Option<u32>| t.map_or_else(|| "-1".to_string(), |t| t.to_string());
    Some(match param {
        "Enable" => client.enable.to_string(),
        "Alias" => settings.tr181_alias().to_string(),
        // Device.IP.Interface is not modelled: the Linux name, as WAN Manager writes it.
        "Interface" => settings.interface_name().to_string(),
        "Status" => client.status.as_tr181().to_string(),
        "DUID" => client.duid.clone(),
        "RequestAddresses" => settings.request_addresses.to_string(),
        "RequestPrefixes" => settings.request_prefixes.to_string(),
        "RapidCommit" => settings.rapid_commit.to_string(),
        // Command-style booleans read back false.
        "Renew" | "X_RDK_Release" | "X_RDK_Restart" => "false".to_string(),
        "SuggestedT1" => suggested(settings.t1),
        "SuggestedT2" => suggested(settings.t2),
        "SupportedOptions" => supported_options(&settings.requested_options),
        "ServerNumberOfEntries" => u8::from(server_row(&client.received_options)).to_string(),
        "SentOptionNumberOfEntries" => settings.sent_options.len().to_string(),
        "ReceivedOptionNumberOfEntries" => {
            received_options(&client.received_options).len().to_string()
        }
        "RequestedOptions" => settings
            .requested_options
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
        "X_RDK_LinuxInterface" => settings.interface_name().to_string(),
        _ => return None,
    })
}

/// `Waiting` of a client's `X_DHCPMGR_Status.`: the wait in words, or empty.
fn waiting_text(waiting: Option<&Waiting>) -> String {
    waiting.map(Waiting::to_string).unwrap_or_default()
}

/// The value of a `Device.DHCPv4.Client.{i}.X_DHCPMGR_Status.` parameter.
pub(super) fn v4_status_value(client: &V4ClientSnapshot, param: &str) -> Option<String> {
    match param {
        "Waiting" => Some(waiting_text(client.waiting.as_ref())),
        _ => None,
    }
}

/// The value of a `Device.DHCPv6.Client.{i}.X_DHCPMGR_Status.` parameter: the first IA_NA
/// address and the first delegated prefix held, with their lifetimes left at `now`.
pub(super) fn v6_status_value(
    client: &V6ClientSnapshot,
    param: &str,
    now: BootSeconds,
) -> Option<String> {
    let address = client.addresses.first();
    let prefix = client.prefixes.first();
    let left = |held: Option<(BootSeconds, u32)>| {
        held.map_or(0, |(obtained, secs)| lifetime_left(obtained, secs, now))
            .to_string()
    };
    Some(match param {
        "Waiting" => waiting_text(client.waiting.as_ref()),
        "IANAAddress" => address
            .map(|a| a.lease.address.to_string())
            .unwrap_or_default(),
        "IANAPreferredTimeRemaining" => left(address.map(|a| (a.obtained, a.lease.preferred))),
        "IANAValidTimeRemaining" => left(address.map(|a| (a.obtained, a.lease.valid))),
        "IAPDPrefix" => prefix
            .map(|p| format!("{}/{}", p.lease.prefix, p.lease.length))
            .unwrap_or_default(),
        "IAPDPreferredTimeRemaining" => left(prefix.map(|p| (p.obtained, p.lease.preferred))),
        "IAPDValidTimeRemaining" => left(prefix.map(|p| (p.obtained, p.lease.valid))),
        "DNSServers" => client
            .dns_servers()
            .iter()
            .map(Ipv6Addr::to_string)
            .collect::<Vec<_>>()
            .join(","),
        _ => return None,
    })
}

/// Options dibbler-client 1.0.1 parses in server replies (`TClntMsg`'s option switch), top-level
/// and encapsulated: client and server id, IA_NA, IA_TA, IAADDR, preference, elapsed time, auth,
/// unicast, status code, rapid commit, vendor options, reconfigure message and accept, SIP,
/// DNS, domains, IA_PD, IAPREFIX, NIS, NIS+, SNTP, information refresh time, FQDN, TZDB
/// timezone and AFTR name.
const DIBBLER_OPTIONS: [u16; 29] = [
    1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 39, 42, 64,
];

/// `SupportedOptions`: what dibbler-client parses, with the options dhcpmgr has it request
/// (its client.conf names each, so dibbler-client keeps them), ascending.
fn supported_options(requested: &[u16]) -> String {
    let mut codes: Vec<u16> = DIBBLER_OPTIONS.iter().chain(requested).copied().collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the options of the last reply name their server (OPTION_SERVERID, 2): then the
/// client has one `Server` row.
pub(super) fn server_row(options: &BTreeMap<u16, String>) -> bool {
    options
        .get(&2)
        .and_then(|text| option_data(2, text))
        .is_some()
}

/// TR-181's Unknown Time and infinite time.
const UNKNOWN_TIME: &str = "0001-01-01T00:00:00Z";
const INFINITE_TIME: &str = "9999-12-31T23:59:59Z";

/// The value of a `Device.DHCPv6.Client.{i}.Server.1.` parameter, from the options of the last
/// reply. dibbler-client tells its script neither where the reply came from nor when, so
/// `SourceAddress` is empty and `InformationRefreshTime` is unknown unless infinite.
pub(super) fn server_value(options: &BTreeMap<u16, String>, param: &str) -> Option<String> {
    let duid = option_data(2, options.get(&2)?)?;
    Some(match param {
        "SourceAddress" => String::new(),
        "DUID" => duid,
        "InformationRefreshTime" => {
            let infinite = options.get(&32).and_then(|text| refresh_time(text)) == Some(u32::MAX);
            if infinite {
                INFINITE_TIME
            } else {
                UNKNOWN_TIME
            }
            .to_string()
        }
        _ => return None,
    })
}

/// OPTION_INFORMATION_REFRESH_TIME as dibbler-client renders it: decimal seconds or the
/// option's four octets in colon-separated hex.
fn refresh_time(text: &str) -> Option<u32> {
    let text = text.trim();
    text.parse().ok().or_else(|| {
        let bytes: [u8; 4] = crate::s46::parse_colon_hex(text).ok()?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    })
}

/// The netmask of a prefix length (lengths over 32 count as 32).
pub(super) fn subnet_mask(prefix_len: u8) -> Ipv4Addr {
    let len = u32::from(prefix_len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - len).unwrap_or(0))
}
