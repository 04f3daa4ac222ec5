//! The MAP algorithm against RFC 7599 Appendix A (Examples 1–5, with the defects noted in
//! `reference/s46_vectors.md` V7 corrected), the real Kea → dibbler option 95 (V4), hand
//! computations on the captured V1/V3 rules, the sysevent values, and every MapError.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{hex, params, rule, v6, vectors};
use crate::s46::{
    compute, decode_container, dmr_address, forward, sysevents, MapConfig, MapContainer, MapError,
    MapTransport, PortRange, Psid, S46Container, S46Rule, MAP_SYSEVENT_KEYS,
};

fn ip6(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

fn mapt(rules: Vec<S46Rule>, dmr: &str) -> MapContainer {
    MapContainer {
        rules,
        transport: MapTransport::Translation { dmr: v6(dmr) },
    }
}

fn ranges(config: &MapConfig) -> Vec<String> {
    config.port_ranges.iter().map(ToString::to_string).collect()
}

/// RFC 7599 Ex. 1 BMR: 2001:db8::/40, 192.0.2.0/24, EA-len 16.
fn ex1_rule() -> S46Rule {
    rule(0, 16, "192.0.2.0/24", "2001:db8::/40", None)
}

const EX_DMR: &str = "2001:db8:ffff::/64";
const EX_EUP: &str = "2001:db8:12:3400::/56";

/// The Example 1 port set: 63 ranges of 4 ports, 1232-1235 … 64720-64723.
fn assert_ex1_ports(config: &MapConfig) {
    let r = ranges(config);
    assert_eq!(r.len(), 63);
    assert_eq!(&r[..2], ["1232-1235", "2256-2259"]);
    assert_eq!(&r[61..], ["63696-63699", "64720-64723"]);
}

#[test]
fn s46_rfc7599_example_1_bmr() {
    let c = compute(&mapt(vec![ex1_rule()], EX_DMR), v6(EX_EUP)).unwrap();
    assert_eq!(c.ea_bits, 0x1234);
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 18));
    assert_eq!((c.psid.value(), c.psid.bits()), (0x34, 8));
    assert_eq!(c.psid_offset, 6);
    assert_eq!(c.sharing_ratio, 256);
    assert_ex1_ports(&c);
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:0:c000:212:34"));
    assert!(!c.is_fmr());
}

#[test]
fn s46_rfc7599_example_2_br() {
    // A BR with the same rule as FMR, packet 10.2.3.4:80 → 192.0.2.18:1232.
    let fmr = rule(1, 16, "192.0.2.0/24", "2001:db8::/40", None);
    assert_eq!(
        forward(&fmr, Ipv4Addr::new(192, 0, 2, 18), 1232).unwrap(),
        ip6("2001:db8:12:3400:0:c000:212:34")
    );
    // Source through the DMR (RFC 6052 /64, u-octet zero).
    assert_eq!(
        dmr_address(&v6(EX_DMR), Ipv4Addr::new(10, 2, 3, 4)).unwrap(),
        ip6("2001:db8:ffff:0:a:203:400:0")
    );
    // Every port of the CE's set maps to the CE, ports of other sets elsewhere.
    let c = compute(&mapt(vec![ex1_rule()], EX_DMR), v6(EX_EUP)).unwrap();
    for r in &c.port_ranges {
        for port in [r.first, r.last] {
            assert_eq!(
                forward(&fmr, c.ipv4_address, port).unwrap(),
                c.map_ipv6_address
            );
        }
    }
    assert_ne!(
        forward(&fmr, c.ipv4_address, 1236).unwrap(),
        c.map_ipv6_address
    );
    // Port 80 is in the range a = 6 excludes; addresses outside the rule are refused.
    assert_eq!(
        forward(&fmr, c.ipv4_address, 80),
        Err(MapError::PortExcluded {
            port: 80,
            offset: 6
        })
    );
    assert!(matches!(
        forward(&fmr, Ipv4Addr::new(10, 2, 3, 4), 1232),
        Err(MapError::Ipv4OutsideRule { .. })
    ));
}

