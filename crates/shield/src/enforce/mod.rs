//! The enforcer thread: the only writer of the action table. An action change (`set`,
//! `clear`, a config action at start, a rule's assignment, expiry) is committed in this order:
//! the kernel transaction that enforces it is acknowledged, then the table is persisted
//! (fsync'd), then the in-memory table changes, then the caller is answered. A kernel refusal
//! or a failed write leaves all three as they were (a kernel change already made is undone)
//! and the caller gets the reason; the audit log records refusals too.
//!
//! Requests that arrive while a commit is under way share the next transaction (group commit,
//! no waiting window); if that transaction is refused, each is retried alone so one bad change
//! fails only its own caller. Rule-made actions are not waited for, and are persisted at most
//! every [`RULE_PERSIST_EVERY`] (or with the next operator change): a flood of rule matches is
//! not a flood of writes. [`reconcile`] brings the kernel's sets in line with the record at
//! start. DUID-keyed actions live in userspace; their learned MACs go to the kernel
//! best-effort ([`Request::Learned`]).

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::action::{ClientKey, Mac};
use crate::actions::{ActionError, ActionRecord, Actions};
use crate::audit::AuditEntry;
use crate::event::rfc3339;
use crate::hook::KernelSet;
use crate::nftnl::{Change, Kernel, NftError};
use crate::reconcile::{desired, listed, plan};
use crate::state::{unix_now, Counters, Shared, ACTIONS_FILE};

/// Rule-made changes alone are written out at most this often.
pub(crate) const RULE_PERSIST_EVERY: Duration = Duration::from_secs(5);
/// Expiry is tried at most this often (a refused expiry is not retried in a loop).
const EXPIRY_EVERY: Duration = Duration::from_secs(1);
/// Requests taken into one commit at most.
const MAX_BATCH: usize = 256;
/// Seconds a kernel element's timer may differ from the record before reconcile replaces it.
const TOLERANCE_SECS: u64 = 2;

/// A change to the action table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    Set(ActionRecord),
    Clear {
        client: ClientKey,
        by: String,
        why: String,
    },
    /// Actions that ended by `now` (unix seconds).
    Expire {
        now: u64,
    },
}

/// What a committed change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Set(ActionRecord),
    Cleared(ActionRecord),
    Expired(Vec<ActionRecord>),
}

/// Why a change was not made (nothing of it is in force, on disk or in memory).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("{0} has no action")]
    NoAction(ClientKey),
    #[error("{0}; nothing was changed")]
    Kernel(String),
    #[error("cannot persist the shield's actions ({0}); nothing was changed")]
    Persist(String),
    #[error("the shield is stopping; nothing was changed")]
    Stopped,
    #[error("the shield is off ({0}); nothing was changed")]
    Off(String),
    #[error("the shield is too busy to take a rule's action")]
    Busy,
}

/// The answer a waiting caller gets.
pub(crate) type Reply = SyncSender<Result<Committed, CommitError>>;

/// A request to the enforcer.
#[derive(Debug)]
pub enum Request {
    Change {
        mutation: Mutation,
        reply: Option<Reply>,
    },
    /// A DUID's dropping action, enforced on the MAC it was seen from (`previous`: the MAC it
    /// was enforced on before).
    Learned {
        record: ActionRecord,
        mac: Mac,
        previous: Option<Mac>,
    },
    /// The shield stops: wakes the enforcer to look at its token.
    Stop,
}

/// Which budget a change touched, for persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Touch {
    Nothing,
    Rule,
    Operator,
}

fn touch_of(record: &ActionRecord) -> Touch {
    if record.by_rule() {
        Touch::Rule
    } else {
        Touch::Operator
    }
}

