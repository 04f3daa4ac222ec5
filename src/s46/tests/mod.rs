//! Tests of `s46` against the external vectors of `reference/s46_vectors.md` and RFC 7599
//! Appendix A, plus round-trip properties and a random-input smoke run.

mod map_examples;
mod negative;
mod roundtrip;
mod smoke;
mod vectors;

use super::{Ipv4Prefix, Ipv6Prefix, PortParams, Psid, S46Rule};

/// Bytes of a hex string; whitespace is ignored so vectors can be laid out as in the reference.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// dibbler-client's rendering of a payload: lowercase octets joined by colons.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn v6(text: &str) -> Ipv6Prefix {
    text.parse().unwrap()
}

fn v4(text: &str) -> Ipv4Prefix {
    let (addr, len) = text.split_once('/').unwrap();
    Ipv4Prefix::new(addr.parse().unwrap(), len.parse().unwrap()).unwrap()
}

fn params(offset: u8, psid: u16, psid_len: u8) -> Option<PortParams> {
    Some(PortParams::new(offset, Psid::new(psid, psid_len).unwrap()).unwrap())
}

fn rule(flags: u8, ea_len: u8, ipv4: &str, ipv6: &str, port_params: Option<PortParams>) -> S46Rule {
    S46Rule {
        flags,
        ea_len,
        ipv4_prefix: v4(ipv4),
        ipv6_prefix: v6(ipv6),
        port_params,
    }
}
