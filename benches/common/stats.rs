//! Figures: nearest-rank percentiles, medians and spreads of timings (ms), and the memory of a
//! process from /proc (KiB).

use std::fs;
use std::time::Duration;

use serde_json::{json, Value};

use super::Result;

/// Memory of a process, from /proc (KiB).
#[derive(Default)]
pub struct Memory {
    pub pid: u32,
    pub rss: u64,
    pub hwm: u64,
    pub pss: Option<u64>,
    pub threads: u64,
}

impl Memory {
    pub fn read(pid: u32) -> Result<Memory> {
        let path = format!("/proc/{pid}/status");
        let status = fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
        let field = |text: &str, name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        let need = |name: &str| field(&status, name).ok_or(format!("no {name} in {path}"));
        let pss = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .ok()
            .and_then(|t| field(&t, "Pss"));
        Ok(Memory {
            pid,
            rss: need("VmRSS")?,
            hwm: need("VmHWM")?,
            pss,
            threads: need("Threads")?,
        })
    }

    pub fn json(&self) -> Value {
        json!({
            "pid": self.pid,
            "vm_rss_kib": self.rss,
            "vm_hwm_kib": self.hwm,
            "pss_kib": self.pss,
            "threads": self.threads,
        })
    }

    pub fn line(&self) -> String {
        let pss = self.pss.map_or("n/a".into(), kib);
        format!(
            "VmRSS {}  VmHWM {}  Pss {pss}  threads {}  (pid {})",
            kib(self.rss),
            kib(self.hwm),
            self.threads,
            self.pid
        )
    }
}

/// Nearest-rank percentiles.
pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |q: f64| {
            let i = (q * sorted.len() as f64).ceil() as usize;
            sorted.get(i.saturating_sub(1)).copied().unwrap_or_default()
        };
        Stats {
            n: sorted.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    pub fn json(&self) -> Value {
        json!({ "n": self.n, "p50": ms(self.p50), "p99": ms(self.p99), "max": ms(self.max) })
    }

    pub fn row(&self, label: &str) -> String {
        format!(
            "  {label:<44} {:>8.3} {:>8.3} {:>8.3}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

pub fn median(samples: &[Duration]) -> Duration {
    Stats::of(samples).p50
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn kib(k: u64) -> String {
    format!("{k} KiB ({:.2} MiB)", k as f64 / 1024.0)
}

/// Median, min, max and every sample, in ms.
pub fn spread_json(v: &[Duration]) -> Value {
    json!({
        "median": ms(median(v)),
        "min": ms(v.iter().copied().min().unwrap_or_default()),
        "max": ms(v.iter().copied().max().unwrap_or_default()),
        "all": v.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
    })
}

/// A table row: `label`, then median, min and max in ms.
pub fn spread_row(label: &str, v: &[Duration]) -> String {
    format!(
        "  {label:<44} {:>8.1} {:>8.1} {:>8.1}",
        ms(median(v)),
        ms(v.iter().copied().min().unwrap_or_default()),
        ms(v.iter().copied().max().unwrap_or_default())
    )
}

/// Every sample in ms with `decimals` decimals, space-separated.
pub fn list(v: &[Duration], decimals: usize) -> String {
    v.iter()
        .map(|d| format!("{:.decimals$}", ms(*d)))
        .collect::<Vec<_>>()
        .join(" ")
}
