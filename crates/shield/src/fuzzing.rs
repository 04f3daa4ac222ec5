//! Entry points for fuzzing (the `fuzz/` crate's targets and the mutation smoke test): the
//! whole pure packet path on arbitrary bytes, the filter parser and the netlink decoder. Each
//! must return for any input without panicking.

use std::sync::OnceLock;

use crate::action::Action;
use crate::clients::ClientTable;
use crate::config::{RuleConfig, Verdict};
use crate::decide::{decide, Policy};
use crate::filter::Filter;
use crate::inspect::{inspect, PacketMeta};
use crate::packet::parse_ethernet;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let filter = Filter::parse(
            r#"{"logic":"OR","rules":[
                {"field":"hostname","operator":"regex","value":"^(a|b)+\\d*$"},
                {"field":"dhcp_options.82","operator":"contains","value":"01"},
                {"logic":"AND","rules":[{"field":"lease_time","operator":"gt","value":60},
                                        {"field":"message_type","operator":"in","value":["ACK","REPLY"]}]}]}"#,
        )
        .unwrap_or_else(|_| Filter::all());
        Policy {
            rules: vec![RuleConfig {
                name: "fuzz".into(),
                action: Action::Monitor,
                filter,
            }],
            malformed: Verdict::Accept,
            mark_base: 0x4453_0000,
            starvation_chaddrs: 4,
            starvation_new_macs: 8,
        }
    })
}

/// The packet path on `data`: the first byte picks raw IP (even) or an Ethernet frame (odd);
/// then inspection, tracking, the decision, event serialization and a filter match.
pub fn packet_path(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let (meta, ip) = if mode % 2 == 1 {
        match parse_ethernet(rest) {
            Ok(f) => (
                PacketMeta {
                    source_mac: Some(f.src_mac),
                    dest_mac: Some(f.dst_mac),
                    interface: Some("brlan0".into()),
                },
                f.ip,
            ),
            Err(_) => return,
        }
    } else {
        (PacketMeta::default(), rest)
    };
    let (event, facts) = inspect(&meta, ip);
    let mut clients = ClientTable::new(16, 4);
    let obs = clients.observe(facts.source_mac, facts.client_mac, 0);
    let d = decide(policy(), &event, &facts, None, &obs);
    let _ = d.verdict;
    let _ = serde_json::to_string(&event);
    let _ = policy().rules[0].filter.matches(&event);
}

/// The filter language on arbitrary text.
pub fn filter_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(f) = Filter::parse(text) {
            let _ = f.matches(&crate::event::Event::default());
        }
    }
}

/// The NFQUEUE netlink decoder on arbitrary bytes.
pub fn netlink(data: &[u8]) {
    let _ = crate::nfqueue::wire::parse(data);
}
