//! Decoding the externally produced encodings V1–V6 of `reference/s46_vectors.md`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{colon_hex, hex, params, rule, v6};
use crate::s46::{
    decode_colon_hex, decode_container, encode_container, Lw4o6Container, MapContainer,
    MapTransport, OptionCode, S46Container, V4V6Binding,
};

fn addr(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

/// Splits a whole option (code, len, payload) and checks option-len against the payload.
fn option(bytes: &[u8]) -> (u16, &[u8]) {
    let (header, payload) = bytes.split_at(4);
    let code = u16::from_be_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    assert_eq!(len, payload.len(), "option-len of the vector itself");
    (code, payload)
}

/// Decodes, checks the expected value, and checks the encoder gives back the same value
/// (and, when `byte_exact`, the same bytes).
fn check(code: u16, payload: &[u8], expected: &S46Container, byte_exact: bool) {
    let decoded = decode_container(code, payload).unwrap();
    assert_eq!(&decoded, expected);
    assert_eq!(decoded.code(), OptionCode(code));
    let encoded = encode_container(&decoded);
    if byte_exact {
        assert_eq!(encoded, payload);
    }
    assert_eq!(decode_container(code, &encoded).unwrap(), decoded);
}

#[test]
fn s46_v1_kea_mape_container() {
    // The bytes of Kea's `mape_bin`. The "contiguous hex" in s46_vectors.md has one '0' too
    // many in the BR (33 digits, 68.5 bytes); Kea's array is 16 bytes 2001:db8::abcd.
    let bytes = hex(
        "005e0040005a001020010db800000000000000000000abcd0059001880041ec00002c04020010db8000102\
         03005d00040806fc000059000c000620c00002012020010db8",
    );
    assert_eq!(bytes.len(), 68);
    let (code, payload) = option(&bytes);
    assert_eq!((code, payload.len()), (94, 64));
    let expected = S46Container::Map(MapContainer {
        rules: vec![
            // flags 0x80 is a reserved bit, not F (the Kea comment is wrong); 192.0.2.x, not
            // the 192.168.0.x of the comments.
            rule(
                0x80,
                4,
                "192.0.2.192/30",
                "2001:db8:1:203::/64",
                params(8, 63, 6),
            ),
            rule(0, 6, "192.0.2.1/32", "2001:db8::/32", None),
        ],
        transport: MapTransport::Encapsulation {
            border_relays: vec![addr("2001:db8::abcd")],
        },
    });
    // The BR comes first on the wire and last from the encoder: equal as values only.
    check(code, payload, &expected, false);
    let S46Container::Map(map) = decode_container(code, payload).unwrap() else {
        panic!("not MAP");
    };
    assert!(map.rules.iter().all(|r| !r.is_fmr()));
}

fn v2_rule() -> Vec<u8> {
    hex("0059 0015 01 10 18 01020300 22 20010db800  005d 0004 06 07 fe00")
}

#[test]
fn s46_v2_dhcpkit_encodings() {
    let expected_rule = rule(1, 16, "1.2.3.0/24", "2001:db8::/34", params(6, 127, 7));
    assert!(expected_rule.is_fmr());
    let dmr = hex("005b 0006 21 20010db800");
    let mapt = [v2_rule(), dmr].concat();
    check(
        95,
        &mapt,
        &S46Container::Map(MapContainer {
            rules: vec![expected_rule.clone()],
            transport: MapTransport::Translation {
                dmr: v6("2001:db8::/33"),
            },
        }),
        true,
    );

    let br = hex("005a 0010 20010db8000000000000000000000001");
    let mape = [v2_rule(), br.clone()].concat();
    check(
        94,
        &mape,
        &S46Container::Map(MapContainer {
            rules: vec![expected_rule],
            transport: MapTransport::Encapsulation {
                border_relays: vec![addr("2001:db8::1")],
            },
        }),
        true,
    );

    let bind = hex("005c 0012 01020304 22 20010db800  005d 0004 06 07 fe00");
    let lw = [bind, br].concat();
    check(
        96,
        &lw,
        &S46Container::Lw4o6(Lw4o6Container {
            binding: Some(V4V6Binding {
                ipv4_address: Ipv4Addr::new(1, 2, 3, 4),
                ipv6_prefix: v6("2001:db8::/34"),
                port_params: params(6, 127, 7),
            }),
            border_relays: vec![addr("2001:db8::1")],
        }),
        true,
    );
}

/// V3 rules, shared by the captured 94 and 95 (F=1, offset 6, k=0 in both).
fn v3_rules() -> Vec<crate::s46::S46Rule> {
    vec![
        rule(1, 12, "192.0.2.0/24", "2001:db8:f000::/36", params(6, 0, 0)),
        rule(
            1,
            16,
            "198.51.100.0/24",
            "2001:db8:9500::/40",
            params(6, 0, 0),
        ),
    ]
}

/// V3 payloads as captured (dhcpkit_dhcpv6-map.pcapng, REPLY, packet 4).
pub(super) const V3_MAPE: &str = "00590015010c18c00002002420010db8f0005d00040600000000590015011018\
     c63364002820010db895005d000406000000005a001020010db8000000000000000000000001005a001020010db8\
     000000000000000000000002";
pub(super) const V3_MAPT: &str = "00590015010c18c00002002420010db8f0005d00040600000000590015011018\
     c63364002820010db895005d000406000000005b00094020010db800000001";
pub(super) const V3_LW: &str =
    "005c0012c00002632820010db856005d00040205a800005a001020010db800050006000700080009000a";

#[test]
fn s46_v3_capture() {
    let mapt = hex(V3_MAPT);
    assert_eq!(mapt.len(), 63);
    check(
        95,
        &mapt,
        &S46Container::Map(MapContainer {
            rules: v3_rules(),
            transport: MapTransport::Translation {
                dmr: v6("2001:db8:0:1::/64"),
            },
        }),
        true,
    );
    check(
        94,
        &hex(V3_MAPE),
        &S46Container::Map(MapContainer {
            rules: v3_rules(),
            transport: MapTransport::Encapsulation {
                border_relays: vec![addr("2001:db8::1"), addr("2001:db8::2")],
            },
        }),
        true,
    );
    check(
        96,
        &hex(V3_LW),
        &S46Container::Lw4o6(Lw4o6Container {
            binding: Some(V4V6Binding {
                ipv4_address: Ipv4Addr::new(192, 0, 2, 99),
                // s46_vectors.md says 2001:db8:56::/40, which is not a /40; the bytes
                // 20 01 0d b8 56 are 2001:db8:5600::/40.
                ipv6_prefix: v6("2001:db8:5600::/40"),
                // PSID field 0xa800 with k = 5 → 21.
                port_params: params(2, 21, 5),
            }),
            border_relays: vec![addr("2001:db8:5:6:7:8:9:a")],
        }),
        true,
    );
}

/// V4: Kea 2.2 → dibbler-client 1.0.1, as the script saw it.
pub(super) const V4_SRV_OPTION95: &str =
    "00:59:00:15:01:10:18:c0:00:02:00:28:20:01:0d:b8:00:00:5d:\
     00:04:06:00:00:00:00:5b:00:09:40:20:01:0d:b8:ff:ff:00:00";

pub(super) fn v4_container() -> MapContainer {
    MapContainer {
        rules: vec![rule(
            1,
            16,
            "192.0.2.0/24",
            "2001:db8::/40",
            params(6, 0, 0),
        )],
        transport: MapTransport::Translation {
            dmr: v6("2001:db8:ffff::/64"),
        },
    }
}

#[test]
fn s46_v4_kea_to_dibbler_colon_hex() {
    let text = V4_SRV_OPTION95.replace(' ', "");
    let decoded = decode_colon_hex(95, &text).unwrap();
    assert_eq!(decoded, S46Container::Map(v4_container()));
    let payload = encode_container(&decoded);
    assert_eq!(payload.len(), 38);
    assert_eq!(colon_hex(&payload), text);
    // The same text with dibbler's trailing space.
    assert_eq!(decode_colon_hex(95, &format!("{text} ")).unwrap(), decoded);
}

#[test]
fn s46_v5_freeradius_sub_options() {
    let v5_rule = hex("0059 000d 00 10 18 c0000200 28 20010db800");
    // S46-Border-Relay = 2001:db8::1.
    let br = hex("005a 0010 20010db8 00000000 00000000 00000001");
    check(
        94,
        &[v5_rule.clone(), br].concat(),
        &S46Container::Map(MapContainer {
            rules: vec![rule(0, 16, "192.0.2.0/24", "2001:db8::/40", None)],
            transport: MapTransport::Encapsulation {
                border_relays: vec![addr("2001:db8::1")],
            },
        }),
        true,
    );
    for (dmr, prefix) in [
        ("005b 0001 00", "::/0"),
        ("005b 0005 20 20010db8", "2001:db8::/32"),
        ("005b 0007 30 20010db8abcd", "2001:db8:abcd::/48"),
        (
            "005b 0011 80 00000000 00000000 00000000 00000001",
            "::1/128",
        ),
    ] {
        check(
            95,
            &[v5_rule.clone(), hex(dmr)].concat(),
            &S46Container::Map(MapContainer {
                rules: vec![rule(0, 16, "192.0.2.0/24", "2001:db8::/40", None)],
                transport: MapTransport::Translation { dmr: v6(prefix) },
            }),
            true,
        );
    }
    // PORTPARAMS offset 6, len 8, "PSID 1024" = the left-aligned field 0x0400 → PSID 4.
    let with_params = hex("0059 0015 00 10 18 c0000200 28 20010db800  005d 0004 06 08 0400");
    let dmr = hex("005b 0005 20 20010db8");
    check(
        95,
        &[with_params, dmr].concat(),
        &S46Container::Map(MapContainer {
            rules: vec![rule(
                0,
                16,
                "192.0.2.0/24",
                "2001:db8::/40",
                params(6, 4, 8),
            )],
            transport: MapTransport::Translation {
                dmr: v6("2001:db8::/32"),
            },
        }),
        true,
    );
}

#[test]
fn s46_v6_kea_config_text() {
    // "s46-rule" data "1, 0, 24, 192.0.2.0, 2001:db8:1::/64" plus
    // "s46-portparams" data "2, 3/4" (offset 2, PSID-len 4, field 0x3000).
    let container = S46Container::Map(MapContainer {
        rules: vec![rule(
            1,
            0,
            "192.0.2.0/24",
            "2001:db8:1::/64",
            params(2, 3, 4),
        )],
        transport: MapTransport::Translation {
            dmr: v6("2001:db8:ffff::/64"),
        },
    });
    let bytes = encode_container(&container);
    let expected_rule =
        hex("0059 0018 01 00 18 c0000200 40 20010db800010000  005d 0004 02 04 3000");
    assert_eq!(&bytes[..expected_rule.len()], expected_rule);
    assert_eq!(decode_container(95, &bytes).unwrap(), container);
}
