//! Payloads that must be refused, each with the error that names what is wrong: the negative
//! vectors of `reference/s46_vectors.md` (V2, V5) and one case per validation rule.

use super::{hex, vectors};
use crate::s46::{decode_colon_hex, decode_container, Field, OptionCode, S46Error};

const RULE: OptionCode = OptionCode::RULE;
const BR: OptionCode = OptionCode::BR;
const DMR: OptionCode = OptionCode::DMR;
const BIND: OptionCode = OptionCode::V4V6BIND;
const PARAMS: OptionCode = OptionCode::PORTPARAMS;
const MAPE: OptionCode = OptionCode::CONT_MAPE;
const MAPT: OptionCode = OptionCode::CONT_MAPT;
const LW: OptionCode = OptionCode::CONT_LW;

/// A valid rule (V4's), a DMR and a BR to build containers around the broken part.
const GOOD_RULE: &str = "0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000";
const GOOD_DMR: &str = "005b 0009 40 20010db8ffff0000";
const GOOD_BR: &str = "005a 0010 20010db8000000000000000000000001";
const GOOD_BIND: &str = "005c 000a c0000263 28 20010db856";

fn out_of_range(option: OptionCode, field: Field, value: u8, max: u8) -> S46Error {
    S46Error::OutOfRange {
        option,
        field,
        value,
        max,
    }
}

