//! The LAN-side DHCP shield (docs/architecture.md, docs/shield.md; modelled on `shield-architecture.txt`): inspect in
//! userspace, enforce in the kernel, keep the record on the box, fail open.
//!
//! Pure parts, tested apart from I/O:
//! - [`packet`] and [`inspect`]: IP/UDP/DHCPv4/DHCPv6 parsing into one [`event::Event`];
//! - [`filter`]: the stream's filter language; [`decide`]: rules, actions, detections, marks;
//! - [`action`], [`actions`]: the per-client actions and the table of those in force;
//! - [`clients`]: bounded per-MAC tracking; [`ring`]: recent events; [`hub`]: the live stream;
//! - [`pcap`]: a small pcap/pcapng reader for tests, fuzzing and benchmarks;
//! - [`reconcile`]: the kernel set elements a record needs, and the changes to get there;
//! - [`own`]: the gateway's own and the configured DHCP servers (never a rogue);
//! - [`lograte`]: rate-limited warnings for input from outside;
//! - [`hook`] (iptables commands), [`nftobj`] (our nftables table as netlink objects),
//!   [`nftnl`] and [`nfqueue::wire`] (netlink messages).
//!
//! Modes: `observe` (the default) has the kernel accept DHCP and copy it to userspace over
//! NFLOG; `inline` holds each packet in an NFQUEUE for a verdict. Either way Block, Deny and
//! Throttle of MACs and the per-MAC and global meters are enforced in the kernel.
//!
//! Threads ([`start`]): `shield-packets` ([`engine`]: queue → inspect → decide → verdict →
//! record), `shield-control` ([`server`]: the control socket), `shield-enforce` ([`enforce`]:
//! the only writer of the action table, kernel first, disk second, answer last; expiry).
//! [`Shield`] stops them and removes the rules when dropped.
//!
//! Start: load the persisted actions, put the rules in place, [`enforce::reconcile`] the
//! kernel's sets with the record, commit the config's actions, and only then bind the queue.
//! If the rules cannot be put in place or the kernel cannot be brought in line (a netlink
//! error, a listing that cannot be read), the rules are removed and the shield stays off
//! (fail-open), with the control socket up to say why in `status`.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod access_token;
pub mod action;
pub(crate) mod actions;
pub(crate) mod audit;
pub(crate) mod clients;
pub mod config;
pub(crate) mod decide;
pub(crate) mod enforce;
pub mod engine;
pub mod event;
pub mod filter;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub(crate) mod hex;
pub(crate) mod hook;
pub mod hub;
pub mod inspect;
pub(crate) mod journal;
pub(crate) mod lograte;
pub mod nfqueue;
pub(crate) mod nftnl;
pub(crate) mod nftobj;
pub(crate) mod own;
pub(crate) mod packet;
#[cfg(any(test, feature = "fuzzing"))]
pub mod pcap;
pub mod proto;
pub(crate) mod reconcile;
pub(crate) mod ring;
pub mod server;
pub mod state;
pub(crate) mod wake;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

pub use config::{
    ClientActionConfig, Mode, RawShield, RuleConfig, ShieldConfig, ShieldConfigError, Verdict,
};
use dhcpmgr_base::{StateStore, StopToken};

use actions::{ActionRecord, Actions};
use audit::Audit;
use hook::{Hook, HookConfig};
use nftnl::Netlink;
use state::{unix_now, Shared, ACTIONS_FILE, FILTERS_FILE};