/// Applies one mutation to `table`.
fn mutate(table: &mut Actions, mutation: &Mutation) -> (Result<Committed, CommitError>, Touch) {
    match mutation {
        Mutation::Set(record) => {
            let current = table.get(&record.client, 0);
            if record.by_rule()
                && current.is_some_and(|c| c.by == record.by && c.action == record.action)
            {
                // The same rule matched again before its first assignment was committed.
                return (Ok(Committed::Set(record.clone())), Touch::Nothing);
            }
            match table.set(record.clone()) {
                Ok(displaced) => {
                    let touch = [displaced.replaced.as_ref(), displaced.evicted.as_ref()]
                        .into_iter()
                        .flatten()
                        .map(touch_of)
                        .chain([touch_of(record)])
                        .max()
                        .unwrap_or(Touch::Nothing);
                    (Ok(Committed::Set(record.clone())), touch)
                }
                Err(e) => (Err(e.into()), Touch::Nothing),
            }
        }
        Mutation::Clear { client, .. } => match table.clear(client) {
            Some(removed) => {
                let touch = touch_of(&removed);
                (Ok(Committed::Cleared(removed)), touch)
            }
            None => (Err(CommitError::NoAction(client.clone())), Touch::Nothing),
        },
        Mutation::Expire { now } => {
            let ended = table.expire(*now);
            let touch = ended.iter().map(touch_of).max().unwrap_or(Touch::Nothing);
            (Ok(Committed::Expired(ended)), touch)
        }
    }
}

/// Brings the kernel's sets in line with `actions` (one transaction); returns the number of
/// element changes. An error (netlink, or a listing that cannot be read) changes nothing.
pub(crate) fn reconcile(
    kernel: &mut dyn Kernel,
    actions: &Actions,
    now: u64,
) -> Result<usize, NftError> {
    let have = listed(&kernel.list()?, now);
    let changes = plan(&desired(actions.iter()), &have, now, TOLERANCE_SECS);
    kernel.apply(&changes)?;
    Ok(changes.len())
}

/// The enforcer's own state.
pub(crate) struct Enforcer {
    kernel: Box<dyn Kernel>,
    rule_dirty: bool,
    last_persist: Instant,
}

impl Enforcer {
    pub(crate) fn new(kernel: Box<dyn Kernel>) -> Enforcer {
        Enforcer {
            kernel,
            rule_dirty: false,
            last_persist: Instant::now(),
        }
    }

    /// Commits `batch` as one transaction; one outcome per mutation, in order.
    pub(crate) fn commit(
        &mut self,
        shared: &Shared,
        batch: &[Mutation],
    ) -> Vec<Result<Committed, CommitError>> {
        let now = unix_now().0;
        let old = shared.actions().clone();
        let mut next = old.clone();
        let (outcomes, touches): (Vec<_>, Vec<_>) =
            batch.iter().map(|m| mutate(&mut next, m)).unzip();
        let touch = touches.into_iter().max().unwrap_or(Touch::Nothing);
        if touch == Touch::Nothing {
            return outcomes;
        }
        let (forget, learned_deletes) = shared.learned_macs_ending(&old, &next);
        let mut changes = plan(&desired(next.iter()), &desired(old.iter()), now, 0);
        changes.extend(learned_deletes);
        if let Err(e) = self.kernel.apply(&changes) {
            if batch.len() > 1 {
                return batch
                    .iter()
                    .flat_map(|m| self.commit(shared, std::slice::from_ref(m)))
                    .collect();
            }
            Counters::add(&shared.counters.kernel_refusals);
            return refuse(shared, batch, outcomes, CommitError::Kernel(e.to_string()));
        }
        let due = self.last_persist.elapsed() >= RULE_PERSIST_EVERY;
        if touch == Touch::Operator || due {
            if let Err(e) = self.persist(shared, &next) {
                let undo = plan(&desired(old.iter()), &desired(next.iter()), now, 0);
                if let Err(undo_error) = self.kernel.apply(&undo) {
                    tracing::error!(error = %undo_error, "cannot undo a kernel change after a failed write; restart the daemon to reconcile");
                }
                return refuse(shared, batch, outcomes, e);
            }
        } else {
            self.rule_dirty = true;
        }
        shared.forget_learned(&forget);
        *shared.actions() = next;
        for (mutation, outcome) in batch.iter().zip(&outcomes) {
            if let Ok(done) = outcome {
                audit_done(shared, mutation, done, now);
            }
        }
        outcomes
    }

