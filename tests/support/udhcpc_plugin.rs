//! The real udhcpc plugin run by hand in the lab's CPE namespace, as udhcpc would run it for
//! a `bound` of `address`/24 from 192.0.2.1 for client `wan` (included with `#[path]`).

use std::path::Path;
use std::process::{Command, Output};

use dhcpmgr_lab::{bin, Lab, WAN_IF};

/// `dhcpmgr-udhcpc-plugin bound` with udhcpc's environment for the lease, against the daemon
/// whose `run_dir` is given, to run or to add variables to.
pub fn bound_command(lab: &Lab, run_dir: &Path, address: &str) -> Command {
    let mut command = lab.cpe().command(bin("dhcpmgr-udhcpc-plugin"));
    command
        .arg("bound")
        .env_clear()
        .env("DHCPMGR_SOCKET", run_dir.join("ipc.sock"))
        .env("DHCPMGR_SPOOL_DIR", run_dir.join("spool"))
        .env("DHCPMGR_CLIENT", "wan")
        .env("interface", WAN_IF)
        .env("ip", address)
        .env("mask", "24")
        .env("router", "192.0.2.1")
        .env("lease", "3600");
    command
}

/// Runs [`bound_command`].
#[allow(dead_code)] // Not every test that includes this file runs the plain command.
pub fn bound(lab: &Lab, run_dir: &Path, address: &str) -> Output {
    bound_command(lab, run_dir, address)
        .output()
        .expect("run the udhcpc plugin")
}
