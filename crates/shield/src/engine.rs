//! The packet thread: receive from the queue, inspect, decide, give the verdict, then record and
//! publish. Nothing per packet is logged at the default level; counters say what happened. In
//! observe mode the packets are copies the kernel has already let through: the same decision
//! is made and recorded, a drop it cannot apply is recorded as the accept it was and counted
//! (`drops_not_applied`), and the client's action still reaches the kernel's sets.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crate::action::ClientKey;
use crate::clients::ClientTable;
use crate::config::{ShieldConfig, Verdict};
use crate::decide::{decide, Policy};
use crate::event::rfc3339;
use crate::inspect::{inspect, PacketMeta};
use crate::journal::Journal;
use crate::nfqueue::{wire, Queue, QueueError, QueuedPacket, Received};
use crate::own::OwnTracker;
use crate::state::{unix_now, CounterSnapshot, Counters, Shared};
use crate::wake::{self, Waited};

/// Per-packet processing, apart from the socket so the benchmark and tests can drive it.
pub struct Engine {
    shared: Arc<Shared>,
    policy: Policy,
    clients: ClientTable,
    interfaces: HashMap<u32, String>,
    own: OwnTracker,
    journal: Option<Journal>,
    seq: u64,
    /// Whether the packets wait for our verdict (inline) or are copies (observe).
    holds: bool,
}

/// The verdict to hand the kernel for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelVerdict {
    /// The NFQUEUE verdict (`NF_ACCEPT` or `NF_DROP`).
    pub verdict: u32,
    /// The packet mark to set with it, if any (`[shield] mark_base` plus the decision).
    pub mark: Option<u32>,
}

impl Engine {
    /// `interfaces`: ifindex → name, for the events' `interface` field.
    pub fn new(shared: Arc<Shared>, interfaces: HashMap<u32, String>) -> Engine {
        let cfg = &shared.config;
        let policy = Policy {
            rules: cfg.rules.clone(),
            malformed: cfg.malformed,
            mark_base: cfg.mark_base,
            starvation_chaddrs: cfg.starvation_chaddrs,
            starvation_new_macs: cfg.starvation_new_macs,
        };
        let clients = ClientTable::new(cfg.max_clients, cfg.starvation_chaddrs as usize);
        let own = OwnTracker::new(
            cfg.interfaces.iter().map(|i| i.to_string()).collect(),
            &cfg.trusted_servers,
        );
        Engine {
            shared,
            policy,
            clients,
            interfaces,
            own,
            journal: None,
            seq: 0,
            holds: true,
        }
    }

    /// An engine with no queue, threads or kernel rules, its state files in `state_dir`: for
    /// benchmarks and tests. Actions it assigns are kept but never reach the kernel.
    pub fn standalone(cfg: &ShieldConfig, state_dir: &Path) -> std::io::Result<Engine> {
        Ok(Engine::new(
            Shared::standalone(cfg, state_dir)?,
            HashMap::new(),
        ))
    }

    /// The counters this engine updates.
    pub fn counters(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    /// Tracked MACs right now.
    pub fn tracked(&self) -> usize {
        self.clients.len()
    }

    /// Treats packets as copies the kernel already let through (observe mode).
    pub fn observing(mut self) -> Engine {
        self.holds = false;
        self
    }

    /// Also writes every recorded event to `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Engine {
        self.journal = Some(journal);
        self
    }

