//! dhcpmgr-shield-web: the DHCP shield's live stream in a browser and its export to a syslog
//! collector, as a program apart from the daemon (the daemon stays lean; this one holds the
//! HTTP/WebSocket and syslog code). It follows the daemon's shield socket ([`upstream`]) and
//! serves the stream page ([`web`]) and/or ships events to a collector ([`export`]), as
//! [`config`] says; [`token`] owns the page's access token.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod config;
pub mod export;
pub use dhcpmgr_shield::access_token as token;
pub mod upstream;
pub mod web;
