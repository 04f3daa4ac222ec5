//! The enforcer's commit order, refusals, rule budget, idle deadlines and stop.

use super::*;
use crate::action::{Action, Lifetime};
use crate::audit::Audit;
use crate::config::ShieldConfig;
use crate::nftnl::Element;
use dhcpmgr_base::{StateStore, StopToken};
use nix::errno::Errno;
use std::sync::Mutex;

/// A kernel that records every transaction and refuses those touching `refuse`.
#[derive(Clone, Default)]
struct Fake {
    log: Arc<Mutex<Vec<Vec<Change>>>>,
    refuse: Arc<Mutex<Option<Mac>>>,
}

impl Kernel for Fake {
    fn apply(&mut self, changes: &[Change]) -> Result<(), NftError> {
        let refused = *self.refuse.lock().unwrap();
        let touches = |c: &Change| match c {
            Change::Add { mac, .. } | Change::Delete { mac, .. } => Some(*mac) == refused,
        };
        if changes.iter().any(touches) {
            return Err(NftError::Refused(Errno::ENOENT));
        }
        self.log.lock().unwrap().push(changes.to_vec());
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Element>, NftError> {
        Ok(Vec::new())
    }
}

fn mac(n: u8) -> Mac {
    Mac([2, 0, 0, 0, 0, n])
}

fn setup(dir: &std::path::Path, cap: usize) -> (Arc<Shared>, Enforcer, Fake) {
    let cfg = ShieldConfig {
        max_clients: cap,
        ..ShieldConfig::default()
    };
    let (shared, _rx) = Shared::new(
        &cfg,
        StateStore::new(dir),
        Audit::new(None),
        Actions::new(cap),
        Default::default(),
        StopToken::new(),
    )
    .expect("shared state");
    let fake = Fake::default();
    (shared, Enforcer::new(Box::new(fake.clone())), fake)
}

/// Shared state in `dir` with its `shield-stop` and enforcer threads running, as a shield has
/// them: (state, shield-stop thread, enforcer thread).
fn running(
    dir: &std::path::Path,
) -> (
    Arc<Shared>,
    std::thread::JoinHandle<()>,
    std::thread::JoinHandle<()>,
) {
    let (shared, rx) = Shared::new(
        &ShieldConfig::default(),
        StateStore::new(dir),
        Audit::new(None),
        Actions::new(8),
        Default::default(),
        StopToken::new(),
    )
    .expect("shared state");
    let watcher = shared.wake_on_stop().expect("shield-stop thread");
    let enforcer = spawn(&shared, rx, Box::new(Fake::default())).expect("enforcer thread");
    (shared, watcher, enforcer)
}

fn set(n: u8, action: Action, by: &str) -> Mutation {
    let (now, _) = unix_now();
    Mutation::Set(ActionRecord {
        client: ClientKey::Mac(mac(n)),
        action,
        since: now,
        until: Lifetime::Default.secs(action).map(|s| now + s),
        by: by.into(),
        reason: "test".into(),
    })
}

fn persisted(dir: &std::path::Path) -> Vec<ActionRecord> {
    StateStore::new(dir)
        .load(ACTIONS_FILE)
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn answered_after_the_kernel_and_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, mut e, fake) = setup(dir.path(), 16);
    let out = e.commit(
        &shared,
        &[
            set(1, Action::Deny, "uid:0"),
            set(2, Action::Monitor, "uid:0"),
        ],
    );
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    // One transaction for both; Monitor has no kernel element.
    let log = fake.log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![vec![Change::Add {
            set: "deny".into(),
            mac: mac(1),
            timeout_secs: None
        }]]
    );
    assert_eq!(persisted(dir.path()).len(), 2);
    assert_eq!(shared.actions().len(), 2);
    let clear = Mutation::Clear {
        client: ClientKey::Mac(mac(1)),
        by: "uid:0".into(),
        why: "test".into(),
    };
    assert!(matches!(
        e.commit(&shared, std::slice::from_ref(&clear))[0],
        Ok(Committed::Cleared(_))
    ));
    assert_eq!(
        fake.log.lock().unwrap().last().unwrap(),
        &vec![Change::Delete {
            set: "deny".into(),
            mac: mac(1)
        }]
    );
    assert_eq!(persisted(dir.path()).len(), 1);
    assert_eq!(
        e.commit(&shared, &[clear])[0],
        Err(CommitError::NoAction(ClientKey::Mac(mac(1))))
    );
    let audit = shared.audit().recent(10);
    assert_eq!(
        audit.iter().map(|a| a.what.as_str()).collect::<Vec<_>>(),
        vec!["set", "set", "clear"]
    );
}

