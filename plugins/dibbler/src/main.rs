//! dibbler-client `script`: parses one DHCPv6 lease event from argv\[1\] (`add`, `update`,
//! `delete`, or RDK's `del` and `expire`) and the environment and hands it to the dhcpmgr daemon (or its spool).
//!
//! dibbler builds the script's environment from scratch, so the daemon runs this binary through
//! a generated wrapper that sets `DHCPMGR_SOCKET`, `DHCPMGR_SPOOL_DIR` and `DHCPMGR_CLIENT`;
//! without them the defaults apply.
//!
//! Exits 0 whatever happens to the event, so dibbler is never disturbed; 2 only when run
//! without an event argument. Problems are reported as one line on stderr, inherited from
//! dibbler.

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use dhcpmgr_dibbler_plugin::{parse_event, support};
use dhcpmgr_ipc::ClientEvent;

fn main() -> ExitCode {
    support::run(
        "dhcpmgr-dibbler-plugin",
        "add|update|delete|del|expire (run by dibbler-client as its script)",
        |arg, env| parse_event(arg, env).map(ClientEvent::V6),
    )
}
