//! dhcpmgr: a DHCP client manager daemon for broadband gateways.
//!
//! The binary's `main` only parses arguments and calls [`daemon::run`]; everything else lives
//! in this library so that each hop of a lease (plugin message → controller → netlink →
//! persistence → system events → TR-181) can be tested on its own.

#![warn(missing_docs, unreachable_pub)]

pub mod boottime;
pub mod channels;
pub mod config;
pub(crate) mod controller;
pub mod daemon;
pub(crate) mod instance_numbers;
pub(crate) mod lease;
pub(crate) mod link;
// The pieces shared with the shield live in `dhcpmgr-base`; brought back under their old names.
pub(crate) use dhcpmgr_base::log_limit;
pub mod model;
pub(crate) mod netlink;
pub(crate) mod overrides;
pub(crate) use dhcpmgr_base::persist;
// The RBUS front end is FFI to the image's librbus (dlopen, C callbacks): the one module that
// needs `unsafe`; everything else is denied it by the workspace lint policy.
#[allow(unsafe_code)]
pub mod rbus;
pub mod s46;
pub mod sysevent;
pub(crate) mod systemd;
pub mod tr181;
pub mod tr181_thread;
