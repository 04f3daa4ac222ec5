//! `udhcpc -s` script: parses one lease event from argv\[1\] and the environment and hands it
//! to the dhcpmgr daemon (or its spool).
//!
//! Exits 0 whatever happens to the event, so udhcpc is never disturbed; 2 only when run
//! without an event argument. Problems are reported as one line on stderr, which udhcpc logs.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use dhcpmgr_ipc::{plugin, ClientEvent};
use dhcpmgr_udhcpc_plugin::parse_event;

fn main() -> ExitCode {
    plugin::run(
        "dhcpmgr-udhcpc-plugin",
        "deconfig|bound|renew|nak|leasefail (run by udhcpc -s)",
        |arg, env| parse_event(arg, env).map(ClientEvent::V4),
    )
}