    /// Inspects and decides one queued packet; records and publishes its event.
    pub fn process(&mut self, p: &QueuedPacket) -> KernelVerdict {
        let start = Instant::now();
        let counters = &self.shared.counters;
        Counters::add(&counters.packets);
        let meta = PacketMeta {
            source_mac: p.source_mac,
            dest_mac: None,
            interface: p.indev.map(|i| {
                self.interfaces
                    .get(&i)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            }),
        };
        let (mut event, mut facts) = inspect(&meta, &p.payload);
        if facts.from_server {
            facts.own_server = self
                .own
                .get(start)
                .is_own(facts.source_mac, facts.source_ip);
        }
        let (now_s, now_ms) = unix_now();
        let obs = self
            .clients
            .observe(facts.source_mac, facts.client_mac, now_ms);
        let record = {
            let actions = self.shared.actions();
            let by_client = facts.client.as_ref().and_then(|c| actions.get(c, now_s));
            let by_source = facts
                .source_mac
                .and_then(|m| actions.get(&ClientKey::Mac(m), now_s));
            by_client.or(by_source).cloned()
        };
        // A DUID's Block/Deny also goes to the kernel, on the MAC it is sent from (not when
        // relayed: the relay's MAC speaks for many clients).
        if let (Some(r), Some(src)) = (&record, facts.source_mac) {
            if matches!(r.client, ClientKey::Duid(_)) && r.action.drops() && !facts.relayed {
                self.shared.learn_duid_mac(r, src);
            }
        }
        let action = record.map(|r| r.action);
        let d = decide(&self.policy, &event, &facts, action, &obs);
        if event.malformed.is_some() {
            Counters::add(&counters.malformed);
        }
        for det in &d.detections {
            Counters::add(&counters.detections[det.index()]);
        }
        if let (Some(assign), Some(rule), Some(client)) = (d.assign, d.rule, facts.client.clone()) {
            let name = &self.policy.rules[rule].name;
            if let Err(e) = self.shared.assign_by_rule(client, assign, name) {
                self.shared
                    .rejections
                    .warn("rule_action", format_args!("rule {name}: {e}"));
            }
        }
        let applied = match d.verdict {
            Verdict::Drop if !self.holds => {
                Counters::add(&counters.drops_not_applied);
                Verdict::Accept
            }
            v => v,
        };
        let verdict = match applied {
            Verdict::Accept => {
                Counters::add(&counters.accepted);
                wire::NF_ACCEPT
            }
            Verdict::Drop => {
                Counters::add(&counters.dropped);
                wire::NF_DROP
            }
        };
        counters
            .clients_tracked
            .store(self.clients.len() as u64, Ordering::Relaxed);
        counters
            .clients_evicted
            .store(self.clients.evicted(), Ordering::Relaxed);
        if d.record {
            self.seq += 1;
            event.seq = self.seq;
            event.time = rfc3339(now_ms);
            event.verdict = match applied {
                Verdict::Accept => "accept",
                Verdict::Drop => "drop",
            };
            event.mark = d.mark.unwrap_or(0);
            if let Some(rule) = d.rule {
                event.matched_rule = self.policy.rules[rule].name.clone();
            }
            event.action = d.action;
            event.detections = d.detections.iter().map(|d| d.name()).collect();
            event.processing_time_ms = start.elapsed().as_secs_f64() * 1000.0;
            if let Some(journal) = self.journal.as_mut() {
                if let Ok(json) = serde_json::to_string(&event) {
                    journal.append(&json);
                }
            }
            let event = Arc::new(event);
            self.shared.hub.publish(&event, Instant::now());
            self.shared.ring().push(event);
            Counters::add(&counters.recorded);
        }
        KernelVerdict {
            verdict,
            mark: d.mark,
        }
    }
}

/// Runs the queue until the shield stops. Asleep while idle: it wakes when packets are queued,
/// when the journal's buffered events are due to be flushed, or when the shield stops.
pub fn run(mut engine: Engine, mut queue: Queue) {
    engine.holds = queue.holds();
    let shared = engine.shared.clone();
    let mut failing = false;
    while !shared.stopping() {
        let flush_due = engine.journal.as_ref().and_then(Journal::flush_due);
        let received = match wake::wait(queue.as_fd(), &shared.wake, flush_due) {
            Ok(Waited::Woken) => break,
            Ok(Waited::TimedOut) => Ok(Received::default()),
            Ok(Waited::Ready) => queue.recv(),
            Err(errno) => Err(QueueError::Io(errno)),
        };
        let received = match received {
            Ok(r) => r,
            Err(e) => {
                // Logged once per run of failures; the kernel fails open meanwhile.
                if !failing {
                    tracing::error!(error = %e, "shield queue receive failed; the kernel fails open");
                    failing = true;
                }
                shared
                    .stop
                    .wait_timeout(std::time::Duration::from_millis(200));
                continue;
            }
        };
        if failing {
            tracing::info!("shield queue receiving again");
            failing = false;
        }
        if let Some(journal) = engine.journal.as_mut() {
            journal.tick();
        }
        if received.overrun {
            Counters::add(&shared.counters.overruns);
            shared.rejections.warn(
                "queue_overrun",
                "shield queue overrun: packets were accepted uninspected",
            );
        }
        for p in &received.packets {
            let v = engine.process(p);
            if queue.verdict(p.id, v.verdict, v.mark).is_err() {
                Counters::add(&shared.counters.verdict_errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_mode_records_the_drop_it_cannot_apply() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ShieldConfig {
            malformed: Verdict::Drop,
            ..ShieldConfig::default()
        };
        let garbage = QueuedPacket {
            payload: vec![0x45, 0, 0],
            ..QueuedPacket::default()
        };
        let mut inline = Engine::standalone(&cfg, dir.path()).expect("standalone engine");
        assert_eq!(inline.process(&garbage).verdict, wire::NF_DROP);
        assert_eq!(inline.counters().dropped, 1);

        let mut observe = Engine::standalone(&cfg, dir.path())
            .expect("standalone engine")
            .observing();
        assert_eq!(observe.process(&garbage).verdict, wire::NF_ACCEPT);
        let c = observe.counters();
        assert_eq!((c.dropped, c.accepted, c.drops_not_applied), (0, 1, 1));
        let recorded = observe.shared.ring().recent(1, |_| true);
        assert_eq!(recorded[0].verdict, "accept");
        assert!(recorded[0].malformed.is_some());
    }
}
