//! The vocabulary the daemon's parts share: plain values with no I/O, so that the pure protocol
//! logic (`lease`, `s46`) and the threads (controller, TR-181, RBUS, system events) can all speak
//! it without depending on each other. It depends only on the configuration's value types, the
//! boot clock and the MAP rules a snapshot carries.
//!
//! - naming a client: [`Instance`], [`Family`], [`ClientKey`];
//! - what the controller publishes about it: [`V4ClientSnapshot`], [`V6ClientSnapshot`],
//!   [`ClientStatus`], [`Waiting`], [`DhcpStatus`], the held DHCPv6 parts ([`HeldAddress`],
//!   [`HeldPrefix`]) and the `Stats.` counters;
//! - what it tells listeners: [`EventKind`];
//! - what it configures: [`V4Addr`].

mod addr;
mod client;
mod event;
mod held;
mod snapshot;
mod status;
mod waiting;

pub use addr::V4Addr;
pub use client::{v4_client_path, ClientKey, Family, Instance};
pub use event::EventKind;
pub use held::{HeldAddress, HeldPrefix};
pub use snapshot::{
    count, lifetime_left, ClientStats, ClientStatus, V4ClientSnapshot, V6ClientSnapshot,
};
pub use status::DhcpStatus;
pub use waiting::Waiting;
