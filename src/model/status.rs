//! A DHCPv4 client's protocol state as TR-181 names it.

use serde::{Deserialize, Serialize};

/// TR-181 `DHCPStatus` of a DHCPv4 client (RFC 2131 states as the data model names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DhcpStatus {
    Init,
    Selecting,
    Requesting,
    Rebinding,
    Bound,
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
