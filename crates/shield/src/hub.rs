//! Live-stream fan-out: subscribers with their own server-side filter, a token bucket (rate and
//! burst) and a bounded queue each; events over the rate or beyond a slow reader's queue are
//! dropped and counted for that subscriber. At most `max` subscribers. Publishing costs one
//! atomic load when nobody listens; an event is serialized once, only if someone wants it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::event::Event;
use crate::filter::Filter;

/// Events waiting per subscriber before it counts as slow.
const QUEUE: usize = 512;

/// A token bucket: `rate` tokens per second up to `burst`.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket of `burst` (at least 1) refilled at `rate` tokens per second.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Bucket {
        Bucket {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What happened to a subscriber's events so far.
#[derive(Debug, Default)]
pub struct SubStats {
    /// Events handed to the subscriber.
    pub delivered: AtomicU64,
    /// Dropped by the rate limit.
    pub rate_limited: AtomicU64,
    /// Dropped because the subscriber read too slowly.
    pub overflow: AtomicU64,
}

struct Sub {
    id: u64,
    filter: Filter,
    bucket: Bucket,
    tx: SyncSender<Arc<str>>,
    stats: Arc<SubStats>,
}

/// A subscriber's end.
pub struct Subscription {
    /// The subscriber's number, for [`Hub::unsubscribe`].
    pub id: u64,
    /// Its events, each one JSON line.
    pub rx: Receiver<Arc<str>>,
    /// What it was given and what it missed.
    pub stats: Arc<SubStats>,
}

/// The stream is full (`[shield] max_subscribers`, the number given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stream already has its maximum of {0} subscribers")]
pub struct HubFull(pub usize);

/// The subscribers.
pub struct Hub {
    subs: Mutex<Vec<Sub>>,
    count: AtomicUsize,
    next_id: AtomicU64,
    max: usize,
}

impl Hub {
    /// A hub for at most `max` subscribers.
    pub fn new(max: usize) -> Hub {
        Hub {
            subs: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            max,
        }
    }

    /// Adds a subscriber that gets the events `filter` passes, at most `rate` per second with `burst`; `HubFull` when there are `max` already.
    pub fn subscribe(
        &self,
        filter: Filter,
        rate: u32,
        burst: u32,
    ) -> Result<Subscription, HubFull> {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        if subs.len() >= self.max {
            return Err(HubFull(self.max));
        }
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(SubStats::default());
        subs.push(Sub {
            id,
            filter,
            bucket: Bucket::new(rate, burst, Instant::now()),
            tx,
            stats: stats.clone(),
        });
        self.count.store(subs.len(), Ordering::Release);
        Ok(Subscription { id, rx, stats })
    }

    /// Removes subscriber `id` (nothing when it is gone already).
    pub fn unsubscribe(&self, id: u64) {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| s.id != id);
        self.count.store(subs.len(), Ordering::Release);
    }

    /// Subscribers now.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers `event` to every subscriber whose filter it passes.
    pub fn publish(&self, event: &Event, now: Instant) {
        if self.is_empty() {
            return;
        }
        let mut line: Option<Arc<str>> = None;
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain_mut(|s| {
            if !s.filter.matches(event) {
                return true;
            }
            if !s.bucket.take(now) {
                s.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            let text = line
                .get_or_insert_with(|| {
                    serde_json::to_string(event)
                        .unwrap_or_else(|_| "{}".into())
                        .into()
                })
                .clone();
            match s.tx.try_send(text) {
                Ok(()) => {
                    s.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Full(_)) => {
                    s.stats.overflow.fetch_add(1, Ordering::Relaxed);
                    true
                }
                // The subscriber's connection is gone.
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
        self.count.store(subs.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_rate_and_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10, 3, t0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            (0..10).filter(|_| b.take(later)).count(),
            3,
            "burst caps the refill"
        );
    }

    #[test]
    fn filters_limits_and_drop_counts() {
        let hub = Hub::new(2);
        let discover = Filter::parse(
            r#"{"logic":"AND","rules":[{"field":"message_type","operator":"eq","value":"DISCOVER"}]}"#,
        )
        .unwrap();
        let a = hub.subscribe(discover, 1000, 2).unwrap();
        let b = hub.subscribe(Filter::all(), 1_000_000, 1_000_000).unwrap();
        assert_eq!(hub.subscribe(Filter::all(), 1, 1).err(), Some(HubFull(2)));
        let now = Instant::now();
        let ev = |t: &str| Event {
            message_type: Some(t.into()),
            ..Event::default()
        };
        for _ in 0..5 {
            hub.publish(&ev("DISCOVER"), now);
        }
        hub.publish(&ev("OFFER"), now);
        assert_eq!(a.rx.try_iter().count(), 2);
        assert_eq!(a.stats.rate_limited.load(Ordering::Relaxed), 3);
        assert_eq!(b.rx.try_iter().count(), 6);
        // A slow reader: the queue fills, the rest is counted.
        for _ in 0..QUEUE + 10 {
            hub.publish(&ev("ACK"), now);
        }
        assert_eq!(b.stats.overflow.load(Ordering::Relaxed), 10);
        drop(b);
        hub.publish(&ev("ACK"), now);
        assert_eq!(hub.len(), 1, "a gone subscriber is removed");
        hub.unsubscribe(a.id);
        assert!(hub.is_empty());
    }
}
