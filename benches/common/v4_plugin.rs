//! The DHCPv4 hop runs' lease source, shared by `lease_hop` and `rbus_hop` (included with
//! `#[path]`, not through `common`, which the DHCPv6 bench also builds): the addresses they move
//! `erouter0` between and the plugin call udhcpc would make for each.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use dhcpmgr_lab::WAN_IF;

/// Addresses the DHCPv4 hop runs move `erouter0` between, in turn.
pub const HOP_ADDRESSES: [Ipv4Addr; 4] = [
    Ipv4Addr::new(192, 0, 2, 10),
    Ipv4Addr::new(192, 0, 2, 11),
    Ipv4Addr::new(192, 0, 2, 12),
    Ipv4Addr::new(192, 0, 2, 13),
];

/// `dhcpmgr-udhcpc-plugin bound` with the environment udhcpc gives it for a lease of `address`.
pub fn plugin_command(plugin: &Path, socket: &Path, spool: &Path, address: Ipv4Addr) -> Command {
    let mut cmd = Command::new(plugin);
    cmd.arg("bound")
        .env_clear()
        .env("DHCPMGR_SOCKET", socket)
        .env("DHCPMGR_SPOOL_DIR", spool)
        .env("DHCPMGR_CLIENT", "wan")
        .env("interface", WAN_IF)
        .env("ip", address.to_string())
        .env("mask", "24")
        .env("router", "192.0.2.1")
        .env("dns", "192.0.2.53")
        .env("lease", "3600")
        .env("serverid", "192.0.2.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}
