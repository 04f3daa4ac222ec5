//! The event record: one DHCP packet as the shield saw it, with the fields of the stream's
//! filter table (`shield-dhcp-stream.txt`) plus the DHCPv6 details, the verdict and why.
//! [`Event::field`] is the single place that maps a filter field name to a value.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::action::Action;

/// One inspected packet. Absent values are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event {
    /// Sequence number since the shield started.
    pub seq: u64,
    /// When it was processed, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// `v4`, `v6`, or `unknown` for a packet that is not DHCP at all.
    pub proto: &'static str,
    /// The interface the packet came in on, by name (its index when the name is not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The message type by name (`TYPEn` for one without a name; DHCPv4 without option 53:
    /// `BOOTREQUEST` or `BOOTREPLY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// The transaction id in hex (`0x` and 8 digits for DHCPv4, 6 for DHCPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<String>,
    /// The client's hardware address: `chaddr` for DHCPv4 (hex when not Ethernet), the DUID's MAC
    /// or else the source MAC for DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<String>,
    /// The link-layer source address, when the kernel gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_mac: Option<String>,
    /// The link-layer destination address, when known (captures; the kernel's queue does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_mac: Option<String>,
    /// The IP source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The IP destination address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<String>,
    /// The UDP source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// The UDP destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// DHCPv4 `op`: `BOOTREQUEST`, `BOOTREPLY`, or the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op_code: Option<String>,
    /// DHCPv4 `htype`: `ethernet` or the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hw_type: Option<String>,
    /// The host name: DHCPv4 option 12, the DHCPv6 client FQDN (option 39) as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The vendor class: DHCPv4 option 60, the first data item of DHCPv6 option 16.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class: Option<String>,
    /// The client identifier in hex: DHCPv4 option 61, the client DUID for DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_identifier: Option<String>,
    /// The server: DHCPv4 option 54, else `siaddr` when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<String>,
    /// The relay: DHCPv4 `giaddr` when set, the link address of a DHCPv6 relay message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<String>,
    /// The router the server offers (DHCPv4 option 3, its first address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_ip: Option<String>,
    /// DHCPv4 `ciaddr`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// DHCPv4 `yiaddr`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_ip: Option<String>,
    /// The address asked for: DHCPv4 option 50, the first IA address of DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<String>,
    /// The lease time in seconds: DHCPv4 option 51, the first valid lifetime for DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    /// T1 in seconds: DHCPv4 option 58, the first IA's T1 for DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<u32>,
    /// T2 in seconds: DHCPv4 option 59, the first IA's T2 for DHCPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebinding_time: Option<u32>,
    /// How many options the message carries.
    pub option_count: u32,
    /// Every option by code: printable ASCII as text, anything else as lowercase hex.
    pub dhcp_options: BTreeMap<u16, String>,
    // ---- DHCPv6 ----
    /// The message type inside a DHCPv6 relay message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_message_type: Option<String>,
    /// The client DUID in hex (DHCPv6 option 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_duid: Option<String>,
    /// The server DUID in hex (DHCPv6 option 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_duid: Option<String>,
    /// The client DUID's type (`LLT`, `EN`, `LL`, `UUID`, or the number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duid_type: Option<String>,
    /// `IA_NA`, `IA_TA`, `IA_PD`, comma-separated when several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ia_type: Option<String>,
    /// The first IA's IAID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iaid: Option<u32>,
    /// The IA_NA/IA_TA addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ia_addresses: Vec<String>,
    /// The IA_PD prefixes, as `address/length`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delegated_prefixes: Vec<String>,
    /// The first lease's preferred lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_lifetime: Option<u32>,
    /// The first lease's valid lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<u32>,
    // ---- what the shield made of it ----
    /// Why the packet could not be parsed, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
    /// `accept` or `drop`.
    pub verdict: &'static str,
    /// The mark set with the verdict (0: none).
    pub mark: u32,
    /// Name of the config rule that matched, `unknown` when none did.
    pub matched_rule: String,
    /// The client's action in force, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Built-in detections this packet triggered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<&'static str>,
    /// How long the shield took over this packet, in milliseconds.
    pub processing_time_ms: f64,
}

/// A field's value for the filter language.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A text value.
    Str(Cow<'a, str>),
    /// A number.
    Num(f64),
    /// A numeric field the packet does not have.
    Missing,
}

/// Whether a filter field is compared as text or as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Compared as text (`contains`, `startswith`, `endswith`, `regex`).
    String,
    /// Compared as a number (`gt`, `gte`, `lt`, `lte`).
    Numeric,
}

