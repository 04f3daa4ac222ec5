//! The DHCPv6 lease parts the daemon holds: each IA_NA address and delegated prefix with the
//! boot time it was (re)confirmed, from which its lifetimes run.

use dhcpmgr_ipc::{V6Address, V6Prefix};
use serde::{Deserialize, Serialize};

use crate::boottime::BootSeconds;

/// An IA_NA address the daemon holds, with when it was (re)confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAddress {
    /// The address and its lifetimes as dibbler-client reported them.
    pub lease: V6Address,
    /// When it was (re)confirmed: its lifetimes count from here.
    pub obtained: BootSeconds,
}

/// A delegated prefix the daemon holds, with when it was (re)confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldPrefix {
    /// The prefix and its lifetimes as dibbler-client reported them.
    pub lease: V6Prefix,
    /// When it was (re)confirmed: its lifetimes count from here.
    pub obtained: BootSeconds,
}

/// Lifetime `secs` from `obtained`; `None` when infinite (0xffffffff).
fn expiry(obtained: BootSeconds, secs: u32) -> Option<BootSeconds> {
    (secs != u32::MAX).then(|| obtained.after(u64::from(secs)))
}

impl HeldAddress {
    /// When the valid lifetime runs out; `None` when it is infinite.
    pub fn expires(&self) -> Option<BootSeconds> {
        expiry(self.obtained, self.lease.valid)
    }
}

impl HeldPrefix {
    /// When the valid lifetime runs out; `None` when it is infinite.
    pub fn expires(&self) -> Option<BootSeconds> {
        expiry(self.obtained, self.lease.valid)
    }
}