#[test]
fn a_kernel_refusal_changes_nothing_and_fails_only_its_own_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, mut e, fake) = setup(dir.path(), 16);
    e.commit(&shared, &[set(1, Action::Deny, "uid:0")]);
    let before = (shared.actions().list(), persisted(dir.path()));
    *fake.refuse.lock().unwrap() = Some(mac(2));
    let out = e.commit(
        &shared,
        &[
            set(3, Action::Block, "uid:0"),
            set(2, Action::Deny, "uid:0"),
        ],
    );
    assert!(out[0].is_ok(), "{out:?}");
    let refused = out[1].clone().unwrap_err();
    assert!(
        matches!(&refused, CommitError::Kernel(why) if why.contains("No such file or directory")),
        "{refused}"
    );
    assert!(shared.actions().get(&ClientKey::Mac(mac(2)), 0).is_none());
    assert!(persisted(dir.path())
        .iter()
        .all(|r| r.client != ClientKey::Mac(mac(2))));
    // The clear of a refused MAC fails too, and leaves it in force.
    *fake.refuse.lock().unwrap() = Some(mac(1));
    let clear = Mutation::Clear {
        client: ClientKey::Mac(mac(1)),
        by: "uid:0".into(),
        why: "test".into(),
    };
    assert!(matches!(
        e.commit(&shared, &[clear])[0],
        Err(CommitError::Kernel(_))
    ));
    assert!(shared.actions().get(&ClientKey::Mac(mac(1)), 0).is_some());
    assert_eq!(persisted(dir.path()).len(), before.1.len() + 1);
    let audit = shared.audit().recent(10);
    assert_eq!(audit.iter().filter(|a| a.what == "refused").count(), 2);
    assert_eq!(shared.counters.snapshot().kernel_refusals, 2);
    // A rule's assignment refused by the kernel: counted, not audited (nobody waits).
    *fake.refuse.lock().unwrap() = Some(mac(4));
    let out = e.commit(&shared, &[set(4, Action::Block, "rule:r")]);
    assert!(matches!(out[0], Err(CommitError::Kernel(_))));
    assert_eq!(shared.audit().recent(10).len(), audit.len());
    assert_eq!(shared.counters.snapshot().kernel_refusals, 3);
}

#[test]
fn a_failed_write_undoes_the_kernel_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let (shared, mut e, fake) = setup(&file, 16);
    let out = e.commit(&shared, &[set(1, Action::Deny, "uid:0")]);
    assert!(matches!(out[0], Err(CommitError::Persist(_))), "{out:?}");
    assert!(shared.actions().is_empty());
    let log = fake.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "applied, then undone: {log:?}");
    assert_eq!(
        log[1],
        vec![Change::Delete {
            set: "deny".into(),
            mac: mac(1)
        }]
    );
}

#[test]
fn a_rule_flood_is_not_a_flood_of_writes_and_leaves_the_operator_room() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, mut e, _) = setup(dir.path(), 64);
    for n in 0..4000u32 {
        let b = n.to_be_bytes();
        let record = ActionRecord {
            client: ClientKey::Mac(Mac([2, 0, b[0], b[1], b[2], b[3]])),
            action: Action::Monitor,
            since: u64::from(n),
            until: None,
            by: "rule:printers".into(),
            reason: "matched a config rule".into(),
        };
        assert!(e.commit(&shared, &[Mutation::Set(record)])[0].is_ok());
    }
    assert_eq!(
        shared.actions().len(),
        64,
        "the rule budget holds the newest 64"
    );
    assert_eq!(shared.counters.snapshot().actions_writes, 0);
    // The operator's set still has room, and takes the rule-made ones to disk with it.
    assert!(e.commit(&shared, &[set(1, Action::Deny, "uid:0")])[0].is_ok());
    assert_eq!(shared.counters.snapshot().actions_writes, 1);
    assert_eq!(persisted(dir.path()).len(), 65);
    e.flush_rule_changes(&shared, true);
    assert_eq!(
        shared.counters.snapshot().actions_writes,
        1,
        "nothing left to write"
    );
}

