//! The shield's control protocol on `run_dir/shield.sock` (shared with `dhcpmgrctl shield`):
//! one JSON request line per connection, answered by one JSON line
//! `{"ok": true, …}` / `{"ok": false, "error": "…"}`; a `stream` request then keeps the
//! connection and sends `{"event": {…}}` lines, and `{"dropped": {"rate_limited": n,
//! "overflow": m}}` (totals) whenever events were dropped for this subscriber.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The socket's file name in `run_dir`.
pub const SOCKET: &str = "shield.sock";

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Follow events live, filtered server-side (a filter, or a saved filter's name).
    Stream {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        saved: Option<String>,
    },
    /// Recent events (oldest first) from the ring, or from the on-disk journal.
    Events {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        journal: bool,
    },
    /// Counters, detections, hook and table sizes.
    Status,
    /// Actions in force.
    Actions,
    /// Set a client's action (`duration` like `2h`; absent: the action's default).
    Set {
        client: String,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Clear {
        client: String,
    },
    Audit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Saved filters.
    Filters,
    SaveFilter {
        name: String,
        filter: Value,
    },
    DeleteFilter {
        name: String,
    },
}

/// A line the stream sends after its first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub rate_limited: u64,
    pub overflow: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let r: Request =
            serde_json::from_str(r#"{"cmd":"set","client":"aa:bb:cc:dd:ee:ff","action":"deny"}"#)
                .unwrap();
        assert_eq!(
            r,
            Request::Set {
                client: "aa:bb:cc:dd:ee:ff".into(),
                action: "deny".into(),
                duration: None,
                reason: None
            }
        );
        assert_eq!(
            serde_json::to_string(&Request::Status).unwrap(),
            r#"{"cmd":"status"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"clear","client":"x","y":1}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"launch"}"#).is_err());
    }
}
