//! The daemon's one stop signal. Async parts (the controller, the TR-181 thread) await a tokio
//! [`CancellationToken`] taken from it; plain threads (the watchdog, and the shield once it takes
//! it) block in [`StopToken::wait_timeout`] instead of polling a flag. Only the shutdown owner
//! ([`super::shutdown::Shutdown`]) cancels it.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// A clonable stop signal for async and blocking parts alike.
#[derive(Debug, Clone, Default)]
pub struct StopToken {
    token: CancellationToken,
    blocking: Arc<(Mutex<bool>, Condvar)>,
}

impl StopToken {
    pub fn new() -> StopToken {
        StopToken::default()
    }

    /// The tokio token for parts that `select!` on [`CancellationToken::cancelled`].
    pub fn cancellation(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Tells every holder to stop. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
        let (stopped, wake) = &*self.blocking;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        *self
            .blocking
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks for at most `timeout`; true when the stop was signalled (before or during it).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (stopped, wake) = &*self.blocking;
        let mut guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        while !*guard {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = wake
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_times_out_until_cancelled_then_returns_at_once() {
        let stop = StopToken::new();
        assert!(!stop.wait_timeout(Duration::from_millis(10)));
        assert!(!stop.is_cancelled() && !stop.cancellation().is_cancelled());
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || stop.wait_timeout(Duration::from_secs(60)))
        };
        stop.cancel();
        assert!(waiter.join().unwrap(), "a blocked waiter wakes on cancel");
        assert!(stop.is_cancelled() && stop.cancellation().is_cancelled());
        assert!(stop.wait_timeout(Duration::from_secs(60)));
    }
}
