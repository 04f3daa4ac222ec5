//! The fuzz entry point for the WebSocket protocol (`fuzz/fuzz_targets/shield_web_message.rs`
//! and the smoke test `tests/protocol_fuzz_smoke.rs`): a page's text frame parsed as a
//! [`ClientMessage`], an `update_filters` filter compiled with the daemon's parser and run on
//! a sample event, every answer built. Must return for any input without panicking.

use serde_json::json;

use crate::web::protocol::{self, ClientMessage};

/// One frame's worth of work, as a session does it.
pub fn client_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match protocol::parse_client(text) {
        Ok(ClientMessage::UpdateFilters { filters }) => match protocol::compile(&filters) {
            Ok(filter) => {
                let sample = json!({"message_type": "DISCOVER", "lease_time": 3600,
                    "client_mac": "aa:bb:cc:dd:ee:ff", "dhcp_options": {"82": "0104"},
                    "hostname": "laptop-1", "ia_addresses": ["2001:db8::1"]});
                let _ = filter.matches(&sample);
                let _ = protocol::filters_updated(&filter);
            }
            Err(e) => {
                let _ = protocol::error(&e);
            }
        },
        Ok(_) => {}
        Err(e) => {
            let _ = protocol::error(&e);
        }
    }
}
