//! dhcpmgr-shield-web's WebSocket protocol: a page's text frame (update_filters and the rest)
//! through parsing and the daemon's filter compiler.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr_shield_web::web::fuzzing::client_frame(data));