    fn persist(&mut self, shared: &Shared, table: &Actions) -> Result<(), CommitError> {
        shared
            .store
            .save(ACTIONS_FILE, &table.list())
            .map_err(|e| CommitError::Persist(e.to_string()))?;
        Counters::add(&shared.counters.actions_writes);
        self.rule_dirty = false;
        self.last_persist = Instant::now();
        Ok(())
    }

    /// Writes out rule-made changes not yet on disk if they are due (`force`: now).
    pub(crate) fn flush_rule_changes(&mut self, shared: &Shared, force: bool) {
        if self.rule_dirty && (force || self.last_persist.elapsed() >= RULE_PERSIST_EVERY) {
            let table = shared.actions().clone();
            if let Err(e) = self.persist(shared, &table) {
                tracing::warn!(error = %e, "cannot persist rule-made shield actions");
            }
        }
    }

    fn learned(&mut self, record: &ActionRecord, mac: Mac, previous: Option<Mac>) {
        let mut changes: Vec<Change> = previous
            .into_iter()
            .map(|old| Change::Delete {
                set: KernelSet::Deny.name().to_string(),
                mac: old,
            })
            .collect();
        changes.push(Change::Add {
            set: KernelSet::Deny.name().to_string(),
            mac,
            timeout_secs: record.until.map(|u| u.saturating_sub(unix_now().0).max(1)),
        });
        match self.kernel.apply(&changes) {
            Ok(()) => {
                tracing::info!(client = %record.client, mac = %mac, action = %record.action, "DUID action enforced on its MAC")
            }
            Err(e) => {
                tracing::warn!(client = %record.client, mac = %mac, error = %e, "cannot enforce a DUID's action on its MAC; it stays enforced in userspace")
            }
        }
    }
}

fn refuse(
    shared: &Shared,
    batch: &[Mutation],
    outcomes: Vec<Result<Committed, CommitError>>,
    error: CommitError,
) -> Vec<Result<Committed, CommitError>> {
    let (now, _) = unix_now();
    batch
        .iter()
        .zip(outcomes)
        .map(|(mutation, outcome)| {
            outcome?;
            let (who, client, action) = match mutation {
                Mutation::Set(r) => (r.by.clone(), r.client.to_string(), Some(r.action)),
                Mutation::Clear { client, by, .. } => (by.clone(), client.to_string(), None),
                Mutation::Expire { .. } => ("expiry".into(), String::new(), None),
            };
            // Nobody waits for a rule's assignment or an expiry (retried every second): their
            // refusals are logged rate-limited, not audited one by one.
            let unattended = match mutation {
                Mutation::Set(r) => r.by_rule(),
                Mutation::Clear { .. } => false,
                Mutation::Expire { .. } => true,
            };
            if unattended {
                shared.rejections.warn(
                    "refused_by_kernel",
                    format_args!("{who}: {error}"),
                );
                return Err(error.clone());
            }
            tracing::error!(who = %who, client = %client, error = %error, "a shield action change was refused");
            shared.audit().record(AuditEntry {
                time: rfc3339(now * 1000),
                who,
                what: "refused".into(),
                client,
                action: action.map(|a| a.name().to_string()),
                until: None,
                why: error.to_string(),
            });
            Err(error.clone())
        })
        .collect()
}

