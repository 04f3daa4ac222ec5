//! What the shield's threads share: counters, the event ring, the action table (written only by
//! the enforcer, see `enforce`), the audit log, the stream hub and saved filters. Action
//! changes all go through [`Shared::set_action`] / [`Shared::clear_action`] (answered once the
//! change is in the kernel and on disk) or [`Shared::assign_by_rule`] (not waited for), so each
//! one is audited, persisted and enforced the same way whoever made it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::action::{Action, ClientKey, Lifetime, Mac};
use crate::actions::{ActionRecord, Actions};
use crate::audit::Audit;
use crate::config::ShieldConfig;
use crate::decide::Detection;
use crate::enforce::{self, CommitError, Committed, Mutation, Request};
use crate::hook::KernelSet;
use crate::hub::Hub;
use crate::lograte::Rejections;
use crate::nftnl::{Change, NoKernel};
use crate::ring::Ring;
use crate::wake::Wake;
use dhcpmgr_base::{StateStore, StopToken};

/// State file names in `state_dir`.
pub const ACTIONS_FILE: &str = "shield-actions";
/// The file users' saved stream filters are kept in (see [`Shared::persist_filters`]).
pub const FILTERS_FILE: &str = "shield-filters";

/// Monotonic counters, readable at any time.
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets the shield has seen.
    pub packets: AtomicU64,
    /// Packets given an accept verdict (drops observe mode could not apply count here too).
    pub accepted: AtomicU64,
    /// Packets dropped.
    pub dropped: AtomicU64,
    /// Packets that did not parse as DHCP (their verdict is the config's `malformed`).
    pub malformed: AtomicU64,
    /// Packets recorded as events (in the ring, the stream and the journal).
    pub recorded: AtomicU64,
    /// Verdicts the kernel did not take (the packet went on: the queue fails open).
    pub verdict_errors: AtomicU64,
    /// Times the netlink socket overflowed (the kernel failed open meanwhile).
    pub overruns: AtomicU64,
    /// Detections made, one counter per [`Detection`], in [`Detection::ALL`]'s order.
    pub detections: [AtomicU64; Detection::ALL.len()],
    /// Clients the client table holds now.
    pub clients_tracked: AtomicU64,
    /// Clients evicted from a full client table (the least recently seen first).
    pub clients_evicted: AtomicU64,
    /// Stream subscriptions refused because `max_subscribers` were already open.
    pub subscribers_refused: AtomicU64,
    /// Action changes the kernel refused.
    pub kernel_refusals: AtomicU64,
    /// Writes of the actions file.
    pub actions_writes: AtomicU64,
    /// Rule-made actions not taken because the enforcer was too busy.
    pub rule_actions_dropped: AtomicU64,
    /// Drop decisions observe mode could not apply (the packet had already gone on).
    pub drops_not_applied: AtomicU64,
}

/// The counters as `dhcpmgrctl shield status` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct CounterSnapshot {
    /// See [`Counters::packets`].
    pub packets: u64,
    /// See [`Counters::accepted`].
    pub accepted: u64,
    /// See [`Counters::dropped`].
    pub dropped: u64,
    /// See [`Counters::malformed`].
    pub malformed: u64,
    /// See [`Counters::recorded`].
    pub recorded: u64,
    /// See [`Counters::verdict_errors`].
    pub verdict_errors: u64,
    /// See [`Counters::overruns`].
    pub overruns: u64,
    /// Detections by the detection's name.
    pub detections: BTreeMap<&'static str, u64>,
    /// See [`Counters::clients_tracked`].
    pub clients_tracked: u64,
    /// See [`Counters::clients_evicted`].
    pub clients_evicted: u64,
    /// See [`Counters::subscribers_refused`].
    pub subscribers_refused: u64,
    /// See [`Counters::kernel_refusals`].
    pub kernel_refusals: u64,
    /// See [`Counters::actions_writes`].
    pub actions_writes: u64,
    /// See [`Counters::rule_actions_dropped`].
    pub rule_actions_dropped: u64,
    /// See [`Counters::drops_not_applied`].
    pub drops_not_applied: u64,
}

