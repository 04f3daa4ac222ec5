//! Why an enabled client has not started its DHCP client yet.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What an enabled client waits for before its DHCP client can start. A wait is not a failure:
/// the client's `Status` stays `Enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Waiting {
    /// The interface does not exist (yet).
    Interface(String),
    /// The interface exists but is administratively down or has no carrier.
    Carrier(String),
    /// DHCPv6 only: the interface has no link-local address that has finished DAD.
    LinkLocal(String),
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Interface(name) => write!(f, "waiting for {name}"),
            Self::Carrier(name) => write!(f, "waiting for carrier on {name}"),
            Self::LinkLocal(name) => write!(f, "waiting for link-local address on {name}"),
        }
    }
}
