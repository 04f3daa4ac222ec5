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
        /// A filter in the stream's filter language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Value>,
        /// The name of a saved filter, instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        saved: Option<String>,
    },
    /// Recent events (oldest first) from the ring, or from the on-disk journal.
    Events {
        /// A filter in the stream's filter language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Value>,
        /// At most this many, the newest (default 100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
        /// Read the on-disk journal instead of the in-memory ring.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        journal: bool,
    },
    /// Counters, detections, hook and table sizes.
    Status,
    /// Actions in force.
    Actions,
    /// Set a client's action (`duration` like `2h`; absent: the action's default).
    Set {
        /// A MAC (`aa:bb:cc:dd:ee:ff`) or `duid:<hex>`.
        client: String,
        /// `block`, `deny`, `throttle`, `allow` or `monitor`.
        action: String,
        /// How long (`30s`, `15m`, `2h`, `7d`, `indefinite`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<String>,
        /// Why, for the audit log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Clear a client's action.
    Clear {
        /// A MAC or `duid:<hex>`.
        client: String,
    },
    /// The latest entries of the audit log (actions set and cleared).
    Audit {
        /// At most this many, the newest (default 50).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Saved filters.
    Filters,
    /// Save a filter under a name.
    SaveFilter {
        /// The name to save it under.
        name: String,
        /// The filter, in the stream's filter language.
        filter: Value,
    },
    /// Delete a saved filter.
    DeleteFilter {
        /// Its name.
        name: String,
    },
}

/// A line the stream sends after its first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Events left out so far by the subscriber's rate limit (a running total).
    pub rate_limited: u64,
    /// Events left out so far because the subscriber read too slowly (a running total).
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
