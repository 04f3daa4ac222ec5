//! The bounded in-memory record of recent events (oldest dropped first).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::event::Event;

#[derive(Debug)]
pub struct Ring {
    events: VecDeque<Arc<Event>>,
    cap: usize,
}

impl Ring {
    pub fn new(cap: usize) -> Ring {
        Ring {
            events: VecDeque::with_capacity(cap.min(4096)),
            cap: cap.max(1),
        }
    }

    pub fn push(&mut self, event: Arc<Event>) {
        if self.events.len() >= self.cap {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The last `limit` events passing `keep`, oldest first.
    pub fn recent(&self, limit: usize, keep: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
        let mut out: Vec<Arc<Event>> = self
            .events
            .iter()
            .rev()
            .filter(|e| keep(e))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_n() {
        let mut r = Ring::new(3);
        for seq in 0..5 {
            r.push(Arc::new(Event {
                seq,
                ..Event::default()
            }));
        }
        assert_eq!(r.len(), 3);
        let seqs: Vec<u64> = r.recent(10, |_| true).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3, 4]);
        let odd: Vec<u64> = r
            .recent(1, |e| e.seq % 2 == 1)
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(odd, vec![3]);
    }
}
