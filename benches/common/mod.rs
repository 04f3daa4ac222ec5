//! Helpers shared by the benchmarks (`lease_hop`, `v6_lease`, `tr181`): counts from the
//! environment, the header every report starts with, and the modules below.
//!
//! - [`netns`]: a thread inside the lab's `cpe` namespace; the netlink address monitor.
//! - [`sysevent`]: the sysevent record follower.
//! - [`stats`]: percentiles, spreads and process memory.
//! - [`hop`]: the generic lease-hop measurement (plugin runs, their samples and their table).

pub mod hop;
pub mod netns;
pub mod stats;
pub mod sysevent;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, String>;

/// A positive count from `var`, or `default` when unset.
pub fn env_count(var: &str, default: usize) -> Result<usize> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{var}={text:?} is not a positive whole number")),
        },
    }
}

/// Where the daemon, plugin and dhcpmgrctl binaries come from (`dhcpmgr_lab::bin_dir()`).
pub struct Binaries {
    pub dir: PathBuf,
    /// `release`, `debug` or `unknown`.
    pub profile: &'static str,
}

impl Binaries {
    pub fn detect() -> Self {
        let dir = dhcpmgr_lab::bin_dir();
        let profile = ["release", "debug"]
            .into_iter()
            .find(|p| dir.ends_with(p))
            .unwrap_or("unknown");
        Self { dir, profile }
    }

    pub fn line(&self) -> String {
        format!("binaries: {} ({} build)", self.dir.display(), self.profile)
    }

    pub fn json(&self) -> Value {
        json!({ "dir": self.dir.display().to_string(), "profile": self.profile })
    }
}

/// The CPUs and load average, as the report's `host:` line.
pub fn host_line() -> String {
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "host: {} CPUs, load average at start {}",
        thread::available_parallelism().map_or(0, |p| p.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// How the lab runs the daemon, as the report's `daemon:` line.
pub const DAEMON_LINE: &str =
    "daemon: started by the lab with RUST_LOG=debug (log to a file in the lab dir)";

/// Removes `dir` and everything in it; a directory that is not there is fine.
pub fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("remove {}: {e}", dir.display())),
    }
}

/// Calls `f` every 10 ms until it returns something or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