impl Counters {
    /// Counts one more on `c`.
    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now (each read on its own, not one atomic snapshot).
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
            kernel_refusals: get(&self.kernel_refusals),
            actions_writes: get(&self.actions_writes),
            rule_actions_dropped: get(&self.rule_actions_dropped),
            drops_not_applied: get(&self.drops_not_applied),
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

/// Requests waiting for the enforcer at most.
const REQUEST_QUEUE: usize = 1024;

/// Shared by the packet thread, the control server and the enforcer.
pub struct Shared {
    /// The shield's configuration, as it was when the shield started.
    pub config: ShieldConfig,
    /// The counters.
    pub counters: Counters,
    /// The most recent events, for `events` queries (`ring_size` of them).
    pub ring: Mutex<Ring>,
    /// The actions in force; only the enforcer changes them.
    pub actions: Mutex<Actions>,
    /// The stream subscribers.
    pub hub: Hub,
    /// The audit log of action changes.
    pub audit: Mutex<Audit>,
    /// Saved stream filters per user (`uid:N`), by name.
    pub filters: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    /// Where `actions` and `filters` are persisted.
    pub store: StateStore,
    requests: SyncSender<Request>,
    /// The MAC each DUID with a dropping action was last seen from (enforced in the kernel).
    pub learned: Mutex<HashMap<Vec<u8>, Mac>>,
    /// The shield's stop: a child of the daemon's token, cancelled when the shield stops.
    pub stop: StopToken,
    /// Wakes the threads that wait in the kernel once `stop` is cancelled (see
    /// [`Shared::wake_on_stop`]).
    pub(crate) wake: Wake,
    /// Whether the packet queue's hook lives in nftables (else in iptables).
    pub queue_in_nft: AtomicBool,
    /// Set once the kernel's sets are reconciled and the enforcer runs.
    pub enforcing: AtomicBool,
    /// Why the shield is off (it could not bring the kernel in line with its record).
    pub off: Mutex<Option<String>>,
    /// Rate limits for warnings about input from outside.
    pub rejections: Rejections,
}

/// State that is gone stops the shield's threads that outlive it (the `shield-stop` thread and
/// the enforcer hold it weakly): dropping it without a stop (a benchmark's standalone state)
/// leaves no thread behind.
impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Shared {
    /// Shared state around `actions` and `filters`; the receiver is the enforcer's. Fails only
    /// when the wake-up socket pair cannot be made (out of descriptors).
    pub fn new(
        cfg: &ShieldConfig,
        store: StateStore,
        audit: Audit,
        actions: Actions,
        filters: BTreeMap<String, BTreeMap<String, Value>>,
        stop: StopToken,
    ) -> std::io::Result<(Arc<Shared>, Receiver<Request>)> {
        let wake = Wake::new()?;
        let (requests, rx) = mpsc::sync_channel(REQUEST_QUEUE);
        let shared = Arc::new(Shared {
            config: cfg.clone(),
            counters: Counters::default(),
            ring: Mutex::new(Ring::new(cfg.ring_size)),
            actions: Mutex::new(actions),
            hub: Hub::new(cfg.max_subscribers),
            audit: Mutex::new(audit),
            filters: Mutex::new(filters),
            store,
            requests,
            learned: Mutex::new(Default::default()),
            stop,
            wake,
            queue_in_nft: AtomicBool::new(false),
            enforcing: AtomicBool::new(false),
            off: Mutex::new(None),
            rejections: Rejections::default(),
        });
        Ok((shared, rx))
    }

    /// Starts the thread that waits (without waking up) for `stop` and then wakes every shield
    /// thread that waits in the kernel or for the enforcer's next request, so that cancelling
    /// the token alone stops them all. The thread holds no reference that keeps the state
    /// alive; it ends with the stop.
    pub fn wake_on_stop(self: &Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let (stop, shared) = (self.stop.clone(), Arc::downgrade(self));
        std::thread::Builder::new()
            .name("shield-stop".into())
            .spawn(move || {
                stop.wait();
                if let Some(shared) = shared.upgrade() {
                    shared.wake.signal();
                    // A full queue means the enforcer is busy: it looks at the token after
                    // every batch anyway.
                    let _ = shared.requests.try_send(Request::Stop);
                }
            })
    }

    /// Shared state with nothing loaded and no kernel behind it (actions set are kept but never
    /// enforced), its state files in `state_dir`: for benchmarks and tests. Its enforcer thread
    /// and its `shield-stop` thread end when the state is dropped or `stop` is cancelled;
    /// cancelling `stop` also wakes a control socket served on it ([`Shared::wake_on_stop`]).
    pub fn standalone(cfg: &ShieldConfig, state_dir: &Path) -> std::io::Result<Arc<Shared>> {
        let (shared, rx) = Shared::new(
            cfg,
            StateStore::new(state_dir),
            Audit::new(None),
            Actions::new(cfg.max_clients),
            Default::default(),
            StopToken::new(),
        )?;
        shared.wake_on_stop()?;
        enforce::spawn(&shared, rx, Box::new(NoKernel))?;
        shared.enforcing.store(true, Ordering::Release);
        Ok(shared)
    }

    /// Whether the shield's stop token was cancelled (by the shield or by the daemon).
    pub fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// The event ring, locked (a poisoned lock is taken over: the ring stays consistent).
    pub fn ring(&self) -> MutexGuard<'_, Ring> {
        lock(&self.ring)
    }

