//! RFC 5424 messages for the collector, one per shield event:
//! `<PRI>1 TIME HOSTNAME APP-NAME PROCID MSGID [SD-ID field="value" …] MSG`. The event's
//! fields become the parameters of one SD-ELEMENT under the names of the filter language
//! (`message_type`, `client_mac`, `dhcp_options.53`, …; lists joined with `,`); MSG is a
//! one-line summary. Audit records (action changes) go the same way with MSGID `audit`.
//! Framing: RFC 6587 octet counting for TCP and TLS, one datagram each for UDP. Pure.

use std::fmt::Write;

use serde_json::Value;

/// The MSGID of event messages.
pub(crate) const MSGID: &str = "dhcp-event";
/// The MSGID of audit records.
pub(crate) const AUDIT_MSGID: &str = "audit";
/// Severity `notice` for an audit record.
const NOTICE: u8 = 5;
/// Severity `warning` for a dropped packet or one with detections, `informational` otherwise.
const WARNING: u8 = 4;
const INFO: u8 = 6;

/// What every message's header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub facility: u8,
    pub hostname: String,
    pub app_name: String,
    pub procid: u32,
    pub sd_id: String,
}

/// A PARAM-NAME: 1 to 32 PRINTUSASCII characters but `=`, space, `]` and `"`.
fn param_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
}

/// Appends `value` with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

fn push_param(out: &mut String, name: &str, value: &str) {
    if !param_name(name) {
        return;
    }
    let _ = write!(out, " {name}=\"");
    push_escaped(out, value);
    out.push('"');
}

/// The TIMESTAMP: the event's own time when it has the RFC 3339 shape, else `-`.
fn timestamp(event: &Value) -> &str {
    event["time"]
        .as_str()
        .filter(|t| t.len() <= 32 && t.contains('T') && t.bytes().all(|b| (33..=126).contains(&b)))
        .unwrap_or("-")
}

/// The header and the SD-ELEMENT's opening, up to its first parameter.
fn start(header: &Header, severity: u8, msgid: &str, record: &Value) -> String {
    let pri = u16::from(header.facility) * 8 + u16::from(severity);
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<{pri}>1 {} {} {} {} {msgid} [{}",
        timestamp(record),
        header.hostname,
        header.app_name,
        header.procid,
        header.sd_id
    );
    out
}

/// One audit record (`time`, `who`, `what`, `client`, `action`, `until`, `why`) as an RFC 5424
/// message with MSGID `audit`.
pub(crate) fn audit_message(header: &Header, entry: &Value) -> String {
    let mut out = start(header, NOTICE, AUDIT_MSGID, entry);
    for (name, value) in entry.as_object().into_iter().flatten() {
        if let Some(text) = scalar(value) {
            push_param(&mut out, name, &text);
        }
    }
    let part = |name: &str| entry[name].as_str().unwrap_or("-").to_string();
    let _ = write!(
        out,
        "] {} {} {} by {}: {}",
        part("what"),
        part("client"),
        part("action"),
        part("who"),
        part("why")
    );
    out
}

/// One event as an RFC 5424 message (no framing).
pub(crate) fn event_message(header: &Header, event: &Value) -> String {
    let dropped = event["verdict"] == "drop";
    let detections = event["detections"]
        .as_array()
        .is_some_and(|d| !d.is_empty());
    let severity = if dropped || detections { WARNING } else { INFO };
    let mut out = start(header, severity, MSGID, event);
    if let Some(fields) = event.as_object() {
        for (name, value) in fields {
            if name == "dhcp_options" {
                for (code, v) in value.as_object().into_iter().flatten() {
                    if let Some(text) = scalar(v) {
                        push_param(&mut out, &format!("dhcp_options.{code}"), &text);
                    }
                }
            } else if let Some(text) = scalar(value) {
                push_param(&mut out, name, &text);
            }
        }
    }
    out.push_str("] ");
    let part = |name: &str| event[name].as_str().unwrap_or("-").to_string();
    let _ = write!(
        out,
        "{} {} client_mac={} verdict={}",
        part("proto"),
        part("message_type"),
        part("client_mac"),
        part("verdict")
    );
    out
}

/// RFC 6587 §3.4.1 octet counting: `LEN SP MSG`.
pub(crate) fn octet_counted(message: &str) -> Vec<u8> {
    let mut framed = format!("{} ", message.len()).into_bytes();
    framed.extend_from_slice(message.as_bytes());
    framed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header() -> Header {
        Header {
            facility: 16,
            hostname: "gw".into(),
            app_name: "dhcpmgr-shield".into(),
            procid: 42,
            sd_id: "dhcp@32473".into(),
        }
    }

    #[test]
    fn event_as_rfc5424() {
        let event = json!({
            "seq": 7, "time": "2026-03-07T14:23:01.123Z", "proto": "v4",
            "message_type": "DISCOVER", "client_mac": "aa:bb:cc:dd:ee:ff",
            "hostname": "a\"b]c\\d", "dhcp_options": {"53": "01", "12": "laptop"},
            "ia_addresses": ["2001:db8::1", "2001:db8::2"], "verdict": "accept", "mark": 0,
            "action": null
        });
        let m = event_message(&header(), &event);
        assert!(
            m.starts_with(
                "<134>1 2026-03-07T14:23:01.123Z gw dhcpmgr-shield 42 dhcp-event [dhcp@32473 "
            ),
            "{m}"
        );
        assert!(m.contains(r#" hostname="a\"b\]c\\d""#), "{m}");
        assert!(m.contains(r#" dhcp_options.53="01""#), "{m}");
        assert!(
            m.contains(r#" ia_addresses="2001:db8::1,2001:db8::2""#),
            "{m}"
        );
        assert!(m.contains(r#" seq="7""#), "{m}");
        assert!(!m.contains("action="), "null fields are left out: {m}");
        assert!(
            m.ends_with("] v4 DISCOVER client_mac=aa:bb:cc:dd:ee:ff verdict=accept"),
            "{m}"
        );
    }

    #[test]
    fn severity_and_odd_input() {
        let m = event_message(&header(), &json!({"verdict": "drop"}));
        assert!(m.starts_with("<132>1 - gw "), "{m}");
        let m = event_message(
            &header(),
            &json!({"detections": ["rogue_server"], "time": "bad time"}),
        );
        assert!(m.starts_with("<132>1 - gw "), "{m}");
        let m = event_message(&header(), &json!({"bad name": "x", "a=b": "y"}));
        assert!(m.contains("[dhcp@32473] "), "{m}");
        let m = event_message(&header(), &json!("not an object"));
        assert!(m.contains("[dhcp@32473] - - client_mac=- verdict=-"), "{m}");
    }

    #[test]
    fn audit_record() {
        let entry = json!({"time": "2026-12-02T17:00:00.000Z", "who": "uid:0", "what": "set",
            "client": "02:00:00:00:0b:99", "action": "deny", "why": "lab audit"});
        let m = audit_message(&header(), &entry);
        assert!(
            m.starts_with("<133>1 2026-12-02T17:00:00.000Z gw dhcpmgr-shield 42 audit [dhcp@32473 action=\"deny\" client=\"02:00:00:00:0b:99\""),
            "{m}"
        );
        assert!(
            m.ends_with("] set 02:00:00:00:0b:99 deny by uid:0: lab audit"),
            "{m}"
        );
    }

    #[test]
    fn framing() {
        assert_eq!(octet_counted("<14>1 - - - - - -"), b"17 <14>1 - - - - - -");
        assert_eq!(octet_counted("é"), "2 é".as_bytes());
    }
}
