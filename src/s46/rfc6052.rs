//! IPv4-embedded IPv6 addresses (RFC 6052 §2.2) behind a MAP-T Default Mapping Rule prefix:
//! how a MAP-T CE addresses IPv4 destinations outside its domain (RFC 7599 §5.1).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::MapError;
use super::prefix::Ipv6Prefix;

/// The prefix lengths RFC 6052 §2.2 defines an embedding for.
const LENGTHS: [u8; 6] = [32, 40, 48, 56, 64, 96];

/// Refuses DMR prefix lengths without an RFC 6052 embedding (RFC 7599 §5.1 also caps it at 96).
pub(crate) fn check_dmr_len(len: u8) -> Result<(), MapError> {
    if LENGTHS.contains(&len) {
        Ok(())
    } else {
        Err(MapError::DmrLength(len))
    }
}

/// The IPv6 address standing for `ipv4` behind `dmr`: the 32 IPv4 bits follow the prefix,
/// skipping bits 64–71 (the "u" octet, zero), and the suffix is zero.
pub fn dmr_address(dmr: &Ipv6Prefix, ipv4: Ipv4Addr) -> Result<Ipv6Addr, MapError> {
    let len = dmr.prefix_len();
    check_dmr_len(len)?;
    let prefix = u128::from(dmr.addr());
    let v4 = u32::from(ipv4);
    if len == 96 {
        return Ok(Ipv6Addr::from(prefix | u128::from(v4)));
    }
    // `before` IPv4 bits end at bit 63; the remaining 32 - before start at bit 72.
    let before = 64 - u32::from(len);
    let high = v4.checked_shr(32 - before).unwrap_or(0);
    let low = v4 & u32::MAX.checked_shr(before).unwrap_or(0);
    Ok(Ipv6Addr::from(
        prefix | u128::from(high) << 64 | u128::from(low) << (24 + before),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s46_rfc6052_table() {
        // RFC 6052 §2.4 examples for 192.0.2.33 behind 2001:db8:122:344::/n.
        let v4 = Ipv4Addr::new(192, 0, 2, 33);
        for (prefix, expected) in [
            ("2001:db8::/32", "2001:db8:c000:221::"),
            ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
            ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
            ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
            ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
            ("2001:db8:122:344::/96", "2001:db8:122:344::c000:221"),
        ] {
            let prefix: Ipv6Prefix = prefix.parse().unwrap();
            let got = dmr_address(&prefix, v4).unwrap();
            assert_eq!(got, expected.parse::<Ipv6Addr>().unwrap(), "{prefix}");
        }
        let odd: Ipv6Prefix = "2001:db8::/60".parse().unwrap();
        assert_eq!(dmr_address(&odd, v4), Err(MapError::DmrLength(60)));
        assert_eq!(check_dmr_len(128), Err(MapError::DmrLength(128)));
    }
}
