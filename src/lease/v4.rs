//! DHCPv4 lease decisions. Given the lease in force and one udhcpc event, [`plan`] says what
//! to change on the interface and what to report; the controller carries it out.

use std::net::Ipv4Addr;

use dhcpmgr_ipc::{V4Event, V4EventKind, V4Lease};
use serde::{Deserialize, Serialize};

use crate::boottime::BootSeconds;
use crate::model::DhcpStatus;
use crate::model::EventKind;
use crate::model::V4Addr;

mod content;
pub(crate) use super::dropped::Dropped;
use super::special;
pub(crate) use content::MAX_DNS_SERVERS;

/// MTUs outside this range from option 26 are ignored (RFC 2132 minimum; jumbo maximum).
pub(crate) const MTU_RANGE: std::ops::RangeInclusive<u16> = 576..=9216;

/// The lease the daemon holds for a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldLease {
    pub lease: V4Lease,
    /// When it was bound or last renewed.
    pub obtained: BootSeconds,
    /// When it runs out; `None` for an infinite lease.
    pub expires: Option<BootSeconds>,
}

impl HeldLease {
    pub(crate) fn addr(&self) -> V4Addr {
        V4Addr {
            address: self.lease.address,
            prefix_len: self.lease.prefix_len,
        }
    }

    pub(crate) fn is_expired(&self, now: BootSeconds) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// Why a lease from udhcpc was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LeaseError {
    #[error("{0} is not a usable host address")]
    BadAddress(Ipv4Addr),
    #[error("prefix length {0} is not between 8 and 32")]
    BadPrefix(u8),
    #[error("{address}/{prefix_len} is the network or broadcast address of its subnet")]
    NotAHost { address: Ipv4Addr, prefix_len: u8 },
    #[error("lease time 0 cannot be honoured")]
    ZeroLeaseTime,
    #[error("{0} event carries no lease")]
    MissingLease(&'static str),
}

/// A lease read back from `state_dir`, checked exactly as one from the plugin: `Err` when it
/// must not be put back at all, otherwise the lease to use and what was left out of it.
pub(crate) fn restored(held: &HeldLease) -> Result<(HeldLease, Vec<Dropped>), LeaseError> {
    let (lease, dropped) = content::checked(&held.lease)?;
    Ok((
        HeldLease {
            lease,
            ..held.clone()
        },
        dropped,
    ))
}

/// An address to ask for again (udhcpc `-r`), if it could be leased at all.
pub(crate) fn requestable(address: Ipv4Addr) -> Option<Ipv4Addr> {
    special::v4_not_unicast(address)
        .is_none()
        .then_some(address)
}

/// The MTU to apply from option 26, if present and sane.
pub(crate) fn usable_mtu(lease: &V4Lease) -> Option<u16> {
    lease.mtu.filter(|m| MTU_RANGE.contains(m))
}

/// Context the decision depends on besides the event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation<'a> {
    pub held: Option<&'a HeldLease>,
    /// No event has come yet from the udhcpc process the supervisor started last: its opening
    /// `deconfig` must not tear down a lease that is still valid (daemon or client restart).
    pub fresh_client: bool,
    /// A release was asked for: the `deconfig` that follows really means "drop it".
    pub releasing: bool,
    pub now: BootSeconds,
}

/// What to do for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Address to add first (new lease or moved address).
    pub add: Option<V4Addr>,
    /// Address to remove after the add succeeded.
    pub remove: Option<V4Addr>,
    /// The lease to hold afterwards.
    pub held: Option<HeldLease>,
    pub dhcp_status: DhcpStatus,
    /// The `Event` to report, if any.
    pub event: Option<EventKind>,
    /// What the lease carried that is not used (see [`content::checked`]).
    pub dropped: Vec<Dropped>,
}

/// Decides what `event` means given `situation`.
pub(crate) fn plan(event: &V4Event, situation: Situation<'_>) -> Result<Plan, LeaseError> {
    let held = situation.held;
    let keep = |status| Plan {
        add: None,
        remove: None,
        held: held.cloned(),
        dhcp_status: status,
        event: None,
        dropped: Vec::new(),
    };
    match event.kind {
        V4EventKind::Bound | V4EventKind::Renew => {
            let lease = event
                .lease
                .as_ref()
                .ok_or(LeaseError::MissingLease(event.kind.as_str()))?;
            let (lease, dropped) = content::checked(lease)?;
            let lease = &lease;
            let new = HeldLease {
                lease: lease.clone(),
                obtained: situation.now,
                expires: lease
                    .lease_secs
                    .filter(|&s| s != u32::MAX)
                    .map(|s| situation.now.after(u64::from(s))),
            };
            let new_addr = new.addr();
            let old_addr = held.map(HeldLease::addr);
            let moved = old_addr != Some(new_addr);
            let changed = moved || held.map(|h| &h.lease) != Some(lease);
            Ok(Plan {
                add: Some(new_addr),
                remove: old_addr.filter(|_| moved),
                held: Some(new),
                dhcp_status: DhcpStatus::Bound,
                event: Some(if changed {
                    EventKind::LeaseUpdated
                } else {
                    EventKind::LeaseRenewed
                }),
                dropped,
            })
        }
        V4EventKind::Deconfig => {
            let still_valid = held.is_some_and(|h| !h.is_expired(situation.now));
            if situation.fresh_client && still_valid && !situation.releasing {
                return Ok(keep(DhcpStatus::Requesting));
            }
            Ok(Plan {
                add: None,
                remove: held.map(HeldLease::addr),
                held: None,
                dhcp_status: DhcpStatus::Init,
                event: held.map(|_| EventKind::LeaseDeleted),
                dropped: Vec::new(),
            })
        }
        V4EventKind::Nak => Ok(keep(DhcpStatus::Init)),
        V4EventKind::Leasefail => Ok(keep(if held.is_some() {
            DhcpStatus::Rebinding
        } else {
            DhcpStatus::Selecting
        })),
    }
}

/// What to do when the held lease ran out without a renewal.
pub(crate) fn expire(held: &HeldLease) -> Plan {
    Plan {
        add: None,
        remove: Some(held.addr()),
        held: None,
        dhcp_status: DhcpStatus::Init,
        event: Some(EventKind::LeaseDeleted),
        dropped: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
