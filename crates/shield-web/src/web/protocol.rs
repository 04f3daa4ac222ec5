//! The WebSocket protocol of `/api/ws/dhcp-events` (JSON text frames; README "WebSocket
//! protocol"). The page sends [`ClientMessage`]s, `update_filters` carrying a filter in the
//! daemon's language; the server answers with the messages built by the functions below, one
//! `type` each. Parsing and validation are pure: [`parse_client`] and [`compile`] give an
//! error text for the `error` message, never a dropped connection.

use std::collections::BTreeMap;

use dhcpmgr_shield::filter::Filter;
use serde::Deserialize;
use serde_json::{json, Value};

/// The largest text frame a page may send (a filter is at most a few KiB).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// What the page may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    /// Replace this session's filter (`null` or an empty group: every event).
    UpdateFilters {
        filters: Value,
    },
    /// The daemon's saved filters.
    ListFilters,
    SaveFilter {
        name: String,
        filter: Value,
    },
    DeleteFilter {
        name: String,
    },
}

/// Parses one text frame.
pub(crate) fn parse_client(text: &str) -> Result<ClientMessage, String> {
    serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))
}

/// The filter of an `update_filters`, validated by the daemon's own parser.
pub(crate) fn compile(filters: &Value) -> Result<Filter, String> {
    if filters.is_null() {
        return Ok(Filter::all());
    }
    Filter::from_json(filters).map_err(|e| format!("invalid filter: {e}"))
}

/// Sent once a session is open: the limits it runs under and whether the daemon is reachable.
pub(crate) fn hello(events_per_second: u32, burst: u32, daemon: bool) -> String {
    json!({"type": "hello", "events_per_second": events_per_second, "burst": burst,
           "daemon_connected": daemon})
    .to_string()
}

/// The filter now in force.
pub(crate) fn filters_updated(filter: &Filter) -> String {
    json!({"type": "filters_updated", "filters": filter.source()}).to_string()
}

pub(crate) fn error(message: &str) -> String {
    json!({"type": "error", "error": message}).to_string()
}

/// This session's drop totals: over its rate limit, while it read too slowly, and upstream
/// (the daemon's own limit for this program's subscription, shared by every session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Drops {
    pub rate_limited: u64,
    pub lagged: u64,
    pub upstream: u64,
}

pub(crate) fn dropped(d: Drops) -> String {
    json!({"type": "dropped", "rate_limited": d.rate_limited, "lagged": d.lagged,
           "upstream": d.upstream, "total": d.rate_limited + d.lagged + d.upstream})
    .to_string()
}

/// The daemon's saved filters, by name.
pub(crate) fn saved_filters(filters: &BTreeMap<String, Value>) -> String {
    json!({"type": "saved_filters", "filters": filters}).to_string()
}

/// The daemon's shield socket went away or came back.
pub(crate) fn daemon(connected: bool) -> String {
    json!({"type": "daemon", "connected": connected}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_filters() {
        let m = parse_client(
            r#"{"type":"update_filters","filters":{"logic":"AND","rules":[{"field":"message_type","operator":"eq","value":"DISCOVER"}]}}"#,
        )
        .unwrap();
        let ClientMessage::UpdateFilters { filters } = m else {
            panic!("{m:?}")
        };
        let f = compile(&filters).unwrap();
        assert!(f.matches(&json!({"message_type": "DISCOVER"})));
        assert!(!f.matches(&json!({"message_type": "OFFER"})));
        assert!(compile(&Value::Null).unwrap().matches(&json!({})));
        let text = filters_updated(&f);
        assert!(text.contains("\"type\":\"filters_updated\""), "{text}");
    }

    #[test]
    fn invalid_json_and_messages() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"type":"launch"}"#,
            r#"{"type":"update_filters"}"#,
            r#"{"type":"update_filters","filters":{},"extra":1}"#,
            r#"{"filters":{}}"#,
        ] {
            let e = parse_client(bad).unwrap_err();
            assert!(e.starts_with("bad message: "), "{bad:?}: {e}");
        }
        assert_eq!(
            parse_client(r#"{"type":"list_filters"}"#),
            Ok(ClientMessage::ListFilters)
        );
    }

    #[test]
    fn filter_errors_name_the_place() {
        let cases = [
            (json!({"logic":"XOR","rules":[]}), "logic"),
            (
                json!({"logic":"AND","rules":[{"field":"nope","operator":"eq","value":"x"}]}),
                "rules[0].field",
            ),
            (
                json!({"logic":"AND","rules":[{"field":"lease_time","operator":"contains","value":"1"}]}),
                "rules[0].operator",
            ),
            (
                json!({"logic":"OR","rules":[{"logic":"AND","rules":[{"field":"hostname","operator":"regex","value":"("}]}]}),
                "rules[0].rules[0]",
            ),
        ];
        for (filter, place) in cases {
            let e = compile(&filter).unwrap_err();
            assert!(e.starts_with("invalid filter: "), "{e}");
            assert!(e.contains(place), "{filter}: {e}");
        }
    }

    #[test]
    fn server_messages_are_json() {
        let d: Value = serde_json::from_str(&dropped(Drops {
            rate_limited: 2,
            lagged: 3,
            upstream: 4,
        }))
        .unwrap();
        assert_eq!(d["total"], 9);
        let e: Value = serde_json::from_str(&error("x \"y\"")).unwrap();
        assert_eq!(e["error"], "x \"y\"");
    }
}
