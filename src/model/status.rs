//! A DHCPv4 client's protocol state as TR-181 names it.

use serde::{Deserialize, Serialize};

/// TR-181 `DHCPStatus` of a DHCPv4 client (RFC 2131 states as the data model names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DhcpStatus {
    /// No lease, nothing sent yet (also after a lease was lost).
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST sent, waiting for the ACK.
    Requesting,
    /// T2 passed: REQUEST broadcast to any server.
    Rebinding,
    /// A lease is held and configured.
    Bound,
    /// T1 passed: REQUEST unicast to the server that gave the lease.
    Renewing,
}

impl DhcpStatus {
    /// The TR-181 enumeration value.
    pub fn as_tr181(self) -> &'static str {
        match self {
            Self::Init => "Init",
            Self::Selecting => "Selecting",
            Self::Requesting => "Requesting",
            Self::Rebinding => "Rebinding",
            Self::Bound => "Bound",
            Self::Renewing => "Renewing",
        }
    }
}
