//! Messages exchanged between the dhcpmgr daemon and the plugin executables that the DHCP
//! clients run on every lease event, and their framing on the Unix socket.
//!
//! This crate owns the wire contract: one [`Envelope`] per connection, sent as a 4-byte
//! big-endian length followed by a JSON body, answered by one framed [`Reply`]. It has no async
//! runtime so that plugins stay small and start in a few milliseconds.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod atomic;
mod client;
mod frame;
mod message;
pub mod plugin;
mod spool;

pub use atomic::write_atomically;
pub use client::{deliver, Delivery, DELIVERY_TIMEOUT};
pub use frame::{encode_frame, frame_len, read_frame, write_frame, FrameError, MAX_FRAME_LEN};
pub use message::{
    decode_envelope, encode_envelope, ClientEvent, DecodeError, Envelope, IaParams, Reply,
    StaticRoute, V4Event, V4EventKind, V4Lease, V6Address, V6Event, V6EventKind, V6Prefix,
    PROTOCOL_VERSION,
};
pub use spool::{spool_message, SpoolError, SPOOL_SUFFIX};

/// Environment variable through which the daemon tells a plugin where its socket is.
pub const ENV_SOCKET: &str = "DHCPMGR_SOCKET";
/// Environment variable naming the spool directory used when the daemon is unreachable.
pub const ENV_SPOOL_DIR: &str = "DHCPMGR_SPOOL_DIR";
/// Environment variable carrying the alias of the client the DHCP client process belongs to.
pub const ENV_CLIENT: &str = "DHCPMGR_CLIENT";
/// Socket path used when [`ENV_SOCKET`] is not set (matches the default `run_dir`).
pub const DEFAULT_SOCKET: &str = "/run/dhcpmgr/ipc.sock";
/// Spool directory used when [`ENV_SPOOL_DIR`] is not set.
pub const DEFAULT_SPOOL_DIR: &str = "/run/dhcpmgr/spool";