#[test]
fn s46_rfc7599_example_3_fmr() {
    // The CE of Example 1 sending 192.0.2.18:1232 → 10.2.3.4:80.
    let c = compute(&mapt(vec![ex1_rule()], EX_DMR), v6(EX_EUP)).unwrap();
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:0:c000:212:34"));
    assert!(c
        .port_ranges
        .iter()
        .any(|r| (r.first..=r.last).contains(&1232)));
    let MapTransport::Translation { dmr } = &c.transport else {
        panic!("MAP-T");
    };
    assert_eq!(
        dmr_address(dmr, Ipv4Addr::new(10, 2, 3, 4)).unwrap(),
        ip6("2001:db8:ffff:0:a:203:400:0")
    );
}

#[test]
fn s46_rfc7599_example_4_no_ea_bits_no_sharing() {
    // The RFC text says "IPv4 address: 192.0.2.18" but its rule is 192.0.2.1/32 and its IID
    // c000:0201: the address is 192.0.2.1.
    let r = rule(0, 0, "192.0.2.1/32", "2001:db8:12:3400::/56", None);
    let c = compute(&mapt(vec![r], EX_DMR), v6(EX_EUP)).unwrap();
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!((c.psid, c.sharing_ratio, c.ea_bits), (Psid::NONE, 1, 0));
    assert_eq!(
        c.port_ranges,
        [PortRange {
            first: 0,
            last: 65535
        }]
    );
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:0:c000:201:0"));
}

#[test]
fn s46_rfc7599_example_5_no_ea_bits_explicit_psid() {
    // PSID 0x34 (the RFC's "0x20 (provisioned)" is erratum 5324), k = 8, default offset 6.
    let r = rule(
        0,
        0,
        "192.0.2.18/32",
        "2001:db8:12:3400::/56",
        params(6, 0x34, 8),
    );
    let c = compute(&mapt(vec![r], EX_DMR), v6(EX_EUP)).unwrap();
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 18));
    assert_eq!((c.psid.value(), c.psid.bits(), c.psid_offset), (0x34, 8, 6));
    assert_eq!(c.sharing_ratio, 256);
    assert_ex1_ports(&c);
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:0:c000:212:34"));
}

