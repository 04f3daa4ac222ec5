//! What the lab needs from the host: root, the system tools, and the workspace's built binaries.

use std::env;
use std::path::{Path, PathBuf};

/// System tools the lab runs, with the Debian package that provides each.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("busybox", "busybox"),
    ("kea-dhcp4", "kea-dhcp4-server"),
    ("dbus-daemon", "dbus"),
    ("dbus-send", "dbus"),
    ("ss", "iproute2"),
];

/// Panics with a clear message unless we are root and every tool in [`TOOLS`] is on `PATH`.
pub(crate) fn check_preconditions() {
    if !nix::unistd::geteuid().is_root() {
        panic!("lab needs root: run the tests as root (or set DHCPMGR_SKIP_LAB=1 to skip them)");
    }
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| find_on_path(tool).is_none())
        .map(|(tool, pkg)| format!("{tool} not found: apt-get install {pkg}"))
        .collect();
    if !missing.is_empty() {
        panic!(
            "lab preconditions not met (scripts/install-deps.sh installs everything):\n  {}",
            missing.join("\n  ")
        );
    }
}

pub(crate) fn find_on_path(tool: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Directory holding the workspace's binaries: `$DHCPMGR_BIN_DIR` if set, else `debug/` under
/// `$CARGO_TARGET_DIR` (relative values are taken from the workspace root) or `<workspace>/target`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = env::var_os("DHCPMGR_BIN_DIR") {
        return dir.into();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/lab sits two levels below the workspace root");
    let target =
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| root.join(t));
    target.join("debug")
}

/// Path of the workspace binary `name` (`dhcpmgr`, `dhcpmgrctl`, `dhcpmgr-udhcpc-plugin`, …);
/// panics if it has not been built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    if !path.is_file() {
        panic!(
            "{name} not found at {}: build the workspace first: cargo build --workspace \
             (or point DHCPMGR_BIN_DIR at the binaries)",
            path.display()
        );
    }
    path
}
