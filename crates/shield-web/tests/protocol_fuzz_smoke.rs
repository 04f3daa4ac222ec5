//! A deterministic stand-in for the `shield_web_message` fuzz target in every `cargo test`:
//! seed frames (good and bad `update_filters`, the other messages) and mutations of them
//! ([`Rng::mutate`]) go through the page protocol's parsing
//! and the daemon's filter compiler. None may panic.

use dhcpmgr_lab::Rng;
use dhcpmgr_shield_web::web::fuzzing::client_frame;

const SEEDS: &[&str] = &[
    r#"{"type":"update_filters","filters":{"logic":"AND","rules":[{"field":"message_type","operator":"eq","value":"DISCOVER"},{"field":"vendor_class","operator":"contains","value":"MSFT"}]}}"#,
    r#"{"type":"update_filters","filters":{"logic":"OR","rules":[{"logic":"AND","rules":[{"field":"hostname","operator":"regex","value":"^srv-\\d+"}]},{"field":"lease_time","operator":"gt","value":3600}]}}"#,
    r#"{"type":"update_filters","filters":{"logic":"AND","rules":[{"field":"message_type","operator":"in","value":["DISCOVER","REQUEST"]},{"field":"dhcp_options.82","operator":"ne","value":""}]}}"#,
    r#"{"type":"update_filters","filters":null}"#,
    r#"{"type":"save_filter","name":"x","filter":{"logic":"AND","rules":[]}}"#,
    r#"{"type":"delete_filter","name":"x"}"#,
    r#"{"type":"list_filters"}"#,
];

/// Bytes an insertion picks from: JSON's punctuation, digits and keyword letters.
const ALPHABET: &[u8] = b"{}[]\",:\\0123456789aeflnrstu";

#[test]
fn protocol_frames_and_mutations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for seed in SEEDS {
        client_frame(seed.as_bytes());
        for _ in 0..2000 {
            client_frame(&rng.mutate(seed.as_bytes(), ALPHABET));
        }
    }
    client_frame(&[0xff, 0xfe, b'{']);
    let deep = format!(
        "{{\"type\":\"update_filters\",\"filters\":{}{}}}",
        "{\"logic\":\"AND\",\"rules\":[".repeat(200),
        "]}".repeat(200)
    );
    client_frame(deep.as_bytes());
}
