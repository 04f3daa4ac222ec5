//! Per-MAC tracking for the detections, bounded: at most `cap` MACs; when full, the eighth seen
//! least recently is evicted at once (amortized O(log n) per new MAC) and counted, so a flood of
//! random MACs costs bounded memory. Also counts new MACs per minute and, per source MAC, the
//! distinct client MACs (chaddr) it sent for, within a minute. Pure (time passed in, ms).

use std::collections::HashMap;

use crate::action::Mac;

const WINDOW_MS: u64 = 60_000;

#[derive(Debug, Clone)]
struct MacState {
    last_seen: u64,
    packets: u64,
    /// Distinct chaddrs sent by this source in the current window (at most `chaddr_cap`).
    chaddrs: Vec<Mac>,
    chaddr_window: u64,
}

/// What one packet told us about its MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Observation {
    /// Distinct client MACs this source MAC sent for within the minute (capped).
    pub chaddrs_behind_source: u32,
    /// MACs first seen within the current minute, all sources together.
    pub new_macs_in_window: u32,
}

/// The bounded table.
#[derive(Debug)]
pub(crate) struct ClientTable {
    map: HashMap<Mac, MacState>,
    cap: usize,
    chaddr_cap: usize,
    evicted: u64,
    window_start: u64,
    new_in_window: u32,
}

impl ClientTable {
    /// `cap` MACs; `chaddr_cap` distinct chaddrs remembered per source (the starvation
    /// threshold is enough).
    pub(crate) fn new(cap: usize, chaddr_cap: usize) -> ClientTable {
        ClientTable {
            map: HashMap::with_capacity(cap.min(4096)),
            cap: cap.max(16),
            chaddr_cap: chaddr_cap.max(1),
            evicted: 0,
            window_start: 0,
            new_in_window: 0,
        }
    }

    /// Records a packet from `source` about client `chaddr`.
    pub(crate) fn observe(
        &mut self,
        source: Option<Mac>,
        chaddr: Option<Mac>,
        now: u64,
    ) -> Observation {
        if now.saturating_sub(self.window_start) >= WINDOW_MS {
            self.window_start = now;
            self.new_in_window = 0;
        }
        if let Some(c) = chaddr.filter(|c| Some(*c) != source) {
            self.touch(c, now);
        }
        let Some(source) = source else {
            return Observation {
                chaddrs_behind_source: 0,
                new_macs_in_window: self.new_in_window,
            };
        };
        self.touch(source, now);
        let chaddr_cap = self.chaddr_cap;
        let state = self.map.get_mut(&source);
        let behind = match (state, chaddr) {
            (Some(s), Some(c)) => {
                if now.saturating_sub(s.chaddr_window) >= WINDOW_MS {
                    s.chaddr_window = now;
                    s.chaddrs.clear();
                }
                if !s.chaddrs.contains(&c) && s.chaddrs.len() < chaddr_cap {
                    s.chaddrs.push(c);
                }
                s.chaddrs.len() as u32
            }
            _ => 0,
        };
        Observation {
            chaddrs_behind_source: behind,
            new_macs_in_window: self.new_in_window,
        }
    }

    fn touch(&mut self, mac: Mac, now: u64) {
        if let Some(s) = self.map.get_mut(&mac) {
            s.last_seen = now;
            s.packets += 1;
            return;
        }
        if self.map.len() >= self.cap {
            self.evict();
        }
        self.new_in_window = self.new_in_window.saturating_add(1);
        self.map.insert(
            mac,
            MacState {
                last_seen: now,
                packets: 1,
                chaddrs: Vec::new(),
                chaddr_window: now,
            },
        );
    }

    /// Drops the least recently seen eighth of the table.
    fn evict(&mut self) {
        let mut seen: Vec<u64> = self.map.values().map(|s| s.last_seen).collect();
        let n = (self.cap / 8).max(1);
        let nth = n.min(seen.len().saturating_sub(1));
        let (_, cutoff, _) = seen.select_nth_unstable(nth);
        let cutoff = *cutoff;
        let before = self.map.len();
        self.map.retain(|_, s| s.last_seen > cutoff);
        self.evicted += (before - self.map.len()) as u64;
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// MACs evicted so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Packets seen from/for `mac` while it has been tracked.
    #[cfg(test)]
    pub(crate) fn packets(&self, mac: &Mac) -> Option<u64> {
        self.map.get(mac).map(|s| s.packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u32) -> Mac {
        let b = n.to_be_bytes();
        Mac([2, 0, b[0], b[1], b[2], b[3]])
    }

    #[test]
    fn bounded_under_a_flood_of_random_macs() {
        let mut t = ClientTable::new(1000, 16);
        for i in 0..100_000u32 {
            t.observe(Some(mac(i)), Some(mac(i)), u64::from(i));
            assert!(t.len() <= 1000);
        }
        assert!(t.evicted() >= 99_000);
        // The most recent ones survive.
        assert!(t.packets(&mac(99_999)).is_some());
        assert!(t.packets(&mac(0)).is_none());
    }

    #[test]
    fn chaddrs_behind_one_source_and_new_macs_per_minute() {
        let mut t = ClientTable::new(100, 16);
        let src = mac(1);
        let mut last = Observation::default();
        for i in 0..40 {
            last = t.observe(Some(src), Some(mac(1000 + i)), 1000);
        }
        assert_eq!(last.chaddrs_behind_source, 16, "capped at the threshold");
        assert_eq!(last.new_macs_in_window, 41);
        let later = t.observe(Some(src), Some(mac(5000)), 1000 + WINDOW_MS);
        assert_eq!(later.chaddrs_behind_source, 1);
        assert_eq!(later.new_macs_in_window, 1);
        let own = t.observe(Some(mac(7)), Some(mac(7)), 1000 + WINDOW_MS);
        assert_eq!(own.chaddrs_behind_source, 1);
    }
}
