//! What the controller tells the rest of the daemon about a client: a plain, cloneable picture
//! of its state and lease. The TR-181 thread renders these as parameter values.

use std::collections::BTreeMap;

use dhcpmgr_ipc::V4Lease;
use serde::{Deserialize, Serialize};

use super::{v4_client_path, DhcpStatus, HeldAddress, HeldPrefix, Instance, Waiting};
use crate::boottime::BootSeconds;
use crate::config::{V4ClientConfig, V6ClientConfig};

/// TR-181 `Status` of a client object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStatus {
    /// `Enable` is false.
    Disabled,
    /// `Enable` is true and the client runs or waits for its interface.
    Enabled,
    /// The configuration cannot work (e.g. the interface does not exist).
    ErrorMisconfigured,
    /// The DHCP client keeps dying; the supervisor gave up restarting it.
    Error,
}

impl ClientStatus {
    /// The TR-181 enumeration value.
    pub fn as_tr181(self) -> &'static str {
        match self {
            Self::Disabled => "Disabled",
            Self::Enabled => "Enabled",
            Self::ErrorMisconfigured => "Error_Misconfigured",
            Self::Error => "Error",
        }
    }
}

/// Everything the data model shows about one DHCPv4 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4ClientSnapshot {
    /// TR-181 instance number of the client object.
    pub instance: Instance,
    /// The client's settings: configuration file and TR-181 writes.
    pub settings: V4ClientConfig,
    /// Whether it runs now (a Release or Disable may have stopped it).
    /// TR-181 `Enable` as shown (settings waiting for a stop win).
    pub enable: bool,
    /// TR-181 `Status`.
    pub status: ClientStatus,
    /// TR-181 `DHCPStatus`.
    pub dhcp_status: DhcpStatus,
    /// The lease in force, if any.
    pub lease: Option<V4Lease>,
    /// When that lease expires, on CLOCK_BOOTTIME; `None` for an infinite lease or no lease.
    /// When the lease ends (boot clock); `None` without a lease.
    pub lease_expires: Option<BootSeconds>,
    /// TR-181 `Stats.` counters.
    pub stats: ClientStats,
    /// Why the enabled client is not running yet (its interface is not ready), if it waits.
    pub waiting: Option<Waiting>,
}

impl V4ClientSnapshot {
    /// TR-181 object path, without the trailing dot: `Device.DHCPv4.Client.1`.
    pub fn object_path(&self) -> String {
        v4_client_path(self.instance)
    }

    /// TR-181 `LeaseTimeRemaining` at `now`: seconds left, -1 for an infinite lease, 0 without one.
    pub fn lease_time_remaining(&self, now: BootSeconds) -> i64 {
        match (&self.lease, self.lease_expires) {
            (None, _) => 0,
            (Some(_), None) => -1,
            (Some(_), Some(expires)) => expires.0.saturating_sub(now.0) as i64,
        }
    }
}

/// Everything the data model shows about one DHCPv6 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V6ClientSnapshot {
    /// TR-181 instance number of the client object.
    pub instance: Instance,
    /// The client's settings: configuration file and TR-181 writes.
    pub settings: V6ClientConfig,
    /// Whether it runs now (a Release or Disable may have stopped it).
    /// TR-181 `Enable` as shown (settings waiting for a stop win).
    pub enable: bool,
    /// TR-181 `Status`.
    pub status: ClientStatus,
    /// Lowercase hex, empty until known.
    pub duid: String,
    /// Options of the last reply that carried any, as dibbler-client rendered them.
    pub received_options: BTreeMap<u16, String>,
    /// The MAP configuration those options and the delegated prefix give, when valid (what the
    /// map system events carry).
    pub map: Option<crate::s46::MapConfig>,
    /// The IA_NA addresses held, with when each was (re)confirmed: lifetimes count from then.
    pub addresses: Vec<HeldAddress>,
    /// The delegated prefixes held, likewise.
    /// The delegated prefixes held (IA_PD), each with when it was confirmed.
    pub prefixes: Vec<HeldPrefix>,
    /// TR-181 `Stats.` counters.
    pub stats: ClientStats,
    /// Why the enabled client is not running yet (its interface is not ready), if it waits.
    pub waiting: Option<Waiting>,
}

impl V6ClientSnapshot {
    /// The DNS servers of the last reply (option 23, which dibbler-client renders as
    /// space-separated addresses); those that do not parse are left out.
    pub fn dns_servers(&self) -> Vec<std::net::Ipv6Addr> {
        self.received_options
            .get(&23)
            .map(|text| {
                text.split_ascii_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Seconds left of a lifetime of `secs` counted from `obtained`, at `now`: -1 when infinite
/// (0xffffffff), 0 once run out.
pub fn lifetime_left(obtained: BootSeconds, secs: u32, now: BootSeconds) -> i64 {
    if secs == u32::MAX {
        return -1;
    }
    let ends = obtained.0.saturating_add(u64::from(secs));
    i64::try_from(ends.saturating_sub(now.0)).unwrap_or(i64::MAX)
}

/// TR-181 `Stats.` counters of a client by parameter name (`ACK`, `Reply`, …), counted from
/// what the DHCP client reports since the daemon started; counters it does not report stay 0.
pub type ClientStats = BTreeMap<&'static str, u64>;

/// Counts one message in `stats`.
pub fn count(stats: &mut ClientStats, counter: &'static str) {
    let n = stats.entry(counter).or_default();
    *n = n.saturating_add(1);
}
