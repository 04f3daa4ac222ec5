//! Time on CLOCK_BOOTTIME: it keeps counting through suspend and never jumps with NTP, so lease
//! expiry stays right on gateways whose wall clock starts in 1970 and is set late.

use std::fs;
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};
use serde::{Deserialize, Serialize};

/// Whole seconds since boot on CLOCK_BOOTTIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BootSeconds(pub u64);

impl BootSeconds {
    /// The current time.
    pub fn now() -> Self {
        // CLOCK_BOOTTIME exists on every Linux this daemon supports; fall back to 0 rather than
        // panic if a sandbox hides it (lease timers then simply count from 0).
        let secs = clock_gettime(ClockId::CLOCK_BOOTTIME)
            .map(|t| u64::try_from(t.tv_sec()).unwrap_or(0))
            .unwrap_or(0);
        Self(secs)
    }

    /// This time plus `secs`, saturating.
    pub fn after(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// How long from `now` until this time (zero if it has passed).
    pub fn duration_from(self, now: BootSeconds) -> Duration {
        Duration::from_secs(self.0.saturating_sub(now.0))
    }
}

/// The kernel's identifier of this boot; a persisted boot time is meaningful only when it matches.
pub fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
