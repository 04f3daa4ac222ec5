//! What the shield's threads share: counters, the event ring, the action table (with its audit
//! log, persistence and kernel enforcement requests), the stream hub and saved filters. Action
//! changes all go through [`Shared::set_action`] / [`Shared::clear_action`], so each one is
//! audited, persisted and enforced the same way whoever made it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::config::ShieldConfig;
use crate::persist::StateStore;
use crate::shield::action::{Action, ClientKey, Lifetime, Mac};
use crate::shield::actions::{ActionError, ActionRecord, Actions};
use crate::shield::audit::{Audit, AuditEntry};
use crate::shield::decide::Detection;
use crate::shield::enforce::Enforce;
use crate::shield::event::rfc3339;
use crate::shield::hub::Hub;
use crate::shield::ring::Ring;

/// State file names in `state_dir`.
pub const ACTIONS_FILE: &str = "shield-actions";
pub const FILTERS_FILE: &str = "shield-filters";

/// Monotonic counters, readable at any time.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets: AtomicU64,
    pub accepted: AtomicU64,
    pub dropped: AtomicU64,
    pub malformed: AtomicU64,
    pub recorded: AtomicU64,
    pub verdict_errors: AtomicU64,
    /// Times the netlink socket overflowed (the kernel failed open meanwhile).
    pub overruns: AtomicU64,
    pub detections: [AtomicU64; Detection::ALL.len()],
    pub clients_tracked: AtomicU64,
    pub clients_evicted: AtomicU64,
    pub subscribers_refused: AtomicU64,
}

/// The counters as `dhcpmgrctl shield status` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct CounterSnapshot {
    pub packets: u64,
    pub accepted: u64,
    pub dropped: u64,
    pub malformed: u64,
    pub recorded: u64,
    pub verdict_errors: u64,
    pub overruns: u64,
    pub detections: BTreeMap<&'static str, u64>,
    pub clients_tracked: u64,
    pub clients_evicted: u64,
    pub subscribers_refused: u64,
}

impl Counters {
    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            packets: get(&self.packets),
            accepted: get(&self.accepted),
            dropped: get(&self.dropped),
            malformed: get(&self.malformed),
            recorded: get(&self.recorded),
            verdict_errors: get(&self.verdict_errors),
            overruns: get(&self.overruns),
            detections: Detection::ALL
                .iter()
                .map(|d| (d.name(), get(&self.detections[d.index()])))
                .collect(),
            clients_tracked: get(&self.clients_tracked),
            clients_evicted: get(&self.clients_evicted),
            subscribers_refused: get(&self.subscribers_refused),
        }
    }
}

/// Unix time in seconds and milliseconds.
pub fn unix_now() -> (u64, u64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.as_millis() as u64)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Shared by the packet thread, the control server and the enforcer.
pub struct Shared {
    pub config: ShieldConfig,
    pub counters: Counters,
    pub ring: Mutex<Ring>,
    pub actions: Mutex<Actions>,
    pub hub: Hub,
    pub audit: Mutex<Audit>,
    /// Saved stream filters per user (`uid:N`), by name.
    pub filters: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    pub store: StateStore,
    pub enforce: Mutex<Sender<Enforce>>,
    /// The MAC each DUID with a dropping action was last seen from (enforced in the kernel).
    pub learned: Mutex<HashMap<Vec<u8>, Mac>>,
    pub stop: AtomicBool,
    pub queue_in_nft: AtomicBool,
}

impl Shared {
    /// Shared state with nothing loaded and no kernel behind it (actions set are kept but never
    /// enforced), its state files in `state_dir`: for benchmarks and tests.
    pub fn standalone(cfg: &ShieldConfig, state_dir: &Path) -> Arc<Shared> {
        let (enforce, _) = std::sync::mpsc::channel();
        Arc::new(Shared {
            config: cfg.clone(),
            counters: Counters::default(),
            ring: Mutex::new(Ring::new(cfg.ring_size)),
            actions: Mutex::new(Actions::new(cfg.max_clients)),
            hub: Hub::new(cfg.max_subscribers),
            audit: Mutex::new(Audit::new(None)),
            filters: Mutex::new(Default::default()),
            store: StateStore::new(state_dir),
            enforce: Mutex::new(enforce),
            learned: Mutex::new(Default::default()),
            stop: AtomicBool::new(false),
            queue_in_nft: AtomicBool::new(false),
        })
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub fn ring(&self) -> MutexGuard<'_, Ring> {
        lock(&self.ring)
    }