/// V4: the option 95 Kea sent dibbler-client in the lab, with IA_PD 2001:db8:12:3400::/56.
///
/// By hand: BMR 2001:db8::/40 (n = 40), 192.0.2.0/24 (r = 24), EA-len o = 16, F = 1,
/// S46_PORTPARAMS offset 6 with k = 0 (so a = 6, PSID from the EA bits).
/// EA bits = bits 40..55 of 2001:0db8:0012:34.. = 0x12 0x34 = 0x1234.
/// p = 32 - 24 = 8 → IPv4 suffix 0x12 → 192.0.2.18; q = 16 - 8 = 8 → PSID 0x34 = 52,
/// ratio 2^8 = 256; m = 16 - 6 - 8 = 2 → ports A·1024 + 52·4 + 0..3 for A = 1..63:
/// 1232-1235 … 64720-64723. IID = 0000:c000:0212:0034 → 2001:db8:12:3400:0:c000:212:34.
#[test]
fn s46_v4_kea_dibbler_map_config_and_sysevents() {
    let text = vectors::V4_SRV_OPTION95.replace(' ', "");
    let S46Container::Map(container) = crate::s46::decode_colon_hex(95, &text).unwrap() else {
        panic!("not MAP");
    };
    assert_eq!(container, vectors::v4_container());
    let c = compute(&container, v6(EX_EUP)).unwrap();
    assert_eq!(c.ea_bits, 0x1234);
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 18));
    assert_eq!((c.psid.value(), c.psid.bits(), c.psid_offset), (52, 8, 6));
    assert_eq!(c.sharing_ratio, 256);
    assert_ex1_ports(&c);
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:0:c000:212:34"));
    assert!(c.is_fmr());

    let expected: BTreeMap<String, String> = [
        ("mapt_config_flag", "set"),
        ("map_transport_mode", "MAPT"),
        ("map_rule_ipv6_address", "2001:db8::/40"),
        ("map_rule_ip_address", "192.0.2.0/24"),
        ("map_ea_length", "16"),
        ("map_is_fmr", "TRUE"),
        ("map_br_ipv6_prefix", "2001:db8:ffff::/64"),
        ("mapt_psid_offset", "6"),
        ("mapt_psid_length", "8"),
        ("mapt_psid_value", "52"),
        ("mapt_ip_address", "192.0.2.18"),
        ("mapt_ratio", "256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let got = sysevents(&c);
    assert_eq!(got, expected);
    assert!(got.keys().map(String::as_str).eq({
        let mut keys = MAP_SYSEVENT_KEYS;
        keys.sort_unstable();
        keys
    }));
}

/// V3 capture, MAP-T rule 1: 2001:db8:f000::/36, 192.0.2.0/24, EA-len 12, offset 6.
/// Delegated 2001:db8:f123::/48: EA = bits 36..47 = 0x123 → suffix 0x12 (192.0.2.18),
/// PSID 0x3 with k = 4, ratio 16, m = 6: A·1024 + 3·64 + 0..63 → 1216-1279 … 64704-64767.
/// Rule 2: 2001:db8:9500::/40, 198.51.100.0/24, EA-len 16; delegated 2001:db8:95ab:cd00::/56:
/// EA = 0xabcd → 198.51.100.171, PSID 0xcd = 205, k = 8, first range 1024 + 820 = 1844-1847.
#[test]
fn s46_v3_capture_map_configs() {
    let S46Container::Map(t) = decode_container(95, &hex(vectors::V3_MAPT)).unwrap() else {
        panic!("not MAP");
    };
    let c = compute(&t, v6("2001:db8:f123::/48")).unwrap();
    assert_eq!(c.bmr, t.rules[0]);
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 18));
    assert_eq!((c.psid.value(), c.psid.bits(), c.sharing_ratio), (3, 4, 16));
    let r = ranges(&c);
    assert_eq!((r.len(), r[0].as_str()), (63, "1216-1279"));
    assert_eq!(r[62], "64704-64767");
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:f123::c000:212:3"));

    let c = compute(&t, v6("2001:db8:95ab:cd00::/56")).unwrap();
    assert_eq!(c.bmr, t.rules[1]);
    assert_eq!(c.ipv4_address, Ipv4Addr::new(198, 51, 100, 171));
    assert_eq!((c.psid.value(), c.psid.bits()), (205, 8));
    assert_eq!(ranges(&c)[0], "1844-1847");
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:95ab:cd00:0:c633:64ab:cd"));

    // The captured DMR 2001:db8:0:1::/64 embeds like RFC 7599's.
    let MapTransport::Translation { dmr } = &t.transport else {
        panic!("MAP-T");
    };
    assert_eq!(
        dmr_address(dmr, Ipv4Addr::new(10, 2, 3, 4)).unwrap(),
        ip6("2001:db8:0:1:a:203:400:0")
    );

    // MAP-E (94) from the same capture: same rule, BR reported as address/128.
    let S46Container::Map(e) = decode_container(94, &hex(vectors::V3_MAPE)).unwrap() else {
        panic!("not MAP");
    };
    let c = compute(&e, v6("2001:db8:f123::/48")).unwrap();
    let s = sysevents(&c);
    assert_eq!(s["map_transport_mode"], "MAPE");
    assert_eq!(s["map_br_ipv6_prefix"], "2001:db8::1/128");
    assert_eq!(s["map_rule_ipv6_address"], "2001:db8:f000::/36");
    assert_eq!(s["mapt_ip_address"], "192.0.2.18");
    assert_eq!(s["mapt_ratio"], "16");
}

