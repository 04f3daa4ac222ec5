//! The daemon's one stop signal. Async parts (the controller, the TR-181 thread) await a tokio
//! [`CancellationToken`] taken from it; plain threads (the watchdog, the shield's threads) block
//! in [`StopToken::wait`] or [`StopToken::wait_timeout`] instead of polling a flag. Only the shutdown owner cancels the
//! root token; a part that is restarted on its own (the shield on SIGHUP) gets a
//! [`StopToken::child`]: stopped with the daemon, or alone.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// A clonable stop signal for async and blocking parts alike.
///
/// The [`CancellationToken`] tree holds the state (a child is cancelled with its parent); a
/// root and all its descendants share one condition variable, so a cancel anywhere in the tree
/// wakes every blocked waiter, which then checks its own token under the lock (no lost wake-up).
#[derive(Debug, Clone, Default)]
pub struct StopToken {
    token: CancellationToken,
    wake: Arc<(Mutex<()>, Condvar)>,
}

impl StopToken {
    /// A root token, not cancelled.
    pub fn new() -> StopToken {
        StopToken::default()
    }

    /// A token cancelled when this one is, and cancellable alone without touching this one.
    pub fn child(&self) -> StopToken {
        StopToken {
            token: self.token.child_token(),
            wake: self.wake.clone(),
        }
    }

    /// The tokio token for parts that `select!` on [`CancellationToken::cancelled`].
    pub fn cancellation(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Tells every holder of this token and of its children to stop. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
        let (lock, wake) = &*self.wake;
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        wake.notify_all();
    }

    /// Whether this token (or one of its ancestors) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Blocks until the stop is signalled (at once if it was).
    pub fn wait(&self) {
        let (lock, wake) = &*self.wake;
        let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.token.is_cancelled() {
            guard = wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks for at most `timeout`; true when the stop was signalled (before or during it).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, wake) = &*self.wake;
        let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.token.is_cancelled() {
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

    fn blocked_waiter(stop: &StopToken) -> std::thread::JoinHandle<bool> {
        let stop = stop.clone();
        std::thread::spawn(move || stop.wait_timeout(Duration::from_secs(60)))
    }

    #[test]
    fn waiting_times_out_until_cancelled_then_returns_at_once() {
        let stop = StopToken::new();
        assert!(!stop.wait_timeout(Duration::from_millis(10)));
        assert!(!stop.is_cancelled() && !stop.cancellation().is_cancelled());
        let waiter = blocked_waiter(&stop);
        stop.cancel();
        assert!(waiter.join().unwrap(), "a blocked waiter wakes on cancel");
        assert!(stop.is_cancelled() && stop.cancellation().is_cancelled());
        assert!(stop.wait_timeout(Duration::from_secs(60)));
    }

    #[test]
    fn a_child_is_cancelled_by_its_parent() {
        let parent = StopToken::new();
        let child = parent.child();
        let grandchild = child.child();
        assert!(!child.is_cancelled() && !grandchild.is_cancelled());
        parent.cancel();
        assert!(child.is_cancelled() && child.cancellation().is_cancelled());
        assert!(grandchild.is_cancelled());
        assert!(child.wait_timeout(Duration::from_secs(60)));
    }

    #[test]
    fn a_child_cancelled_alone_leaves_its_parent_and_siblings_running() {
        let parent = StopToken::new();
        let child = parent.child();
        let sibling = parent.child();
        let parent_waiter = blocked_waiter(&parent);
        let child_waiter = blocked_waiter(&child);
        child.cancel();
        assert!(child_waiter.join().unwrap(), "the child's waiter wakes");
        assert!(child.is_cancelled());
        assert!(!parent.is_cancelled() && !parent.cancellation().is_cancelled());
        assert!(!sibling.is_cancelled());
        assert!(!sibling.wait_timeout(Duration::from_millis(20)));
        assert!(
            !parent_waiter.is_finished(),
            "the parent's waiter stays blocked"
        );
        parent.cancel();
        assert!(parent_waiter.join().unwrap());
        assert!(sibling.is_cancelled());
    }

    #[test]
    fn wait_blocks_until_a_cancel_anywhere_above() {
        let parent = StopToken::new();
        let child = parent.child();
        let waiter = {
            let child = child.clone();
            std::thread::spawn(move || child.wait())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "wait returned before any cancel");
        parent.cancel();
        waiter.join().unwrap();
        child.wait();
    }

    #[test]
    fn a_blocked_child_waiter_wakes_on_its_parents_cancel() {
        let parent = StopToken::new();
        let child = parent.child();
        let waiter = blocked_waiter(&child);
        std::thread::sleep(Duration::from_millis(20));
        parent.cancel();
        assert!(
            waiter.join().unwrap(),
            "the child's waiter wakes on the parent's cancel"
        );
    }
}
