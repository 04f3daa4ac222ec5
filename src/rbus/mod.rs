//! The RBUS front end (RDK-B's bus, rdkcentral/rbus): the data model the D-Bus interface
//! serves, reachable the way WAN Manager, dmcli and the TR-069/USP agents reach the C DHCP
//! manager, and the lease events WAN Manager subscribes to. docs/rbus.md is the contract.
//!
//! Its `[rbus]` section is [`crate::config::RbusSettings`]; `lease_event` is a lease event as
//! both front ends carry it, [`lease_info`] its `LeaseInfo` struct. With
//! the `rbus` feature, `provider` serves the tree through librbus (loaded at run time by
//! `ffi`), with `handlers` (librbus's callbacks), `rows` (table rows), `events` (lease
//! events) and `liveness` (whether the broker still routes to it); without it, [`Frontend`] never starts.

pub(crate) mod lease_event;
pub mod lease_info;

#[cfg(feature = "rbus")]
mod events;
#[cfg(feature = "rbus")]
mod ffi;
#[cfg(feature = "rbus")]
mod handlers;
#[cfg(feature = "rbus")]
mod liveness;
#[cfg(feature = "rbus")]
mod provider;
#[cfg(feature = "rbus")]
mod rows;

#[cfg(feature = "rbus")]
pub(crate) use provider::Frontend;

/// Without the `rbus` feature: the front end that never starts (the configuration refuses
/// `[rbus] enable = true` in such a build).
#[cfg(not(feature = "rbus"))]
pub struct Frontend;

#[cfg(not(feature = "rbus"))]
impl Frontend {
    /// Always `None`: there is no librbus front end in this build.
    pub fn start(
        _settings: &crate::config::RbusSettings,
        _tree: crate::tr181::service::SharedTree,
        _writer: crate::tr181::service::Writer,
    ) -> Option<Self> {
        None
    }

    /// Nothing to follow: never called, as no `Frontend` is ever made.
    pub fn on_update(&self, _update: &crate::channels::ControllerUpdate) {}

    /// Never resolves: there are no RBUS writes.
    pub async fn changed(&mut self) -> Vec<(String, String)> {
        std::future::pending().await
    }
}