#[test]
fn s46_negative_vectors() {
    let cases: Vec<(&str, u16, String, S46Error)> = vec![
        // --- V2 (dhcpkit) ---
        (
            "prefix4-len 33",
            95,
            format!("0059 000d 01 10 21 01020300 22 20010db800 {GOOD_DMR}"),
            out_of_range(RULE, Field::Prefix4Len, 33, 32),
        ),
        (
            "prefix6-len 129",
            95,
            format!("0059 000d 01 10 18 01020300 81 20010db800 {GOOD_DMR}"),
            out_of_range(RULE, Field::Prefix6Len, 129, 128),
        ),
        (
            "rule option-len one short (0x0014 for 21 bytes)",
            95,
            format!("0059 0014 01 10 18 01020300 22 20010db800 005d 0004 06 07 fe00 {GOOD_DMR}"),
            // The container walk finds it first: the rule ends one byte early and that byte
            // (00) plus the DMR header read as option 0 of length 0x5b00.
            S46Error::Truncated {
                parent: MAPT,
                option: OptionCode(0),
                declared: 0x5b00,
                available: 10,
            },
        ),
        (
            "rule option-len one short, rule last",
            95,
            format!("{GOOD_DMR} 0059 0014 01 10 18 01020300 22 20010db800 005d 0004 06 07 fe00"),
            S46Error::TrailingBytes {
                parent: MAPT,
                remaining: 1,
            },
        ),
        (
            "DMR option-len 17 for a /32",
            95,
            format!("{GOOD_RULE} 005b 0011 20 20010db8 000000000000000000000000"),
            S46Error::Length {
                option: DMR,
                expected: 5,
                actual: 17,
            },
        ),
        // --- V5 (FreeRADIUS's non-RFC rule layout: no ea-len, 17 prefix bytes) ---
        (
            "FreeRADIUS S46-Rule",
            95,
            format!("0059 0017 01 18 c0a80000 20 20010db8 000000000000000000000000 {GOOD_DMR}"),
            out_of_range(RULE, Field::Prefix4Len, 0xc0, 32),
        ),
        // --- lengths ---
        (
            "container option-len beyond payload",
            95,
            format!("{GOOD_RULE} 005b 000a 40 20010db8ffff0000"),
            S46Error::Truncated {
                parent: MAPT,
                option: DMR,
                declared: 10,
                available: 9,
            },
        ),
        (
            "trailing garbage after the last option",
            95,
            format!("{GOOD_RULE} {GOOD_DMR} 00"),
            S46Error::TrailingBytes {
                parent: MAPT,
                remaining: 1,
            },
        ),
        (
            "trailing garbage inside a rule",
            95,
            format!("0059 0016 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 00 {GOOD_DMR}"),
            S46Error::TrailingBytes {
                parent: RULE,
                remaining: 1,
            },
        ),
        (
            "rule shorter than its fixed part",
            95,
            format!("0059 0007 01 10 18 c0000200 {GOOD_DMR}"),
            S46Error::TooShort {
                option: RULE,
                min: 8,
                actual: 7,
            },
        ),
        (
            "rule prefix bytes missing",
            95,
            format!("0059 000c 01 10 18 c0000200 28 20010db8 {GOOD_DMR}"),
            S46Error::TooShort {
                option: RULE,
                min: 13,
                actual: 12,
            },
        ),
        (
            "BR of 15 bytes",
            94,
            format!("{GOOD_RULE} 005a 000f 20010db80000000000000000000001"),
            S46Error::Length {
                option: BR,
                expected: 16,
                actual: 15,
            },
        ),
        (
            "empty DMR",
            95,
            format!("{GOOD_RULE} 005b 0000"),
            S46Error::TooShort {
                option: DMR,
                min: 1,
                actual: 0,
            },
        ),
        (
            "DMR one byte short",
            95,
            format!("{GOOD_RULE} 005b 0008 40 20010db8ffff00"),
            S46Error::TooShort {
                option: DMR,
                min: 9,
                actual: 8,
            },
        ),
        (
            "PORTPARAMS of 5 bytes",
            95,
            format!("0059 0016 01 10 18 c0000200 28 20010db800 005d 0005 06 00 0000 00 {GOOD_DMR}"),
            S46Error::Length {
                option: PARAMS,
                expected: 4,
                actual: 5,
            },
        ),
        (
            "binding shorter than its fixed part",
            96,
            format!("005c 0004 c0000263 {GOOD_BR}"),
            S46Error::TooShort {
                option: BIND,
                min: 5,
                actual: 4,
            },
        ),
        // --- ranges ---
        (
            "ea-len 49",
            95,
            format!("0059 000d 01 31 18 c0000200 28 20010db800 {GOOD_DMR}"),
            out_of_range(RULE, Field::EaLen, 49, 48),
        ),
        (
            "DMR prefix length 129",
            95,
            format!("{GOOD_RULE} 005b 0011 81 20010db8000000000000000000000000"),
            out_of_range(DMR, Field::Prefix6Len, 129, 128),
        ),
        (
            "binding prefix length 200",
            96,
            format!("005c 0005 c0000263 c8 {GOOD_BR}"),
            out_of_range(BIND, Field::Prefix6Len, 200, 128),
        ),
        (
            "PSID offset 16",
            95,
            format!("0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 10 00 0000 {GOOD_DMR}"),
            out_of_range(PARAMS, Field::PsidOffset, 16, 15),
        ),
        (
            "PSID-len 17",
            95,
            format!("0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 00 11 0000 {GOOD_DMR}"),
            out_of_range(PARAMS, Field::PsidLen, 17, 16),
        ),
        (
            "offset 8 + PSID-len 9",
            95,
            format!("0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 08 09 0080 {GOOD_DMR}"),
            S46Error::PortBitsOverflow {
                offset: 8,
                psid_len: 9,
            },
        ),
        // --- padding ---
        (
            "rule IPv6 prefix padding bit set (/36 with f1)",
            95,
            format!("0059 000d 01 0c 18 c0000200 24 20010db8f1 {GOOD_DMR}"),
            S46Error::NonZeroPadding {
                option: RULE,
                field: Field::Ipv6Prefix,
                len: 36,
            },
        ),
        (
            "DMR padding bit set (/33 with 80 01)",
            95,
            format!("{GOOD_RULE} 005b 0006 21 20010db881"),
            S46Error::NonZeroPadding {
                option: DMR,
                field: Field::Ipv6Prefix,
                len: 33,
            },
        ),
        (
            "PSID bits after PSID-len",
            95,
            format!("0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 06 fc01 {GOOD_DMR}"),
            S46Error::NonZeroPadding {
                option: PARAMS,
                field: Field::Psid,
                len: 6,
            },
        ),
        // --- sub-options and cardinality ---
        (
            "BR in a MAP-T container",
            95,
            format!("{GOOD_RULE} {GOOD_DMR} {GOOD_BR}"),
            S46Error::Unexpected {
                parent: MAPT,
                option: BR,
            },
        ),
        (
            "DMR in a MAP-E container",
            94,
            format!("{GOOD_RULE} {GOOD_BR} {GOOD_DMR}"),
            S46Error::Unexpected {
                parent: MAPE,
                option: DMR,
            },
        ),
        (
            "unknown option in a container",
            94,
            format!("{GOOD_RULE} {GOOD_BR} 1234 0000"),
            S46Error::Unexpected {
                parent: MAPE,
                option: OptionCode(0x1234),
            },
        ),
        (
            "rule in a LW4o6 container",
            96,
            format!("{GOOD_RULE} {GOOD_BR}"),
            S46Error::Unexpected {
                parent: LW,
                option: RULE,
            },
        ),
        (
            "BR nested in a rule",
            95,
            format!("0059 0021 01 10 18 c0000200 28 20010db800 {GOOD_BR} {GOOD_DMR}"),
            S46Error::Unexpected {
                parent: RULE,
                option: BR,
            },
        ),
        (
            "two PORTPARAMS in a rule",
            95,
            format!(
                "0059 001d 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 \
                 005d 0004 06 00 0000 {GOOD_DMR}"
            ),
            S46Error::Cardinality {
                parent: RULE,
                option: PARAMS,
                expected: "at most one",
                found: 2,
            },
        ),
        (
            "MAP-T without rule",
            95,
            GOOD_DMR.to_string(),
            S46Error::Cardinality {
                parent: MAPT,
                option: RULE,
                expected: "at least one",
                found: 0,
            },
        ),
        (
            "MAP-T without DMR",
            95,
            GOOD_RULE.to_string(),
            S46Error::Cardinality {
                parent: MAPT,
                option: DMR,
                expected: "exactly one",
                found: 0,
            },
        ),
        (
            "MAP-T with two DMRs",
            95,
            format!("{GOOD_RULE} {GOOD_DMR} {GOOD_DMR}"),
            S46Error::Cardinality {
                parent: MAPT,
                option: DMR,
                expected: "exactly one",
                found: 2,
            },
        ),
        (
            "MAP-E without BR",
            94,
            GOOD_RULE.to_string(),
            S46Error::Cardinality {
                parent: MAPE,
                option: BR,
                expected: "at least one",
                found: 0,
            },
        ),
        (
            "MAP-E without rule",
            94,
            GOOD_BR.to_string(),
            S46Error::Cardinality {
                parent: MAPE,
                option: RULE,
                expected: "at least one",
                found: 0,
            },
        ),
        (
            "empty container",
            94,
            String::new(),
            S46Error::Cardinality {
                parent: MAPE,
                option: RULE,
                expected: "at least one",
                found: 0,
            },
        ),
        (
            "LW4o6 with two bindings",
            96,
            format!("{GOOD_BIND} {GOOD_BIND} {GOOD_BR}"),
            S46Error::Cardinality {
                parent: LW,
                option: BIND,
                expected: "at most one",
                found: 2,
            },
        ),
        (
            "LW4o6 without BR",
            96,
            GOOD_BIND.to_string(),
            S46Error::Cardinality {
                parent: LW,
                option: BR,
                expected: "at least one",
                found: 0,
            },
        ),
        (
            "not a container code",
            89,
            GOOD_RULE.to_string(),
            S46Error::NotAContainer(RULE),
        ),
    ];
    for (what, code, payload, expected) in cases {
        let got = decode_container(code, &hex(&payload));
        assert_eq!(got, Err(expected), "{what}");
        // Every refusal says what is wrong in words.
        assert!(!got.unwrap_err().to_string().is_empty(), "{what}");
    }
}

