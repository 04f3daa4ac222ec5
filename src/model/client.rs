//! How the daemon names a client: its TR-181 instance number, its family, and the two together
//! as the key every part uses to address one client.

use std::fmt;

use serde::{Deserialize, Serialize};

/// TR-181 instance number of a client object (`Device.DHCPv4.Client.{i}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Instance(pub u32);

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A client of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientKey {
    /// `Device.DHCPv4.Client.{i}`
    V4(Instance),
    /// `Device.DHCPv6.Client.{i}`
    V6(Instance),
}

impl ClientKey {
    /// Which client table the client is in.
    pub fn family(self) -> Family {
        match self {
            Self::V4(_) => Family::V4,
            Self::V6(_) => Family::V6,
        }
    }

    /// TR-181 object path without the trailing dot.
    pub fn object_path(self) -> String {
        match self {
            Self::V4(i) => format!("Device.DHCPv4.Client.{i}"),
            Self::V6(i) => format!("Device.DHCPv6.Client.{i}"),
        }
    }
}

/// The two kinds of client table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `Device.DHCPv4.Client.`
    V4,
    /// `Device.DHCPv6.Client.`
    V6,
}

/// TR-181 object path of DHCPv4 client `instance`, without the trailing dot.
pub fn v4_client_path(instance: Instance) -> String {
    format!("Device.DHCPv4.Client.{instance}")
}
