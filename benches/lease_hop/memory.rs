//! Part 3 of `lease_hop`: the daemon's memory (read by parts 1 and 2) and the sizes of the
//! stripped release binaries; its report section.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::common::stats::Memory;
use crate::hop::HopReport;
use crate::{PLUGIN, SETTLE};

const RELEASE_BINARIES: [&str; 3] = ["dhcpmgr", "dhcpmgrctl", PLUGIN];

/// Size of a release binary on disk and after `strip`.
pub struct BinarySize {
    name: &'static str,
    bytes: u64,
    stripped: Option<u64>,
}

impl BinarySize {
    pub fn json(&self) -> Value {
        json!({ "name": self.name, "bytes": self.bytes, "stripped_bytes": self.stripped })
    }
}

/// The release binaries under `$CARGO_TARGET_DIR` (or `target`) that exist, stripped copies
/// made in `scratch`.
pub fn release_sizes(scratch: &Path) -> Vec<BinarySize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), |t| root.join(t));
    RELEASE_BINARIES
        .iter()
        .filter_map(|&name| {
            let path = target.join("release").join(name);
            let bytes = fs::metadata(&path).ok()?.len();
            let copy = scratch.join(format!("stripped-{name}"));
            let stripped = Command::new("strip")
                .arg("-o")
                .arg(&copy)
                .arg(&path)
                .status()
                .ok()
                .filter(|s| s.success())
                .and_then(|_| fs::metadata(&copy).ok())
                .map(|m| m.len());
            Some(BinarySize {
                name,
                bytes,
                stripped,
            })
        })
        .collect()
}

/// Part 3 of the report: the daemon idle with a lease from Kea (`idle`), after the hop run, and
/// the release binaries.
pub fn print(idle: &Memory, hops: &HopReport, sizes: &[BinarySize]) {
    println!("3. Daemon memory (budget: idle RSS ≤ 6 MiB with v4+v6 clients and the shield;");
    println!("   measured here: one v4 client, no v6 client, no shield)");
    println!("   idle, lease from Kea, {SETTLE:?} after: {}", idle.line());
    println!(
        "   after the hop run ({} leases):  {}",
        hops.leases(),
        hops.memory().line()
    );
    if sizes.is_empty() {
        println!("   release binaries: none under target/release");
    }
    for size in sizes {
        let stripped = size.stripped.map_or("strip failed".into(), |b| {
            format!("{:.1} KiB", b as f64 / 1024.0)
        });
        println!(
            "   release {:<22} {:>8.1} KiB on disk, {stripped} stripped",
            size.name,
            size.bytes as f64 / 1024.0
        );
    }
    println!("   (budget: plugin binaries ≤ 600 KiB stripped)");
    println!();
}