#[test]
fn s46_negative_sanity_of_the_building_blocks() {
    // The parts used above are valid on their own, so each case fails for its stated reason.
    assert!(decode_container(95, &hex(&format!("{GOOD_RULE} {GOOD_DMR}"))).is_ok());
    assert!(decode_container(94, &hex(&format!("{GOOD_RULE} {GOOD_BR}"))).is_ok());
    assert!(decode_container(96, &hex(&format!("{GOOD_BIND} {GOOD_BR}"))).is_ok());
    assert!(decode_container(96, &hex(GOOD_BR)).is_ok());
}

#[test]
fn s46_negative_colon_hex() {
    let good = vectors::V4_SRV_OPTION95.replace(' ', "");
    assert!(decode_colon_hex(95, &good).is_ok());
    // Truncated text is a truncated option, not a panic.
    let cut = &good[..good.len() - 3];
    assert!(matches!(
        decode_colon_hex(95, cut),
        Err(S46Error::Truncated { .. })
    ));
    assert!(matches!(
        decode_colon_hex(95, &good.replace(':', "")),
        Err(S46Error::Hex { index: 0, .. })
    ));
    assert_eq!(
        decode_colon_hex(95, "[generic]"),
        Err(S46Error::Hex {
            index: 0,
            reason: "an octet must be exactly two hex digits"
        })
    );
}