/// The filter fields: those of the stream's table, then this build's additions (DHCPv6 and the
/// shield's own results). `dhcp_options.<CODE>` is handled apart.
pub const FIELDS: &[(&str, FieldKind)] = &[
    ("client_mac", FieldKind::String),
    ("source_mac", FieldKind::String),
    ("source_ip", FieldKind::String),
    ("dest_ip", FieldKind::String),
    ("dest_mac", FieldKind::String),
    ("message_type", FieldKind::String),
    ("hostname", FieldKind::String),
    ("vendor_class", FieldKind::String),
    ("client_identifier", FieldKind::String),
    ("xid", FieldKind::String),
    ("server_ip", FieldKind::String),
    ("relay_ip", FieldKind::String),
    ("gateway_ip", FieldKind::String),
    ("client_ip", FieldKind::String),
    ("your_ip", FieldKind::String),
    ("requested_ip", FieldKind::String),
    ("matched_rule", FieldKind::String),
    ("lease_time", FieldKind::Numeric),
    ("renewal_time", FieldKind::Numeric),
    ("rebinding_time", FieldKind::Numeric),
    ("mark", FieldKind::Numeric),
    ("processing_time_ms", FieldKind::Numeric),
    ("option_count", FieldKind::Numeric),
    ("op_code", FieldKind::String),
    ("hw_type", FieldKind::String),
    ("source_port", FieldKind::Numeric),
    ("dest_port", FieldKind::Numeric),
    // additions
    ("proto", FieldKind::String),
    ("interface", FieldKind::String),
    ("inner_message_type", FieldKind::String),
    ("client_duid", FieldKind::String),
    ("server_duid", FieldKind::String),
    ("duid_type", FieldKind::String),
    ("ia_type", FieldKind::String),
    ("ia_addresses", FieldKind::String),
    ("delegated_prefixes", FieldKind::String),
    ("preferred_lifetime", FieldKind::Numeric),
    ("valid_lifetime", FieldKind::Numeric),
    ("iaid", FieldKind::Numeric),
    ("verdict", FieldKind::String),
    ("action", FieldKind::String),
    ("detections", FieldKind::String),
    ("malformed", FieldKind::String),
];

/// The kind of a field name, `dhcp_options.<CODE>` (code 0 to 65535) included.
pub fn field_kind(name: &str) -> Option<FieldKind> {
    if let Some(code) = name.strip_prefix("dhcp_options.") {
        return code.parse::<u16>().ok().map(|_| FieldKind::String);
    }
    FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

fn text(v: &Option<String>) -> FieldValue<'_> {
    FieldValue::Str(Cow::Borrowed(v.as_deref().unwrap_or("")))
}

fn num<T: Into<f64> + Copy>(v: Option<T>) -> FieldValue<'static> {
    v.map_or(FieldValue::Missing, |n| FieldValue::Num(n.into()))
}

impl Event {
    /// The value of filter field `name`; absent text is `""`, absent numbers are
    /// [`FieldValue::Missing`]; lists are comma-separated.
    pub fn field(&self, name: &str) -> FieldValue<'_> {
        let s = |v: &'static str| FieldValue::Str(Cow::Borrowed(v));
        match name {
            "client_mac" => text(&self.client_mac),
            "source_mac" => text(&self.source_mac),
            "source_ip" => text(&self.source_ip),
            "dest_ip" => text(&self.dest_ip),
            "dest_mac" => text(&self.dest_mac),
            "message_type" => text(&self.message_type),
            "hostname" => text(&self.hostname),
            "vendor_class" => text(&self.vendor_class),
            "client_identifier" => text(&self.client_identifier),
            "xid" => text(&self.xid),
            "server_ip" => text(&self.server_ip),
            "relay_ip" => text(&self.relay_ip),
            "gateway_ip" => text(&self.gateway_ip),
            "client_ip" => text(&self.client_ip),
            "your_ip" => text(&self.your_ip),
            "requested_ip" => text(&self.requested_ip),
            "matched_rule" => FieldValue::Str(Cow::Borrowed(&self.matched_rule)),
            "lease_time" => num(self.lease_time),
            "renewal_time" => num(self.renewal_time),
            "rebinding_time" => num(self.rebinding_time),
            "mark" => FieldValue::Num(self.mark.into()),
            "processing_time_ms" => FieldValue::Num(self.processing_time_ms),
            "option_count" => FieldValue::Num(self.option_count.into()),
            "op_code" => text(&self.op_code),
            "hw_type" => text(&self.hw_type),
            "source_port" => num(self.source_port),
            "dest_port" => num(self.dest_port),
            "proto" => s(self.proto),
            "interface" => text(&self.interface),
            "inner_message_type" => text(&self.inner_message_type),
            "client_duid" => text(&self.client_duid),
            "server_duid" => text(&self.server_duid),
            "duid_type" => text(&self.duid_type),
            "ia_type" => text(&self.ia_type),
            "ia_addresses" => FieldValue::Str(Cow::Owned(self.ia_addresses.join(","))),
            "delegated_prefixes" => FieldValue::Str(Cow::Owned(self.delegated_prefixes.join(","))),
            "preferred_lifetime" => num(self.preferred_lifetime),
            "valid_lifetime" => num(self.valid_lifetime),
            "iaid" => num(self.iaid),
            "verdict" => s(self.verdict),
            "action" => s(self.action.map_or("", Action::name)),
            "detections" => FieldValue::Str(Cow::Owned(self.detections.join(","))),
            "malformed" => text(&self.malformed),
            other => match other
                .strip_prefix("dhcp_options.")
                .and_then(|c| c.parse::<u16>().ok())
            {
                Some(code) => FieldValue::Str(Cow::Borrowed(
                    self.dhcp_options.get(&code).map_or("", String::as_str),
                )),
                None => FieldValue::Missing,
            },
        }
    }
}