/// V1 (Kea) rules. Rule 2 (2001:db8::/32, 192.0.2.1/32, EA-len 6) with 2001:db8:ac00::/38:
/// EA = first 6 bits of 0xac00 = 0b101011 = 43, p = 0, so 192.0.2.1 shared with PSID 43, k = 6,
/// ratio 64, m = 4: A·1024 + 43·16 → 1712-1727 … 65200-65215.
/// Rule 1 (2001:db8:1:203::/64, 192.0.2.192/30, EA-len 4, PORTPARAMS k = 6 PSID 63) gives
/// q = 4 - 2 = 2 PSID bits in the EA bits, which contradicts the explicit 6-bit PSID: Kea's
/// encoding test vector is not a usable MAP configuration.
#[test]
fn s46_v1_kea_rules_map_configs() {
    let bytes = hex(
        "005a001020010db800000000000000000000abcd0059001880041ec00002c04020010db8000102\
         03005d00040806fc000059000c000620c00002012020010db8",
    );
    let S46Container::Map(e) = decode_container(94, &bytes).unwrap() else {
        panic!("not MAP");
    };
    let c = compute(&e, v6("2001:db8:ac00::/38")).unwrap();
    assert_eq!(c.bmr, e.rules[1]);
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(
        (c.psid.value(), c.psid.bits(), c.sharing_ratio),
        (43, 6, 64)
    );
    let r = ranges(&c);
    assert_eq!(
        (r.len(), r[0].as_str(), r[62].as_str()),
        (63, "1712-1727", "65200-65215")
    );
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:ac00::c000:201:2b"));
    assert_eq!(sysevents(&c)["map_br_ipv6_prefix"], "2001:db8::abcd/128");

    // Longest match picks rule 1 (/64 over /32) and then refuses it.
    assert_eq!(
        compute(&e, v6("2001:db8:1:203:f000::/68")),
        Err(MapError::PsidConflict {
            explicit_value: 63,
            explicit_len: 6,
            derived_value: 3,
            derived_len: 2
        })
    );
    assert_eq!(
        compute(&e, v6("2001:db8:1:203::/64")),
        Err(MapError::EndUserPrefixTooShort {
            delegated: v6("2001:db8:1:203::/64"),
            needed: 68
        })
    );
}

#[test]
fn s46_map_delegated_prefix_longer_than_64() {
    // n + o = 56 < 72: bits 56..71 are subnet bits of the delegated prefix and overwrite the
    // top of the interface identifier (RFC 7599 §6).
    let c = compute(
        &mapt(vec![ex1_rule()], EX_DMR),
        v6("2001:db8:12:3400:ab00::/72"),
    )
    .unwrap();
    assert_eq!(c.ipv4_address, Ipv4Addr::new(192, 0, 2, 18));
    assert_eq!(c.map_ipv6_address, ip6("2001:db8:12:3400:ab00:c000:212:34"));
}