fn record_until(n: u8, until: Option<u64>, by: &str) -> ActionRecord {
    ActionRecord {
        client: ClientKey::Mac(mac(n)),
        action: Action::Deny,
        since: 0,
        until,
        by: by.into(),
        reason: "test".into(),
    }
}

#[test]
fn an_idle_enforcer_sleeps_until_its_next_deadline_and_never_spins() {
    let now = 1_000_000;
    let long_ago = Duration::from_secs(60);
    let e = Enforcer::new(Box::new(Fake::default()));
    let mut actions = Actions::new(8);
    assert_eq!(
        idle_timeout(&e, &actions, now, long_ago),
        None,
        "nothing to wait for"
    );
    actions.set(record_until(1, None, "uid:0")).unwrap();
    assert_eq!(
        idle_timeout(&e, &actions, now, long_ago),
        None,
        "a permanent action"
    );
    actions
        .set(record_until(2, Some(now + 90), "uid:0"))
        .unwrap();
    actions
        .set(record_until(3, Some(now + 30), "uid:0"))
        .unwrap();
    assert_eq!(
        idle_timeout(&e, &actions, now, long_ago),
        Some(Duration::from_secs(30)),
        "the first action to end"
    );
    // Due already, but expiry was just tried (and refused): not before a second.
    actions
        .set(record_until(4, Some(now - 5), "uid:0"))
        .unwrap();
    assert_eq!(
        idle_timeout(&e, &actions, now, long_ago),
        Some(Duration::ZERO)
    );
    assert_eq!(
        idle_timeout(&e, &actions, now, Duration::ZERO),
        Some(EXPIRY_EVERY)
    );
}

#[test]
fn rule_made_changes_wake_the_enforcer_to_write_them() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, mut e, _) = setup(dir.path(), 8);
    let long_ago = Duration::from_secs(60);
    let mut rule_made = record_until(1, None, "rule:printers");
    rule_made.action = Action::Monitor;
    assert!(e.commit(&shared, &[Mutation::Set(rule_made)])[0].is_ok());
    let timeout =
        idle_timeout(&e, &shared.actions(), unix_now().0, long_ago).expect("a write is due");
    assert!(timeout <= RULE_PERSIST_EVERY, "{timeout:?}");
    e.flush_rule_changes(&shared, true);
    assert_eq!(
        idle_timeout(&e, &shared.actions(), unix_now().0, long_ago),
        None,
        "written: nothing left to wake for"
    );
}

#[test]
fn the_running_enforcer_expires_an_action_with_no_request_and_stops_on_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, watcher, enforcer) = running(dir.path());
    let now = unix_now().0;
    shared
        .set_action(
            ClientKey::Mac(mac(1)),
            Action::Deny,
            Lifetime::Secs(1),
            "uid:0",
            "test",
        )
        .unwrap();
    assert!(shared.actions().get(&ClientKey::Mac(mac(1)), now).is_some());
    let held = || {
        shared
            .actions()
            .iter()
            .any(|r| r.client == ClientKey::Mac(mac(1)))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while held() {
        assert!(Instant::now() < deadline, "the action did not expire");
        std::thread::sleep(Duration::from_millis(50));
    }
    shared.stop.cancel();
    watcher.join().unwrap();
    enforcer.join().unwrap();
    assert!(matches!(
        shared.set_action(
            ClientKey::Mac(mac(2)),
            Action::Deny,
            Lifetime::Default,
            "uid:0",
            "test"
        ),
        Err(CommitError::Stopped)
    ));
}

#[test]
fn dropping_the_state_without_a_stop_ends_its_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, watcher, enforcer) = running(dir.path());
    drop(shared);
    let (done, joined) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        watcher.join().unwrap();
        enforcer.join().unwrap();
        let _ = done.send(());
    });
    assert!(
        joined.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the shield-stop or the enforcer thread outlived its state"
    );
}
