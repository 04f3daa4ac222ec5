//! Rate-limited warnings for what comes from outside (control socket requests, LAN packets,
//! queue trouble): per kind of rejection, the first one is logged at once, repeats within
//! [`INTERVAL`] are counted, and the next line says how many were left out. A flood of bad
//! input costs one log line per kind per interval, not one per message.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dhcpmgr_base::LogLimit;

/// One line per kind at most this often.
pub(crate) const INTERVAL: Duration = Duration::from_secs(10);

/// The limiters by kind: one line per kind per [`INTERVAL`].
#[derive(Debug, Default)]
pub struct Rejections {
    kinds: Mutex<HashMap<&'static str, LogLimit>>,
}

impl Rejections {
    /// Whether a `kind` line may be logged now, and how many were left out before it.
    pub fn check(&self, kind: &'static str) -> Option<u64> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds
            .entry(kind)
            .or_insert_with(|| LogLimit::new(INTERVAL, 1))
            .check(Instant::now())
    }

    /// Logs a warning of `kind` (with `detail`) unless one was logged within [`INTERVAL`].
    pub fn warn(&self, kind: &'static str, detail: impl Display) {
        if let Some(suppressed) = self.check(kind) {
            tracing::warn!(kind, suppressed, detail = %detail, "shield input rejected");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_left_out() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let mut l = LogLimit::new(second, 1);
        assert_eq!(l.check(t0), Some(0));
        let logged = (1..=10_000u32)
            .filter_map(|i| l.check(t0 + Duration::from_micros(u64::from(i))))
            .count();
        assert_eq!(
            logged, 0,
            "10,000 rejections within the second: no further line"
        );
        assert_eq!(l.check(t0 + second), Some(10_000));
        assert_eq!(l.check(t0 + 2 * second), Some(0));

        let r = Rejections::default();
        assert_eq!(r.check("bad_request"), Some(0));
        assert_eq!(r.check("bad_request"), None);
        assert_eq!(r.check("unauthorised"), Some(0), "kinds are limited apart");
    }
}