#[test]
fn s46_map_errors() {
    let ex1 = mapt(vec![ex1_rule()], EX_DMR);
    assert_eq!(
        compute(&ex1, v6("2001:db9::/56")),
        Err(MapError::NoMatchingRule(v6("2001:db9::/56")))
    );
    assert_eq!(
        compute(&mapt(vec![], EX_DMR), v6(EX_EUP)),
        Err(MapError::NoMatchingRule(v6(EX_EUP)))
    );
    assert_eq!(
        compute(&ex1, v6("2001:db8:12::/48")),
        Err(MapError::EndUserPrefixTooShort {
            delegated: v6("2001:db8:12::/48"),
            needed: 56
        })
    );
    // V6's Kea rule (EA-len 0, 192.0.2.0/24) would delegate an IPv4 /24.
    let v6_rule = rule(1, 0, "192.0.2.0/24", "2001:db8:1::/64", None);
    assert_eq!(
        compute(&mapt(vec![v6_rule], EX_DMR), v6("2001:db8:1::/64")),
        Err(MapError::Ipv4PrefixDelegation {
            ea_len: 0,
            prefix4_len: 24
        })
    );
    let long = rule(0, 48, "10.0.0.0/8", "2001:db8::/32", None);
    assert_eq!(
        compute(&mapt(vec![long], EX_DMR), v6("2001:db8::/80")),
        Err(MapError::PsidTooLong {
            psid_len: 24,
            ea_len: 48,
            prefix4_len: 8
        })
    );
    let offset15 = rule(0, 16, "192.0.2.0/24", "2001:db8::/40", params(15, 0, 0));
    assert_eq!(
        compute(&mapt(vec![offset15.clone()], EX_DMR), v6(EX_EUP)),
        Err(MapError::PortBitsOverflow {
            offset: 15,
            psid_len: 8
        })
    );
    assert_eq!(
        forward(&offset15, Ipv4Addr::new(192, 0, 2, 18), 1232),
        Err(MapError::PortBitsOverflow {
            offset: 15,
            psid_len: 8
        })
    );
    // A DMR that decodes (V5's ::1/128) but cannot carry an IPv4 address.
    assert_eq!(
        compute(&mapt(vec![ex1_rule()], "::1/128"), v6(EX_EUP)),
        Err(MapError::DmrLength(128))
    );
    assert_eq!(
        compute(&mapt(vec![ex1_rule()], "2001:db8::/60"), v6(EX_EUP)),
        Err(MapError::DmrLength(60))
    );
    // Two different rules with the same IPv6 prefix; an identical duplicate is harmless.
    let other = rule(0, 16, "198.51.100.0/24", "2001:db8::/40", None);
    assert_eq!(
        compute(&mapt(vec![ex1_rule(), other], EX_DMR), v6(EX_EUP)),
        Err(MapError::AmbiguousRule(v6("2001:db8::/40")))
    );
    assert!(compute(&mapt(vec![ex1_rule(), ex1_rule()], EX_DMR), v6(EX_EUP)).is_ok());
    // A rule prefix + EA bits past 128 can only be hit through forward().
    let beyond = rule(0, 16, "192.0.2.0/24", "2001:db8::ff00/120", None);
    assert_eq!(
        forward(&beyond, Ipv4Addr::new(192, 0, 2, 18), 1232),
        Err(MapError::EaBitsBeyond128 {
            rule: v6("2001:db8::ff00/120"),
            ea_len: 16
        })
    );
    // Messages name the parameters.
    assert_eq!(
        MapError::DmrLength(60).to_string(),
        "DMR prefix length 60 is not one of 32, 40, 48, 56, 64, 96 (RFC 6052 §2.2, RFC 7599 §5.1)"
    );
}

#[test]
fn s46_forward_without_ea_psid() {
    // Example 5 as an FMR: k and offset from PORTPARAMS, PSID from the port.
    let r = rule(
        1,
        0,
        "192.0.2.18/32",
        "2001:db8:12:3400::/56",
        params(6, 0x34, 8),
    );
    assert_eq!(
        forward(&r, Ipv4Addr::new(192, 0, 2, 18), 64723).unwrap(),
        ip6("2001:db8:12:3400:0:c000:212:34")
    );
    // Example 4 as an FMR: no sharing, every port (even 80) maps to the one CE.
    let r = rule(1, 0, "192.0.2.1/32", "2001:db8:12:3400::/56", None);
    assert_eq!(
        forward(&r, Ipv4Addr::new(192, 0, 2, 1), 80).unwrap(),
        ip6("2001:db8:12:3400:0:c000:201:0")
    );
    // ::/0 rule with no EA bits: the whole shift is 128 bits.
    let r = rule(0, 0, "192.0.2.1/32", "::/0", None);
    assert_eq!(
        forward(&r, Ipv4Addr::new(192, 0, 2, 1), 80).unwrap(),
        ip6("::c000:201:0")
    );
}