/// Why the shield could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShieldError {
    /// The NFQUEUE or NFLOG socket could not be set up.
    #[error(transparent)]
    Queue(#[from] nfqueue::QueueError),
    /// The control socket could not be bound.
    #[error("control socket {path}: {source}")]
    Socket {
        /// Its path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A shield thread, or the socket pair that wakes them at a stop, could not be made.
    #[error("cannot start the shield's threads: {0}")]
    Thread(std::io::Error),
}

/// The running shield; dropping it stops the threads and removes the kernel rules.
pub struct Shield {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    hook: Option<Hook>,
}

/// Starts the shield if `[shield] enable` is set, its control socket in `run_dir` and its
/// record in `state_dir`; it stops when `stop` (a child of the daemon's token) is cancelled or
/// the [`Shield`] dropped. A shield that cannot start is logged and left out: the LAN's DHCP
/// keeps working without inspection (fail open), the WAN side is unaffected.
pub fn start(
    config: &ShieldConfig,
    run_dir: &Path,
    state_dir: &Path,
    stop: StopToken,
) -> Option<Shield> {
    if !config.enable {
        return None;
    }
    match Shield::start(config, run_dir, state_dir, stop) {
        Ok(shield) => Some(shield),
        Err(e) => {
            tracing::error!(error = %e, "the DHCP shield could not start; LAN DHCP passes uninspected");
            None
        }
    }
}

impl Shield {
    /// Starts the shield with `cfg` (see [`start`]); the threads stop on `stop`.
    pub fn start(
        cfg: &ShieldConfig,
        run_dir: &Path,
        state_dir: &Path,
        stop: StopToken,
    ) -> Result<Shield, ShieldError> {
        let store = StateStore::new(state_dir);
        let _ = std::fs::create_dir_all(state_dir);
        let _ = std::fs::create_dir_all(run_dir);
        let mut actions = Actions::new(cfg.max_clients);
        let (now, _) = unix_now();
        for record in store
            .load::<Vec<ActionRecord>>(ACTIONS_FILE)
            .ok()
            .flatten()
            .unwrap_or_default()
        {
            if record.until.is_none_or(|u| u > now) {
                if let Err(e) = actions.set(record) {
                    tracing::warn!(error = %e, "a persisted shield action is left out");
                }
            }
        }
        let filters = store
            .load::<BTreeMap<String, BTreeMap<String, Value>>>(FILTERS_FILE)
            .ok()
            .flatten()
            .unwrap_or_default();
        let audit = Audit::new(Some(state_dir.join("shield-audit.jsonl")));
        let (shared, requests) =
            Shared::new(cfg, store, audit, actions, filters, stop).map_err(ShieldError::Thread)?;
        let socket_path = run_dir.join(proto::SOCKET);
        let listener = server::bind(&socket_path, &cfg.control_uids).map_err(|source| {
            ShieldError::Socket {
                path: socket_path.display().to_string(),
                source,
            }
        })?;
        let mut shield = Shield {
            shared: shared.clone(),
            threads: vec![shared.wake_on_stop().map_err(ShieldError::Thread)?],
            hook: None,
        };
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(ShieldError::Thread)
        };
        let s = shared.clone();
        shield.threads.push(spawn(
            "shield-control",
            Box::new(move || server::run(s, listener, socket_path)),
        )?);

        let observe = cfg.mode == Mode::Observe;
        let installed = Hook::install(&HookConfig {
            observe,
            interfaces: cfg.interfaces.iter().map(|i| i.to_string()).collect(),
            ipv6: cfg.ipv6,
            queue_num: cfg.queue_num,
            queue_rate: cfg.queue_rate,
            queue_burst: cfg.queue_burst,
            mac_rate: cfg.mac_rate,
            mac_burst: cfg.mac_burst,
            throttle_per_minute: cfg.throttle_per_minute,
        });
        let mut hook = match installed {
            Ok(hook) => hook,
            Err(e) => {
                hook::remove_all(true);
                shield.off(format!("cannot put the kernel rules in place: {e}"));
                return Ok(shield);
            }
        };
        shared
            .queue_in_nft
            .store(hook.queue_in_nft, Ordering::Relaxed);
        let mut kernel = Netlink {
            table: hook::TABLE.to_string(),
        };
        let reconciled = enforce::reconcile(&mut kernel, &shared.actions(), now);
        match reconciled {
            Ok(changes) => {
                tracing::info!(
                    changes,
                    actions = shared.actions().len(),
                    "shield kernel sets reconciled with the record"
                )
            }
            Err(e) => {
                hook.remove();
                shield.off(format!(
                    "cannot reconcile the kernel's sets with the record: {e}"
                ));
                return Ok(shield);
            }
        }
        shield.threads.push(
            enforce::spawn(&shared, requests, Box::new(kernel)).map_err(ShieldError::Thread)?,
        );
        shield.hook = Some(hook);
        shared.enforcing.store(true, Ordering::Release);
        for c in &cfg.clients {
            let reason = if c.reason.is_empty() {
                "configured"
            } else {
                &c.reason
            };
            if let Err(e) =
                shared.set_action(c.client.clone(), c.action, c.duration, "config", reason)
            {
                tracing::warn!(client = %c.client, error = %e, "cannot set a configured shield action");
            }
        }

        let ack_timeout = Duration::from_secs(1);
        let queue = if observe {
            nfqueue::Queue::open_log(cfg.queue_num, ack_timeout)?
        } else {
            nfqueue::Queue::open(cfg.queue_num, cfg.queue_maxlen, ack_timeout)?
        };
        let interfaces: HashMap<u32, String> = cfg
            .interfaces
            .iter()
            .filter_map(|i| {
                Some((
                    nix::net::if_::if_nametoindex(i.as_str()).ok()?,
                    i.to_string(),
                ))
            })
            .collect();
        let mut engine = engine::Engine::new(shared.clone(), interfaces);
        if cfg.journal {
            let retention = journal::Retention {
                max_bytes: cfg.journal_max_bytes,
                max_age: Duration::from_secs(cfg.journal_max_age_secs),
            };
            match journal::Journal::open(&state_dir.join(journal::JOURNAL_DIR), retention) {
                Ok(j) => engine = engine.with_journal(j),
                Err(e) => {
                    tracing::warn!(error = %e, "the shield journal cannot be opened; events stay in memory only")
                }
            }
        }
        shield.threads.push(spawn(
            "shield-packets",
            Box::new(move || engine::run(engine, queue)),
        )?);
        tracing::info!(
            interfaces = ?cfg.interfaces.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
            queue = cfg.queue_num,
            mode = cfg.mode.name(),
            hook = shared.queue_hook(),
            "DHCP shield started"
        );
        Ok(shield)
    }

    /// Leaves the shield off (no rules: fail-open) with the control socket up to say `why`.
    fn off(&self, why: String) {
        tracing::error!(reason = %why, "the DHCP shield is off; LAN DHCP passes uninspected");
        *self.shared.off.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// Counters as `dhcpmgrctl shield status` reports them.
    pub fn counters(&self) -> state::CounterSnapshot {
        self.shared.counters.snapshot()
    }

    fn shutdown(&mut self) {
        self.shared.stop.cancel();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(mut hook) = self.hook.take() {
            hook.remove();
            tracing::info!("DHCP shield stopped; its kernel rules are removed");
        }
    }
}

impl Drop for Shield {
    fn drop(&mut self) {
        self.shutdown();
    }
}