/// Anything the filter language can look at: a live [`Event`], or one read back as JSON from
/// the journal.
pub trait Fields {
    /// The value of field `name` (see [`Event::field`]).
    fn field(&self, name: &str) -> FieldValue<'_>;
}

impl Fields for Event {
    fn field(&self, name: &str) -> FieldValue<'_> {
        Event::field(self, name)
    }
}

impl Fields for serde_json::Value {
    /// The same values as [`Event::field`] gives, from the event's JSON form.
    fn field(&self, name: &str) -> FieldValue<'_> {
        use serde_json::Value;
        let Some(kind) = field_kind(name) else {
            return FieldValue::Missing;
        };
        let raw = match name.strip_prefix("dhcp_options.") {
            Some(code) => &self["dhcp_options"][code],
            None => &self[name],
        };
        match kind {
            FieldKind::Numeric => raw.as_f64().map_or(FieldValue::Missing, FieldValue::Num),
            FieldKind::String => FieldValue::Str(match raw {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                Value::Null => Cow::Borrowed(""),
                Value::Array(items) => Cow::Owned(
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => Cow::Owned(other.to_string()),
            }),
        }
    }
}

/// `bytes` as text when printable ASCII (a trailing NUL dropped), else lowercase hex.
pub fn option_text(bytes: &[u8]) -> String {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if !trimmed.is_empty() && trimmed.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(trimmed).into_owned()
    } else {
        crate::hex::encode(bytes)
    }
}

/// Unix time in ms as RFC 3339 UTC (`2026-03-07T14:23:01.123Z`).
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_772_893_381_123), "2026-03-07T14:23:01.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn every_field_resolves() {
        let e = Event::default();
        for (name, kind) in FIELDS {
            match (e.field(name), kind) {
                (FieldValue::Str(_), FieldKind::String) => {}
                (FieldValue::Num(_) | FieldValue::Missing, FieldKind::Numeric) => {}
                (v, k) => panic!("{name}: {v:?} for a {k:?} field"),
            }
        }
        assert_eq!(field_kind("dhcp_options.82"), Some(FieldKind::String));
        assert_eq!(field_kind("dhcp_options.x"), None);
        assert_eq!(field_kind("nope"), None);
    }

    #[test]
    fn json_form_gives_the_same_fields() {
        let e = Event {
            proto: "v6",
            message_type: Some("SOLICIT".into()),
            lease_time: Some(7200),
            ia_addresses: vec!["2001:db8::1".into(), "2001:db8::2".into()],
            detections: vec!["rogue_server"],
            matched_rule: "unknown".into(),
            verdict: "accept",
            dhcp_options: [(1u16, "0003".to_string())].into(),
            ..Event::default()
        };
        let json = serde_json::to_value(&e).unwrap();
        for (name, _) in FIELDS {
            assert_eq!(Fields::field(&json, name), e.field(name), "{name}");
        }
        assert_eq!(
            Fields::field(&json, "dhcp_options.1"),
            e.field("dhcp_options.1")
        );
        assert_eq!(
            Fields::field(&json, "dhcp_options.2"),
            e.field("dhcp_options.2")
        );
    }

    #[test]
    fn option_text_or_hex() {
        assert_eq!(option_text(b"nas1\0"), "nas1");
        assert_eq!(option_text(&[1, 2]), "0102");
        assert_eq!(option_text(b""), "");
    }
}