    pub fn actions(&self) -> MutexGuard<'_, Actions> {
        lock(&self.actions)
    }

    pub fn audit(&self) -> MutexGuard<'_, Audit> {
        lock(&self.audit)
    }

    pub fn filters(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Value>>> {
        lock(&self.filters)
    }

    fn send(&self, cmd: Enforce) {
        let _ = lock(&self.enforce).send(cmd);
    }

    /// Sets `action` for `client` for `lifetime`.
    pub fn set_action(
        &self,
        client: ClientKey,
        action: Action,
        lifetime: Lifetime,
        by: &str,
        reason: &str,
    ) -> Result<ActionRecord, ActionError> {
        let (now, _) = unix_now();
        let secs = lifetime.secs(action);
        let record = ActionRecord {
            client: client.clone(),
            action,
            since: now,
            until: secs.map(|s| now.saturating_add(s)),
            by: by.to_string(),
            reason: reason.to_string(),
        };
        let previous = self.actions().set(record.clone())?;
        if let Some(previous) = previous.filter(|p| p.action != action) {
            self.forget_duid_mac(&previous);
            self.send(Enforce::Clear(previous));
        }
        self.send(Enforce::Apply(record.clone()));
        self.audit().record(AuditEntry {
            time: rfc3339(now * 1000),
            who: by.to_string(),
            what: "set".into(),
            client: client.to_string(),
            action: Some(action.name().to_string()),
            until: record.until.map(|u| rfc3339(u * 1000)),
            why: reason.to_string(),
        });
        self.persist_actions();
        Ok(record)
    }

    /// Clears `client`'s action; `None` if it had none.
    pub fn clear_action(&self, client: &ClientKey, by: &str, why: &str) -> Option<ActionRecord> {
        let removed = self.actions().clear(client)?;
        self.send(Enforce::Clear(removed.clone()));
        self.forget_duid_mac(&removed);
        let (now, _) = unix_now();
        self.audit().record(AuditEntry {
            time: rfc3339(now * 1000),
            who: by.to_string(),
            what: if by == "expiry" { "expired" } else { "clear" }.into(),
            client: client.to_string(),
            action: Some(removed.action.name().to_string()),
            until: None,
            why: why.to_string(),
        });
        self.persist_actions();
        Some(removed)
    }

    /// Audits and forgets actions that have run out (the kernel's set timeouts end them there).
    pub fn expire_actions(&self) {
        let (now, _) = unix_now();
        let ended = self.actions().expire(now);
        if ended.is_empty() {
            return;
        }
        for record in ended {
            self.send(Enforce::Clear(record.clone()));
            self.forget_duid_mac(&record);
            self.audit().record(AuditEntry {
                time: rfc3339(now * 1000),
                who: "expiry".into(),
                what: "expired".into(),
                client: record.client.to_string(),
                action: Some(record.action.name().to_string()),
                until: None,
                why: "duration ran out".into(),
            });
        }
        self.persist_actions();
    }

    /// Enforces a DUID's dropping action in the kernel on `mac`, the MAC it was seen from (once
    /// per DUID and MAC).
    pub fn learn_duid_mac(&self, record: &ActionRecord, mac: Mac) {
        let ClientKey::Duid(duid) = &record.client else {
            return;
        };
        let previous = {
            let mut learned = lock(&self.learned);
            if learned.get(duid) == Some(&mac) {
                return;
            }
            learned.insert(duid.clone(), mac)
        };
        if let Some(old) = previous {
            self.send(Enforce::Clear(ActionRecord {
                client: ClientKey::Mac(old),
                ..record.clone()
            }));
        }
        tracing::info!(client = %record.client, mac = %mac, action = %record.action, "DUID action enforced on its MAC");
        self.send(Enforce::Apply(ActionRecord {
            client: ClientKey::Mac(mac),
            ..record.clone()
        }));
    }

    fn forget_duid_mac(&self, record: &ActionRecord) {
        let ClientKey::Duid(duid) = &record.client else {
            return;
        };
        if let Some(mac) = lock(&self.learned).remove(duid) {
            self.send(Enforce::Clear(ActionRecord {
                client: ClientKey::Mac(mac),
                ..record.clone()
            }));
        }
    }

    fn persist_actions(&self) {
        let list = self.actions().list();
        if let Err(e) = self.store.save(ACTIONS_FILE, &list) {
            tracing::warn!(error = %e, "cannot persist shield actions");
        }
    }

    pub fn persist_filters(&self) {
        let filters = self.filters().clone();
        if let Err(e) = self.store.save(FILTERS_FILE, &filters) {
            tracing::warn!(error = %e, "cannot persist saved stream filters");
        }
    }
}
