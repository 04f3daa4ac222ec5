//! A smoke run of what the fuzz target does, on 100k random byte strings and 100k mutations of
//! the reference vectors: decoding must never panic, what decodes must round-trip, and the MAP
//! computation on whatever decodes must never panic either.

use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpmgr_lab::Rng;

use super::{hex, vectors};
use crate::s46::prefix::mask128;
use crate::s46::{
    compute, decode_container, dmr_address, encode_container, forward, parse_colon_hex, sysevents,
    Ipv6Prefix, MapTransport, S46Container,
};

/// Everything downstream of a successful decode, as the fuzz target runs it.
fn exercise(code: u16, payload: &[u8], rng: &mut Rng) -> bool {
    let Ok(container) = decode_container(code, payload) else {
        return false;
    };
    let bytes = encode_container(&container);
    assert_eq!(decode_container(code, &bytes).as_ref(), Ok(&container));
    let S46Container::Map(map) = &container else {
        return true;
    };
    for rule in &map.rules {
        // A delegated prefix inside the rule, as long as rule + EA bits plus a few.
        let len = (u32::from(rule.ipv6_prefix.prefix_len())
            + u32::from(rule.ea_len)
            + rng.below(9) as u32)
            .min(128) as u8;
        let random = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
        let keep = mask128(rule.ipv6_prefix.prefix_len());
        let addr = (u128::from(rule.ipv6_prefix.addr()) & keep | random & !keep) & mask128(len);
        let delegated = Ipv6Prefix::new(Ipv6Addr::from(addr), len).unwrap();
        if let Ok(config) = compute(map, delegated) {
            assert_eq!(sysevents(&config).len(), 12);
            assert!(config.port_ranges.iter().all(|r| r.first <= r.last));
            // compute() and forward() agree when the delegated prefix is exactly rule + EA.
            let bmr = &config.bmr;
            if u32::from(len) == u32::from(bmr.ipv6_prefix.prefix_len()) + u32::from(bmr.ea_len) {
                let port = config.port_ranges.last().map_or(0, |r| r.last);
                assert_eq!(
                    forward(bmr, config.ipv4_address, port),
                    Ok(config.map_ipv6_address)
                );
            }
        }
        let v4 = Ipv4Addr::from(rng.next_u64() as u32);
        let _ = forward(rule, v4, rng.next_u64() as u16);
    }
    if let MapTransport::Translation { dmr } = &map.transport {
        let _ = dmr_address(dmr, Ipv4Addr::from(rng.next_u64() as u32));
    }
    true
}

#[test]
fn s46_smoke_random_and_mutated_inputs() {
    let mut rng = Rng(0x0095_0094_0096_0089);
    let codes = [94, 95, 96];

    let mut decoded = 0;
    for _ in 0..100_000 {
        let len = rng.below(80);
        let bytes = rng.bytes(len);
        let code = if rng.below(16) == 0 {
            rng.next_u64() as u16
        } else {
            codes[rng.below(3)]
        };
        decoded += usize::from(exercise(code, &bytes, &mut rng));
    }

    let seeds: Vec<(u16, Vec<u8>)> =
        vec![
        (95, hex(vectors::V3_MAPT)),
        (94, hex(vectors::V3_MAPE)),
        (96, hex(vectors::V3_LW)),
        (
            95,
            parse_colon_hex(&vectors::V4_SRV_OPTION95.replace(' ', "")).unwrap(),
        ),
        (
            94,
            hex("005a001020010db800000000000000000000abcd0059001880041ec00002c04020010db8000102\
                 03005d00040806fc000059000c000620c00002012020010db8"),
        ),
    ];
    let mut mutated_ok = 0;
    for i in 0..100_000 {
        let (code, seed) = &seeds[i % seeds.len()];
        let bytes = rng.mutate(seed, &[]);
        mutated_ok += usize::from(exercise(*code, &bytes, &mut rng));
        // The same bytes as dibbler text, with a random character damaged now and then.
        let mut text: Vec<char> = super::colon_hex(&bytes).chars().collect();
        if !text.is_empty() && rng.below(4) == 0 {
            let at = rng.below(text.len());
            text[at] = ['g', ' ', ':', 'F', 'é'][rng.below(5)];
        }
        let text: String = text.into_iter().collect();
        let _ = parse_colon_hex(&text);
    }
    // The mutations must reach past the header checks often enough to mean something.
    assert!(
        mutated_ok > 1_000,
        "only {mutated_ok} mutated inputs decoded"
    );
    assert!(decoded < 100_000);
}
