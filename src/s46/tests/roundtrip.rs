//! Property-style round trips over generated valid containers: encode → decode gives the same
//! value and re-encoding gives the same bytes; colon-hex text round-trips too.

use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpmgr_lab::Rng;

use super::colon_hex;
use crate::s46::prefix::{mask128, mask32};
use crate::s46::{
    decode_colon_hex, decode_container, encode_container, parse_colon_hex, Ipv4Prefix, Ipv6Prefix,
    Lw4o6Container, MapContainer, MapTransport, PortParams, Psid, S46Container, S46Rule,
    V4V6Binding,
};

fn ipv6_prefix(rng: &mut Rng) -> Ipv6Prefix {
    let len = rng.below(129) as u8;
    let addr = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) & mask128(len);
    Ipv6Prefix::new(Ipv6Addr::from(addr), len).unwrap()
}

fn port_params(rng: &mut Rng) -> Option<PortParams> {
    if rng.below(3) == 0 {
        return None;
    }
    let offset = rng.below(16) as u8;
    let len = rng.below(usize::from(17 - offset)) as u8;
    let value = (rng.next_u64() & ((1u64 << len) - 1)) as u16;
    Some(PortParams::new(offset, Psid::new(value, len).unwrap()).unwrap())
}

fn rule(rng: &mut Rng) -> S46Rule {
    let len4 = rng.below(33) as u8;
    let addr4 = (rng.next_u64() as u32) & mask32(len4);
    S46Rule {
        flags: rng.byte(),
        ea_len: rng.below(49) as u8,
        ipv4_prefix: Ipv4Prefix::new(Ipv4Addr::from(addr4), len4).unwrap(),
        ipv6_prefix: ipv6_prefix(rng),
        port_params: port_params(rng),
    }
}

fn addrs(rng: &mut Rng) -> Vec<Ipv6Addr> {
    (0..1 + rng.below(3))
        .map(|_| Ipv6Addr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
        .collect()
}

fn container(rng: &mut Rng) -> S46Container {
    match rng.below(3) {
        0 | 1 => {
            let rules = (0..1 + rng.below(3)).map(|_| rule(rng)).collect();
            let transport = if rng.below(2) == 0 {
                MapTransport::Encapsulation {
                    border_relays: addrs(rng),
                }
            } else {
                MapTransport::Translation {
                    dmr: ipv6_prefix(rng),
                }
            };
            S46Container::Map(MapContainer { rules, transport })
        }
        _ => S46Container::Lw4o6(Lw4o6Container {
            binding: (rng.below(2) == 0).then(|| V4V6Binding {
                ipv4_address: Ipv4Addr::from(rng.next_u64() as u32),
                ipv6_prefix: ipv6_prefix(rng),
                port_params: port_params(rng),
            }),
            border_relays: addrs(rng),
        }),
    }
}

#[test]
fn s46_roundtrip_generated_containers() {
    let mut rng = Rng(0x5346_7598_7597_7599);
    for _ in 0..20_000 {
        let c = container(&mut rng);
        let code = c.code().0;
        let bytes = encode_container(&c);
        let decoded = decode_container(code, &bytes).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(decoded, c);
        assert_eq!(encode_container(&decoded), bytes);
        let text = colon_hex(&bytes);
        assert_eq!(parse_colon_hex(&text).unwrap(), bytes);
        assert_eq!(decode_colon_hex(code, &text).unwrap(), c);
    }
}
