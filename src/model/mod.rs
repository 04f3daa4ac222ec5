//! The vocabulary the daemon's parts share: plain values with no I/O and no dependency on any
//! other module, so that the pure protocol logic (`lease`, `s46`) and the threads (controller,
//! TR-181, RBUS, system events) can all speak it without depending on each other.
//!
//! [`EventKind`] names a D-Bus `Event` signal, [`DhcpStatus`] a DHCPv4 client's RFC 2131 state,
//! [`V4Addr`] an address to configure.

mod addr;
mod event;
mod status;

pub use addr::V4Addr;
pub use event::EventKind;
pub use status::DhcpStatus;
