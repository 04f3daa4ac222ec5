//! The lease-hop measurement both benches share: a daemon whose client is disabled, so the
//! bench's plugin runs are the only source of lease events; one plugin run per hop, timed from
//! just before its spawn (t0) on a thread inside the `cpe` namespace; the hop's address seen on
//! `erouter0`; and the samples of every hop with their percentile table and JSON figures.

use std::fmt::Display;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{DaemonConfig, DaemonProcess, Lab};
use serde_json::{Map, Value};

use super::netns::{AddrMonitor, Family};
use super::stats::{Memory, Stats};
use super::{wait_for, Result};

/// A hop's sysevent line counts; its timings are read through the columns of [`Hops`].
pub trait Sample {
    /// Lines of the hop's own batch.
    fn batch_lines(&self) -> usize;
    /// Lines seen before the batch began.
    fn stray_lines(&self) -> usize;
}

/// A named timing of a hop: its label in the table or its JSON key, and how to read it.
pub type Column<'a, H> = (&'a str, fn(&H) -> Duration);

/// The samples of a hop run.
pub struct Hops<H> {
    /// Measured hops.
    pub n: usize,
    /// The first (warm-up) hop: from no lease, so every sysevent key is set.
    pub first: H,
    pub hops: Vec<H>,
    /// The daemon's memory after the run.
    pub memory: Memory,
}

impl<H: Sample> Hops<H> {
    pub fn column(&self, f: impl Fn(&H) -> Duration) -> Vec<Duration> {
        self.hops.iter().map(f).collect()
    }

    pub fn stats(&self, f: impl Fn(&H) -> Duration) -> Stats {
        Stats::of(&self.column(f))
    }

    /// Hops whose batch had `lines` lines.
    pub fn batches(&self, lines: usize) -> usize {
        self.hops
            .iter()
            .filter(|h| h.batch_lines() == lines)
            .count()
    }

    /// Stray lines over all hops.
    pub fn stray(&self) -> usize {
        self.hops.iter().map(Sample::stray_lines).sum()
    }

    /// Every sysevent line of the first hop.
    pub fn first_lines(&self) -> usize {
        self.first.batch_lines() + self.first.stray_lines()
    }

    /// `{key: {n, p50, p99, max}}` for each column.
    pub fn stats_json(&self, columns: &[Column<'_, H>]) -> Value {
        let map: Map<String, Value> = columns
            .iter()
            .map(|(key, f)| ((*key).to_owned(), self.stats(f).json()))
            .collect();
        Value::Object(map)
    }

    /// The percentile table of the columns, ms after t0.
    pub fn print_table(&self, columns: &[Column<'_, H>]) {
        println!(
            "  {:<44} {:>8} {:>8} {:>8}",
            "ms after t0", "p50", "p99", "max"
        );
        for (label, f) in columns {
            println!("{}", self.stats(f).row(label));
        }
    }
}

/// Writes `config`, starts the daemon with it and waits until it listens on its IPC socket.
pub fn start_daemon(lab: &Lab, config: &DaemonConfig) -> Result<DaemonProcess> {
    let config_path = lab.write_daemon_config(config);
    let daemon = lab.start_daemon(&config_path);
    let socket = config.run_dir.join("ipc.sock");
    wait_for(Duration::from_secs(10), || socket.exists().then_some(())).ok_or_else(|| {
        format!(
            "daemon did not bind {}\n{}",
            socket.display(),
            daemon.log_tail()
        )
    })?;
    Ok(daemon)
}

/// Reads the hop daemon's memory, then stops it with SIGTERM.
pub fn stop_daemon(daemon: DaemonProcess) -> Result<Memory> {
    let memory = Memory::read(daemon.pid())?;
    let status = daemon.terminate();
    if !status.success() {
        return Err(format!("hop daemon exited with {status} on SIGTERM"));
    }
    Ok(memory)
}

/// Hop 0 (the first), the other `warmup` hops, then `n` measured ones: `hop(i, first)`.
pub fn series<H>(
    warmup: usize,
    n: usize,
    mut hop: impl FnMut(usize, bool) -> Result<H>,
) -> Result<(H, Vec<H>)> {
    let first = hop(0, true)?;
    for i in 1..warmup {
        hop(i, false)?;
    }
    let mut hops = Vec::with_capacity(n);
    for i in warmup..warmup + n {
        hops.push(hop(i, false)?);
    }
    Ok((first, hops))
}

/// Runs the plugin command `cmd` (of binary `plugin`) for a lease of `address`; returns t0 (just
/// before the spawn) and exec → exit. Fails unless it exited 0 and wrote nothing to stderr.
pub fn deliver(
    cmd: &mut Command,
    plugin: &Path,
    address: impl Display,
) -> Result<(Instant, Duration)> {
    let t0 = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", plugin.display()))?;
    let exit = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(format!(
            "plugin for {address} did not deliver cleanly ({}): {stderr}",
            out.status
        ));
    }
    Ok((t0, exit))
}

/// Waits until `address` is on the interface, then until it is the only `what` there; returns
/// when it was added.
pub fn wait_sole<A: Family + Display>(
    monitor: &mut AddrMonitor<A>,
    deadline: Duration,
    address: A,
    what: &str,
) -> Result<Instant> {
    let added = monitor.wait_until(deadline, &format!("{address} is added"), |present| {
        present.contains(&address)
    })?;
    monitor.wait_until(
        deadline,
        &format!("{address} is the only {what}"),
        |present| present.len() == 1,
    )?;
    Ok(added)
}
