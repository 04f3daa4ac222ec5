//! Which addresses can play a unicast role at all (RFC 1122 §3.2.1.3, RFC 6890, RFC 4291 and
//! the IANA special-purpose registries): the predicates every lease field's check builds on.
//!
//! Documentation ranges (192.0.2.0/24, 2001:db8::/32, …), private and shared space (RFC 1918,
//! 100.64.0.0/10, ULAs) are usable: ISPs and labs hand them out. What is refused is what no
//! host may hold or talk to as a unicast peer.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why an IPv4 address cannot be a unicast host, or `None` when it can be.
pub(crate) fn v4_not_unicast(a: Ipv4Addr) -> Option<&'static str> {
    let [first, second, ..] = a.octets();
    Some(match (first, second) {
        _ if a.is_broadcast() => "the limited broadcast address",
        (0, _) => "in 0.0.0.0/8 (this network)",
        (127, _) => "in 127.0.0.0/8 (loopback)",
        (169, 254) => "in 169.254.0.0/16 (link-local)",
        (224..=239, _) => "in 224.0.0.0/4 (multicast)",
        (240..=255, _) => "in 240.0.0.0/4 (reserved)",
        _ => return None,
    })
}

/// Why an IPv6 address cannot be a global unicast address a host holds or talks to, or
/// `None` when it can be.
pub(crate) fn v6_not_global_unicast(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    Some(match s {
        _ if a.is_unspecified() => "the unspecified address",
        _ if a.is_loopback() => "the loopback address",
        [0, 0, 0, 0, 0, 0xffff, _, _] => "IPv4-mapped (::ffff:0:0/96)",
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible (::/96, deprecated)",
        [0x0100, 0, 0, 0, ..] => "in 100::/64 (discard-only)",
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => "in 64:ff9b::/96 (NAT64 well-known prefix)",
        [0x0064, 0xff9b, 0x0001, ..] => "in 64:ff9b:1::/48 (local-use NAT64)",
        [first, ..] if first >> 8 == 0 => "in ::/8 (reserved)",
        [first, ..] if first >> 8 == 0xff => "multicast",
        [first, ..] if first & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [first, ..] if first & 0xffc0 == 0xfec0 => "site-local (fec0::/10, deprecated)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_special_ranges_are_refused_with_their_name() {
        for (text, why) in [
            ("0.0.0.0", "0.0.0.0/8"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("127.0.0.1", "loopback"),
            ("169.254.7.7", "link-local"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.255", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
        ] {
            let got = v4_not_unicast(text.parse().unwrap());
            assert!(got.is_some_and(|g| g.contains(why)), "{text}: {got:?}");
        }
        for ok in [
            "192.0.2.1",
            "10.0.0.1",
            "100.64.0.1",
            "198.51.100.9",
            "1.1.1.1",
        ] {
            assert_eq!(v4_not_unicast(ok.parse().unwrap()), None, "{ok}");
        }
    }

    #[test]
    fn v6_special_ranges_are_refused_with_their_name() {
        for (text, why) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:192.0.2.1", "IPv4-mapped"),
            ("::192.0.2.1", "IPv4-compatible"),
            ("ff:1::", "::/8"),
            ("100::1", "discard"),
            ("64:ff9b::c000:201", "NAT64"),
            ("64:ff9b:1::1", "NAT64"),
            ("ff02::1:2", "multicast"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
        ] {
            let got = v6_not_global_unicast(text.parse().unwrap());
            assert!(got.is_some_and(|g| g.contains(why)), "{text}: {got:?}");
        }
        for ok in [
            "2001:db8::1",
            "2a00:1450::1",
            "fd00::1",
            "100:0:0:1::1",
            "2002:c000:201::1",
        ] {
            assert_eq!(v6_not_global_unicast(ok.parse().unwrap()), None, "{ok}");
        }
    }
}