fn audit_done(shared: &Shared, mutation: &Mutation, done: &Committed, now: u64) {
    let time = rfc3339(now * 1000);
    let mut audit = shared.audit();
    match (mutation, done) {
        (Mutation::Set(r), Committed::Set(_)) => audit.record(AuditEntry {
            time,
            who: r.by.clone(),
            what: "set".into(),
            client: r.client.to_string(),
            action: Some(r.action.name().to_string()),
            until: r.until.map(|u| rfc3339(u * 1000)),
            why: r.reason.clone(),
        }),
        (Mutation::Clear { by, why, .. }, Committed::Cleared(removed)) => {
            audit.record(AuditEntry {
                time,
                who: by.clone(),
                what: "clear".into(),
                client: removed.client.to_string(),
                action: Some(removed.action.name().to_string()),
                until: None,
                why: why.clone(),
            })
        }
        (_, Committed::Expired(ended)) => {
            for r in ended {
                audit.record(AuditEntry {
                    time: time.clone(),
                    who: "expiry".into(),
                    what: "expired".into(),
                    client: r.client.to_string(),
                    action: Some(r.action.name().to_string()),
                    until: None,
                    why: "duration ran out".into(),
                });
            }
        }
        _ => {}
    }
}

/// How long the enforcer may sleep without a request: until rule-made changes are due to be
/// written, or until the next action ends (and at least until expiry may be tried again after
/// the last try, `since_expiry` ago); `None`: until a request comes. `now` is unix seconds.
fn idle_timeout(
    enforcer: &Enforcer,
    actions: &Actions,
    now: u64,
    since_expiry: Duration,
) -> Option<Duration> {
    let persist = enforcer
        .rule_dirty
        .then(|| RULE_PERSIST_EVERY.saturating_sub(enforcer.last_persist.elapsed()));
    let expiry = actions.next_end().map(|until| {
        Duration::from_secs(until.saturating_sub(now))
            .max(EXPIRY_EVERY.saturating_sub(since_expiry))
    });
    persist.into_iter().chain(expiry).min()
}

/// Runs until the shield stops (or its shared state is gone). Asleep while idle: it wakes for a
/// request, a stop ([`Request::Stop`]) or a deadline of its own ([`idle_timeout`]).
pub(crate) fn run(shared: Weak<Shared>, rx: Receiver<Request>, mut enforcer: Enforcer) {
    let mut last_expiry = Instant::now();
    loop {
        let timeout = match shared.upgrade() {
            Some(shared) => idle_timeout(
                &enforcer,
                &shared.actions(),
                unix_now().0,
                last_expiry.elapsed(),
            ),
            None => return,
        };
        let first = match timeout {
            Some(timeout) => rx.recv_timeout(timeout),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut batch = Vec::new();
        match first {
            Ok(request) => {
                batch.push(request);
                batch.extend(rx.try_iter().take(MAX_BATCH - 1));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.stopping() {
            for request in batch {
                if let Request::Change {
                    reply: Some(reply), ..
                } = request
                {
                    let _ = reply.send(Err(CommitError::Stopped));
                }
            }
            enforcer.flush_rule_changes(&shared, true);
            return;
        }
        let mut mutations = Vec::new();
        let mut replies = Vec::new();
        for request in batch {
            match request {
                Request::Change { mutation, reply } => {
                    mutations.push(mutation);
                    replies.push(reply);
                }
                Request::Learned {
                    record,
                    mac,
                    previous,
                } => enforcer.learned(&record, mac, previous),
                Request::Stop => {}
            }
        }
        if !mutations.is_empty() {
            let outcomes = enforcer.commit(&shared, &mutations);
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                if let Some(reply) = reply {
                    let _ = reply.send(outcome);
                }
            }
        }
        if last_expiry.elapsed() >= EXPIRY_EVERY {
            let now = unix_now().0;
            let ended = shared
                .actions()
                .next_end()
                .is_some_and(|until| until <= now);
            if ended {
                last_expiry = Instant::now();
                enforcer.commit(&shared, &[Mutation::Expire { now }]);
            }
        }
        enforcer.flush_rule_changes(&shared, false);
    }
}

/// Starts the enforcer thread for `shared`.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    rx: Receiver<Request>,
    kernel: Box<dyn Kernel>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let weak = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name("shield-enforce".into())
        .spawn(move || run(weak, rx, Enforcer::new(kernel)))
}

#[cfg(test)]
mod tests;