    /// The actions in force, locked.
    pub fn actions(&self) -> MutexGuard<'_, Actions> {
        lock(&self.actions)
    }

    /// The audit log, locked.
    pub fn audit(&self) -> MutexGuard<'_, Audit> {
        lock(&self.audit)
    }

    /// The saved stream filters, locked.
    pub fn filters(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Value>>> {
        lock(&self.filters)
    }

    /// How packets reach userspace: `nflog` (observe), `nftables` or `iptables` (the NFQUEUE
    /// hook, inline).
    pub fn queue_hook(&self) -> &'static str {
        if self.config.mode == crate::config::Mode::Observe {
            "nflog"
        } else if self.queue_in_nft.load(Ordering::Relaxed) {
            "nftables"
        } else {
            "iptables"
        }
    }

    /// Why the shield is off, if it is.
    pub fn off_reason(&self) -> Option<String> {
        lock(&self.off).clone()
    }

    fn record(
        client: ClientKey,
        action: Action,
        lifetime: Lifetime,
        by: &str,
        reason: &str,
    ) -> ActionRecord {
        let (now, _) = unix_now();
        ActionRecord {
            client,
            action,
            since: now,
            until: lifetime.secs(action).map(|s| now.saturating_add(s)),
            by: by.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Sends `mutation` to the enforcer and waits until it is committed or refused.
    fn commit(&self, mutation: Mutation) -> Result<Committed, CommitError> {
        if let Some(why) = self.off_reason() {
            return Err(CommitError::Off(why));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.requests
            .send(Request::Change {
                mutation,
                reply: Some(reply),
            })
            .map_err(|_| CommitError::Stopped)?;
        answer.recv().unwrap_or(Err(CommitError::Stopped))
    }

    /// Sets `action` for `client` for `lifetime`; answers once it is enforced and persisted.
    pub fn set_action(
        &self,
        client: ClientKey,
        action: Action,
        lifetime: Lifetime,
        by: &str,
        reason: &str,
    ) -> Result<ActionRecord, CommitError> {
        let record = Self::record(client, action, lifetime, by, reason);
        self.commit(Mutation::Set(record.clone()))?;
        Ok(record)
    }

    /// Clears `client`'s action; answers once it is out of the kernel and the record.
    pub fn clear_action(
        &self,
        client: &ClientKey,
        by: &str,
        why: &str,
    ) -> Result<ActionRecord, CommitError> {
        match self.commit(Mutation::Clear {
            client: client.clone(),
            by: by.to_string(),
            why: why.to_string(),
        })? {
            Committed::Cleared(record) => Ok(record),
            _ => Err(CommitError::NoAction(client.clone())),
        }
    }

    /// Hands the enforcer the action rule `rule` assigns to `client`, without waiting (the
    /// packet thread never blocks on the kernel or the disk).
    pub fn assign_by_rule(
        &self,
        client: ClientKey,
        action: Action,
        rule: &str,
    ) -> Result<(), CommitError> {
        if let Some(why) = self.off_reason() {
            return Err(CommitError::Off(why));
        }
        let record = Self::record(
            client,
            action,
            Lifetime::Default,
            &format!("rule:{rule}"),
            "matched a config rule",
        );
        let request = Request::Change {
            mutation: Mutation::Set(record),
            reply: None,
        };
        match self.requests.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Counters::add(&self.counters.rule_actions_dropped);
                Err(CommitError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(CommitError::Stopped),
        }
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
        let _ = self.requests.try_send(Request::Learned {
            record: record.clone(),
            mac,
            previous,
        });
    }

    /// The DUIDs whose dropping action `old` has and `next` no longer has, with the deletes of
    /// their learned MACs from the kernel.
    pub fn learned_macs_ending(
        &self,
        old: &Actions,
        next: &Actions,
    ) -> (Vec<Vec<u8>>, Vec<Change>) {
        let learned = lock(&self.learned);
        let mut duids = Vec::new();
        let mut changes = Vec::new();
        for record in old.iter().filter(|r| r.action.drops()) {
            let ClientKey::Duid(duid) = &record.client else {
                continue;
            };
            if next
                .get(&record.client, 0)
                .is_some_and(|r| r.action.drops())
            {
                continue;
            }
            if let Some(mac) = learned.get(duid) {
                duids.push(duid.clone());
                changes.push(Change::Delete {
                    set: KernelSet::Deny.name().to_string(),
                    mac: *mac,
                });
            }
        }
        (duids, changes)
    }

    /// Forgets the learned MACs of `duids`.
    pub fn forget_learned(&self, duids: &[Vec<u8>]) {
        let mut learned = lock(&self.learned);
        for duid in duids {
            learned.remove(duid);
        }
    }

    /// Writes the saved stream filters to [`FILTERS_FILE`]; a failure is logged, the filters in
    /// memory stay.
    pub fn persist_filters(&self) {
        let filters = self.filters().clone();
        if let Err(e) = self.store.save(FILTERS_FILE, &filters) {
            tracing::warn!(error = %e, "cannot persist saved stream filters");
        }
    }
}
