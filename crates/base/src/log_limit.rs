//! A limit on how often one kind of warning is logged: at most `burst` lines per `interval`;
//! the occurrences beyond are counted, and the next line logged says how many were left out.
//! For input from outside (IPC messages, packets, bus requests), where a flood of bad input
//! must not become a flood of log lines. [`LogLimiter`] can live in a `static`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The counting state of a [`LogLimiter`], usable on its own where no sharing is needed.
#[derive(Debug, Clone)]
pub struct LogLimit {
    interval: Duration,
    burst: u32,
    window_start: Option<Instant>,
    logged_in_window: u32,
    suppressed: u64,
}

impl LogLimit {
    /// At most `burst` lines per `interval`.
    pub const fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst,
            window_start: None,
            logged_in_window: 0,
            suppressed: 0,
        }
    }

    /// One occurrence at `now`: `Some(n)` when it should be logged, `n` being how many were
    /// left out since the last line logged; `None` when it should be left out.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        let window_over = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.interval);
        if window_over {
            self.window_start = Some(now);
            self.logged_in_window = 0;
        }
        if self.logged_in_window < self.burst {
            self.logged_in_window += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

/// A [`LogLimit`] shared between threads and tasks.
#[derive(Debug)]
pub struct LogLimiter(Mutex<LogLimit>);

impl LogLimiter {
    /// At most `burst` lines per `interval`.
    pub const fn new(interval: Duration, burst: u32) -> Self {
        Self(Mutex::new(LogLimit::new(interval, burst)))
    }

    /// As [`LogLimit::check`], now.
    pub fn check(&self) -> Option<u64> {
        let mut limit = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        limit.check(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_interval_then_a_count_of_what_was_left_out() {
        let t0 = Instant::now();
        let mut limit = LogLimit::new(Duration::from_secs(10), 3);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let first: Vec<Option<u64>> = (0..10_000).map(|i| limit.check(at(i / 10))).collect();
        assert_eq!(first[..3], [Some(0), Some(0), Some(0)]);
        assert!(first[3..].iter().all(Option::is_none));
        // The next window's first line carries the count.
        assert_eq!(limit.check(at(10_000)), Some(9_997));
        assert_eq!(limit.check(at(10_001)), Some(0));
        assert_eq!(limit.check(at(10_002)), Some(0));
        assert_eq!(limit.check(at(10_003)), None);
        // A quiet stretch longer than the interval starts afresh.
        assert_eq!(limit.check(at(60_000)), Some(1));
    }

    #[test]
    fn ten_thousand_rejections_in_a_second_make_a_handful_of_lines() {
        let t0 = Instant::now();
        let mut limit = LogLimit::new(Duration::from_secs(10), 5);
        let lines = (0..10_000u64)
            .filter(|i| limit.check(t0 + Duration::from_micros(i * 100)).is_some())
            .count();
        assert_eq!(lines, 5);
    }

    #[test]
    fn the_shared_limiter_counts_across_threads() {
        static LIMITER: LogLimiter = LogLimiter::new(Duration::from_secs(3600), 4);
        let logged: usize = (0..8)
            .map(|_| std::thread::spawn(|| (0..100).filter(|_| LIMITER.check().is_some()).count()))
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(logged, 4);
    }
}
