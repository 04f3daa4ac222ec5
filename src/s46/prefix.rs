//! IPv4 and IPv6 prefixes as values: an address and a length, with the invariant that the length
//! is in range and no bit beyond it is set. Everything else in `s46` relies on that invariant.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a prefix could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The length is longer than the address.
    #[error("prefix length {len} is longer than {max} bits")]
    Length {
        /// The length asked for, in bits.
        len: u8,
        /// The address size: 32 (IPv4) or 128 (IPv6).
        max: u8,
    },
    /// Bits after the prefix length are set (e.g. `2001:db8::1/64`).
    #[error("{addr} has bits set after the first {len}")]
    HostBits {
        /// The address as given, in its usual text form.
        addr: String,
        /// The prefix length, in bits, after which every bit must be 0.
        len: u8,
    },
    /// Text that is not `address/length`.
    #[error("{0:?} is not ADDRESS/LENGTH")]
    Syntax(String),
}

/// The mask with the `len` most significant bits of a 128-bit value set (`len` ≤ 128).
pub(crate) fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// The mask with the `len` most significant bits of a 32-bit value set (`len` ≤ 32).
pub(crate) fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

/// An IPv6 prefix such as `2001:db8::/40`: `len` ≤ 128 and no bit after `len` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Prefix {
    addr: Ipv6Addr,
    len: u8,
}

impl Ipv6Prefix {
    /// The prefix `addr/len`; refuses `len` > 128 and set bits after `len`.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 128 {
            return Err(PrefixError::Length { len, max: 128 });
        }
        if u128::from(addr) & !mask128(len) != 0 {
            return Err(PrefixError::HostBits {
                addr: addr.to_string(),
                len,
            });
        }
        Ok(Self { addr, len })
    }

    /// The network address (all bits after `len` are zero).
    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `other` lies inside this prefix (it is equal or longer and starts with it).
    pub fn covers(&self, other: &Ipv6Prefix) -> bool {
        self.len <= other.len && u128::from(other.addr) & mask128(self.len) == u128::from(self.addr)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Ipv6Prefix {
    type Err = PrefixError;

    /// Parses `2001:db8:12:3400::/56`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || PrefixError::Syntax(s.to_string());
        let (addr, len) = s.split_once('/').ok_or_else(syntax)?;
        let addr = addr.parse().map_err(|_| syntax())?;
        let len = len.parse().map_err(|_| syntax())?;
        Self::new(addr, len)
    }
}

/// An IPv4 prefix such as `192.0.2.0/24`: `len` ≤ 32 and no bit after `len` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

impl Ipv4Prefix {
    /// The prefix `addr/len`; refuses `len` > 32 and set bits after `len`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError::Length { len, max: 32 });
        }
        if u32::from(addr) & !mask32(len) != 0 {
            return Err(PrefixError::HostBits {
                addr: addr.to_string(),
                len,
            });
        }
        Ok(Self { addr, len })
    }

    /// The network address (all bits after `len` are zero).
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & mask32(self.len) == u32::from(self.addr)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s46_prefix_invariants() {
        let p: Ipv6Prefix = "2001:db8:12:3400::/56".parse().unwrap();
        assert_eq!(p.prefix_len(), 56);
        assert_eq!(p.to_string(), "2001:db8:12:3400::/56");
        assert!(matches!(
            "2001:db8::1/64".parse::<Ipv6Prefix>(),
            Err(PrefixError::HostBits { len: 64, .. })
        ));
        assert!(matches!(
            "::/129".parse::<Ipv6Prefix>(),
            Err(PrefixError::Length { len: 129, max: 128 })
        ));
        assert!(matches!(
            "2001:db8::".parse::<Ipv6Prefix>(),
            Err(PrefixError::Syntax(_))
        ));
        let all: Ipv6Prefix = "::/0".parse().unwrap();
        assert!(all.covers(&p));
        let rule: Ipv6Prefix = "2001:db8::/40".parse().unwrap();
        assert!(rule.covers(&p));
        assert!(!p.covers(&rule));
        let host: Ipv6Prefix = "2001:db8:12:3400::1/128".parse().unwrap();
        assert!(p.covers(&host) && host.covers(&host));

        let v4 = Ipv4Prefix::new(Ipv4Addr::new(192, 0, 2, 0), 24).unwrap();
        assert!(v4.contains(Ipv4Addr::new(192, 0, 2, 18)));
        assert!(!v4.contains(Ipv4Addr::new(192, 0, 3, 18)));
        assert_eq!(v4.to_string(), "192.0.2.0/24");
        assert!(Ipv4Prefix::new(Ipv4Addr::new(192, 0, 2, 1), 24).is_err());
        assert!(Ipv4Prefix::new(Ipv4Addr::UNSPECIFIED, 33).is_err());
        assert!(Ipv4Prefix::new(Ipv4Addr::UNSPECIFIED, 0)
            .unwrap()
            .contains(Ipv4Addr::BROADCAST));
        assert_eq!(mask128(0), 0);
        assert_eq!(mask128(128), u128::MAX);
        assert_eq!(mask32(0), 0);
        assert_eq!(mask32(32), u32::MAX);
    }
}
