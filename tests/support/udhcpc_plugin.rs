//! The real udhcpc plugin run by hand in the lab's CPE namespace, as udhcpc would run it for
//! a `bound` of `address`/24 from 192.0.2.1 for client `wan` (included with `#[path]`).

use std::path::Path;
use std::process::Output;

use dhcpmgr_lab::{bin, Lab, WAN_IF};

/// Runs `dhcpmgr-udhcpc-plugin bound` against the daemon whose `run_dir` is given.
pub fn bound(lab: &Lab, run_dir: &Path, address: &str) -> Output {
    lab.cpe()
        .command(bin("dhcpmgr-udhcpc-plugin"))
        .arg("bound")
        .env_clear()
        .env("DHCPMGR_SOCKET", run_dir.join("ipc.sock"))
        .env("DHCPMGR_SPOOL_DIR", run_dir.join("spool"))
        .env("DHCPMGR_CLIENT", "wan")
        .env("interface", WAN_IF)
        .env("ip", address)
        .env("mask", "24")
        .env("router", "192.0.2.1")
        .env("lease", "3600")
        .output()
        .expect("run the udhcpc plugin")
}
