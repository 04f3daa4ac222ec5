//! An IPv4 address with its prefix length, as a lease gives it and an interface gets it.

use std::net::Ipv4Addr;

/// An IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V4Addr {
    /// The address.
    pub address: Ipv4Addr,
    /// Its prefix length (0 to 32).
    pub prefix_len: u8,
}

impl std::fmt::Display for V4Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}
