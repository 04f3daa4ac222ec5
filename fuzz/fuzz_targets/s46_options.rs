//! Fuzz target for `dhcpmgr::s46`: arbitrary bytes as the payload of option 94, 95 or 96 (the
//! first byte picks the code) and as dibbler colon-hex text. Decoding must never panic; what
//! decodes must re-encode to something that decodes to the same value and the same bytes; the
//! MAP computation, forward mapping, DMR embedding and sysevent formatting run on every decoded
//! MAP container and must never panic, and compute() and forward() must agree.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpmgr::s46::{
    compute, decode_colon_hex, decode_container, dmr_address, encode_container, forward, sysevents,
    Ipv6Prefix, MapTransport, S46Container, MAP_SYSEVENT_KEYS,
};
use libfuzzer_sys::fuzz_target;

fn mask(len: u32) -> u128 {
    u128::MAX.checked_shl(128 - len.min(128)).unwrap_or(0)
}

/// 128 bits taken from the input, for delegated prefixes and addresses.
fn noise(data: &[u8]) -> u128 {
    let mut octets = [0u8; 16];
    for (dst, src) in octets.iter_mut().zip(data.iter().rev()) {
        *dst = *src;
    }
    u128::from_be_bytes(octets)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let code = match selector % 4 {
        0 => 94,
        1 => 95,
        2 => 96,
        _ => u16::from(selector),
    };
    if let Ok(text) = std::str::from_utf8(payload) {
        let _ = decode_colon_hex(code, text);
    }
    let Ok(container) = decode_container(code, payload) else {
        return;
    };
    let bytes = encode_container(&container);
    let again = decode_container(code, &bytes).expect("an encoded container decodes");
    assert_eq!(again, container);
    assert_eq!(encode_container(&again), bytes);

    let S46Container::Map(map) = &container else {
        return;
    };
    let bits = noise(payload);
    for rule in &map.rules {
        let n = u32::from(rule.ipv6_prefix.prefix_len());
        let len = (n + u32::from(rule.ea_len) + u32::from(selector >> 5)).min(128);
        let addr = (u128::from(rule.ipv6_prefix.addr()) & mask(n) | bits & !mask(n)) & mask(len);
        let delegated = Ipv6Prefix::new(Ipv6Addr::from(addr), len as u8).expect("masked prefix");
        if let Ok(config) = compute(map, delegated) {
            assert_eq!(config.end_user_prefix, delegated);
            assert!(!config.port_ranges.is_empty());
            let events = sysevents(&config);
            assert!(MAP_SYSEVENT_KEYS.iter().all(|k| events.contains_key(*k)));
            let bmr = &config.bmr;
            let eup_len = u32::from(bmr.ipv6_prefix.prefix_len()) + u32::from(bmr.ea_len);
            if len == eup_len {
                let port = config.port_ranges.last().map_or(0, |r| r.last);
                assert_eq!(
                    forward(bmr, config.ipv4_address, port),
                    Ok(config.map_ipv6_address)
                );
            }
        }
        let _ = forward(rule, Ipv4Addr::from(bits as u32), (bits >> 32) as u16);
    }
    if let MapTransport::Translation { dmr } = &map.transport {
        let _ = dmr_address(dmr, Ipv4Addr::from((bits >> 64) as u32));
    }
});
