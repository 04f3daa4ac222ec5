//! The controller thread: supervises the DHCP clients, receives lease events from the plugins,
//! applies them (netlink, persistence, system events), keeps lease expiry timers, carries out
//! TR-181 commands and configuration reloads, and tells the TR-181 thread what changed.
//!
//! Everything runs on one current-thread runtime and events are applied one at a time, so a
//! client's events are applied in the order they arrive.

mod addr_mgr;
mod bindings_watch;
mod client;
mod client_set;
mod dibbler;
mod errors;
mod ipc_server;
mod leftovers;
mod services;
mod spool_replay;
pub(crate) mod supervisor;
#[cfg(test)]
mod tests;
pub(crate) mod udhcpc;
mod v4_client;
mod v6_client;

use std::path::PathBuf;
use std::thread::JoinHandle;

use dhcpmgr_ipc::{ClientEvent, Envelope, Reply};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::boottime::BootSeconds;
use crate::channels::{
    ClientAction, CommandError, CommandReceiver, CommandReply, ControllerCommand, UpdateSender,
};
use crate::config::{Config, V4ClientConfig, V6ClientConfig};
use crate::instance_numbers::InstanceNumbers;
use crate::link::Links;
use crate::model::{ClientKey, Family};
use crate::netlink::{LinkNotifications, Net, NetError, Notification};
use crate::overrides::Overrides;
use crate::persist::StateStore;
use crate::sysevent::SysEventSender;
use client::EventOrigin;
use client_set::ClientSet;
use errors::EventError;
use ipc_server::IpcRequest;
use services::{Programs, Services, Supervised};
use udhcpc::UdhcpcProgram;
use v4_client::V4;
use v6_client::V6;

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("cannot build the controller's runtime: {0}")]
    Runtime(std::io::Error),
}

/// The controller's inputs besides its configuration.
pub(crate) struct ControllerChannels {
    pub updates: UpdateSender,
    pub commands: CommandReceiver,
    pub reloads: mpsc::UnboundedReceiver<Config>,
    /// Told once the IPC socket listens and the clients are started.
    pub ready: std::sync::mpsc::Sender<()>,
    /// Beaten at every loop turn; the loop turns at least once a period (systemd watchdog).
    pub heartbeat: crate::systemd::Heartbeat,
}

/// How often what could not be stored is stored again and spooled events are applied.
const REPAIR_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);
/// Refused lease events logged: at most 5 lines per 10 s, then a count of those left out.
static REFUSED: crate::log_limit::LogLimiter =
    crate::log_limit::LogLimiter::new(std::time::Duration::from_secs(10), 5);

/// Starts the controller thread.
pub(crate) fn spawn(
    config: Config,
    channels: ControllerChannels,
    shutdown: CancellationToken,
) -> std::io::Result<JoinHandle<Result<(), ControllerError>>> {
    std::thread::Builder::new()
        .name("controller".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ControllerError::Runtime)?;
            runtime.block_on(run(config, channels, shutdown))
        })
}

/// Messages the controller sends itself from tasks it spawned.
enum Internal {
    StopFinished {
        client: ClientKey,
        reply: Option<CommandReply>,
    },
    /// A client's process stopped so that it can take new settings.
    ConfigureStopped { client: ClientKey },
    /// A deleted client's process stopped.
    DeleteStopped {
        client: ClientKey,
        reply: CommandReply,
    },
    /// A client's process stopped because its interface went away.
    LinkStopped { client: ClientKey },
}

struct Controller {
    v4: ClientSet<V4>,
    v6: ClientSet<V6>,
    svc: Services,
    /// The connection's own handle, for dumps after an overrun.
    net: Net,
    internal: mpsc::UnboundedSender<Internal>,
    /// The configuration file's clients: the defaults TR-181 writes are kept against.
    v4_defaults: Vec<V4ClientConfig>,
    v6_defaults: Vec<V6ClientConfig>,
    /// TR-181 writes, as stored in `state_dir`.
    overrides: Overrides,
    /// The clients' instance numbers as last stored in `state_dir`.
    stored_numbers: InstanceNumbers,
}

async fn run(
    config: Config,
    channels: ControllerChannels,
    shutdown: CancellationToken,
) -> Result<(), ControllerError> {
    let ControllerChannels {
        updates,
        mut commands,
        mut reloads,
        ready,
        heartbeat,
    } = channels;
    for dir in [&config.run_dir, &config.state_dir] {
        std::fs::create_dir_all(dir).map_err(|source| ControllerError::Dir {
            path: dir.clone(),
            source,
        })?;
    }
    let socket = config.run_dir.join("ipc.sock");
    let listener = ipc_server::bind(&socket).map_err(|source| ControllerError::Socket {
        path: socket.clone(),
        source,
    })?;
    let (ipc_tx, mut ipc_rx) = mpsc::channel::<IpcRequest>(64);
    tokio::spawn(ipc_server::serve(listener, ipc_tx, shutdown.clone()));

    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let (internal_tx, mut internal) = mpsc::unbounded_channel();
    let (net, mut notifications) = Net::open()?;
    let mut links = Links::default();
    links.reset(net.dump_links().await?);
    let svc = Services {
        net: Box::new(net.clone()),
        store: StateStore::new(&config.state_dir),
        sysevents: Box::new(SysEventSender::start(
            config.sysevent_command.clone(),
            config.sysevent_profile,
            StateStore::new(&config.state_dir),
            updates.clone(),
        )),
        updates,
        processes: Box::new(Supervised {
            reports: reports_tx,
        }),
        programs: Programs {
            udhcpc: UdhcpcProgram::resolve(config.udhcpc_command.as_deref()),
            plugin: plugin_path(&config, "dhcpmgr-udhcpc-plugin"),
            dibbler: config.dibbler_command.clone(),
            dibbler_plugin: plugin_path(&config, "dhcpmgr-dibbler-plugin"),
        },
        spool_dir: config.run_dir.join("spool"),
        run_dir: config.run_dir.clone(),
        socket,
        links,
        bindings: match bindings_watch::BindingsWatch::new() {
            Ok(watch) => Some(std::rc::Rc::new(watch)),
            Err(e) => {
                tracing::error!(error = %e, "no inotify: rapid-commit DHCPv6 leases wait for T1");
                None
            }
        },
    };
    let bindings = svc.bindings.clone();
    let overrides = Overrides::load(&svc.store);
    let stored_numbers = InstanceNumbers::load(&svc.store);
    let mut ctl = Controller {
        v4: ClientSet::new(stored_numbers.dhcpv4.clone()),
        v6: ClientSet::new(stored_numbers.dhcpv6.clone()),
        svc,
        net,
        internal: internal_tx,
        v4_defaults: config.dhcpv4_clients,
        v6_defaults: config.dhcpv6_clients,
        overrides,
        stored_numbers,
    };
    if !ctl.overrides.is_empty() {
        tracing::info!("applying settings written over TR-181 on top of the configuration file");
    }
    for client in ctl.overrides.apply_v4(&ctl.v4_defaults) {
        ctl.v4.add(client, &ctl.svc).await;
    }
    for client in ctl.overrides.apply_v6(&ctl.v6_defaults) {
        ctl.v6.add(client, &ctl.svc).await;
    }
    ctl.v4.forget_absent_numbers();
    ctl.v6.forget_absent_numbers();
    ctl.save_numbers();
    ctl.sweep_leftovers().await;
    ctl.replay_spool().await;
    ctl.v4.start_all(&ctl.svc);
    ctl.v6.start_all(&ctl.svc);
    let _ = ready.send(());
    let mut repair = tokio::time::interval(REPAIR_PERIOD);
    repair.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        v4_clients = ctl.v4.len(),
        v6_clients = ctl.v6.len(),
        "controller ready"
    );

    loop {
        heartbeat.beat();
        let expiry = ctl
            .v4
            .next_expiry()
            .into_iter()
            .chain(ctl.v6.next_expiry())
            .min();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = heartbeat.due() => {}
            Some(req) = ipc_rx.recv() => {
                let reply = ctl.on_envelope(req.envelope, false).await;
                let _ = req.reply.send(reply);
            }
            Some((key, report)) = reports.recv() => match key {
                ClientKey::V4(i) => ctl.v4.on_report(i, report, &ctl.svc),
                ClientKey::V6(i) => ctl.v6.on_report(i, report, &ctl.svc),
            },
            Some(command) = commands.recv() => ctl.on_command(command).await,
            Some(message) = internal.recv() => ctl.on_internal(message).await,
            notification = notifications.next() => ctl.on_link(notification, &mut notifications).await,
            keys = bindings_changed(bindings.as_deref()) => {
                for key in keys {
                    if let ClientKey::V6(i) = key {
                        ctl.v6.on_bindings_file(i, &ctl.svc).await;
                    }
                }
            }
            Some(new_config) = reloads.recv() => {
                ctl.v4_defaults = new_config.dhcpv4_clients;
                ctl.v6_defaults = new_config.dhcpv6_clients;
                ctl.overrides.retain_clients(&ctl.v4_defaults, &ctl.v6_defaults);
                ctl.apply_settings().await;
                ctl.save_numbers();
            }
            _ = repair.tick() => ctl.repair().await,
            _ = sleep_until_boot(expiry) => {
                ctl.v4.expire_due(&ctl.svc).await;
                ctl.v6.expire_due(&ctl.svc).await;
            }
        }
    }
    tracing::info!("controller stopping: DHCP clients stop without releasing; leases stay");
    let mut supervisors = ctl.v4.take_supervisors();
    supervisors.extend(ctl.v6.take_supervisors());
    stop_together(supervisors).await;
    Ok(())
}

/// Stops every supervised client at once, keeping their leases: each may take its grace
/// period, and one after another they would outlast the unit's stop timeout.
async fn stop_together(supervisors: Vec<supervisor::Supervisor>) {
    futures_util::future::join_all(supervisors.iter().map(|sup| sup.stop(false))).await;
}

async fn bindings_changed(watch: Option<&bindings_watch::BindingsWatch>) -> Vec<ClientKey> {
    match watch {
        Some(watch) => watch.changed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_boot(when: Option<BootSeconds>) {
    match when {
        Some(when) => tokio::time::sleep(when.duration_from(BootSeconds::now())).await,
        None => std::future::pending().await,
    }
}

fn plugin_path(config: &Config, name: &str) -> PathBuf {
    let dir = config.plugin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/usr/bin"))
    });
    dir.join(name)
}

impl Controller {
    /// What a previous daemon left that the configuration does not want (see [`leftovers`]).
    async fn sweep_leftovers(&self) {
        let v4: Vec<&V4ClientConfig> = self.v4.settings().collect();
        let v6: Vec<&V6ClientConfig> = self.v6.settings().collect();
        leftovers::sweep(
            &self.svc,
            |family, alias| match family {
                Family::V4 => v4
                    .iter()
                    .any(|c| c.alias.as_str() == alias && c.enable && c.interface.is_some()),
                Family::V6 => v6
                    .iter()
                    .any(|c| c.alias.as_str() == alias && c.enable && c.interface.is_some()),
            },
            |family, alias| match family {
                Family::V4 => v4.iter().any(|c| c.alias.as_str() == alias),
                Family::V6 => v6.iter().any(|c| c.alias.as_str() == alias),
            },
        )
        .await;
    }

    /// After a failed write: stores again what could not be stored, and applies what the
    /// plugins spooled meanwhile (they spool when the daemon cannot answer or asks them to).
    async fn repair(&mut self) {
        self.v4.store_again(&self.svc);
        self.v6.store_again(&self.svc);
        self.replay_spool().await;
    }

    async fn replay_spool(&mut self) {
        for envelope in spool_replay::drain(&self.svc.spool_dir) {
            tracing::info!(
                created_unix_ms = envelope.created_unix_ms,
                "replaying spooled lease event"
            );
            let reply = self.on_envelope(envelope, true).await;
            if !reply.accepted {
                tracing::warn!(reason = %reply.reason, "spooled lease event refused");
            }
        }
    }

    async fn on_envelope(&mut self, envelope: Envelope, replayed: bool) -> Reply {
        let origin = EventOrigin {
            created_unix_ms: envelope.created_unix_ms,
            client_pid: envelope.client_pid,
            replayed,
        };
        let alias = envelope.client.as_deref();
        let result = match &envelope.event {
            ClientEvent::V4(event) => match self.v4.route(alias, &event.interface) {
                Ok(client) => client.on_event(event, origin, &self.svc).await,
                Err(e) => Err(EventError::from(e)),
            },
            ClientEvent::V6(event) => match self.v6.route(alias, &event.interface) {
                Ok(client) => client.on_event(event, origin, &self.svc).await,
                Err(e) => Err(EventError::from(e)),
            },
        };
        match result {
            Ok(()) => Reply::accepted(),
            Err(e) if e.is_passing() => {
                tracing::warn!(reason = %e, "lease event not acknowledged; the plugin sends it again");
                Reply::retry_later(e.to_string())
            }
            Err(e) => {
                if let Some(suppressed) = REFUSED.check() {
                    tracing::warn!(reason = %e, suppressed, "lease event refused");
                }
                Reply::rejected(e.to_string())
            }
        }
    }

    async fn on_command(&mut self, command: ControllerCommand) {
        let (client, action, reply) = match command {
            ControllerCommand::Client {
                client,
                action,
                reply,
            } => (client, action, reply),
            ControllerCommand::FactoryReset { reply } => {
                tracing::info!("factory reset: back to the configuration file's settings");
                // Stored ahead, like a write: if the writes cannot be forgotten on disk,
                // nothing changes.
                if let Err(e) = Overrides::default().save(&self.svc.store) {
                    let e = crate::overrides::NotStored::from(e);
                    let _ = reply.send(Err(e.into()));
                    return;
                }
                self.overrides = Overrides::default();
                self.apply_settings().await;
                self.save_numbers();
                let _ = reply.send(Ok(()));
                return;
            }
            ControllerCommand::AddClient { family, reply } => {
                // Stored before it exists: a row that cannot be stored is never added.
                let (v4, v6) = (&self.v4_defaults[..], &self.v6_defaults[..]);
                let store = &self.svc.store;
                let update = match family {
                    Family::V4 => {
                        let new = self.v4.next_added();
                        match self.overrides.store_ahead(
                            store,
                            (v4, self.v4.settings().chain([&new])),
                            (v6, self.v6.settings()),
                        ) {
                            Ok(()) => Ok(self.v4.create(new, &self.svc).await),
                            Err(e) => Err(e),
                        }
                    }
                    Family::V6 => {
                        let new = self.v6.next_added();
                        match self.overrides.store_ahead(
                            store,
                            (v4, self.v4.settings()),
                            (v6, self.v6.settings().chain([&new])),
                        ) {
                            Ok(()) => Ok(self.v6.create(new, &self.svc).await),
                            Err(e) => Err(e),
                        }
                    }
                };
                if let Err(e) = &update {
                    tracing::error!(error = %e, "cannot store an added client; refusing it");
                }
                self.save_numbers();
                let _ = reply.send(update.map_err(Into::into));
                return;
            }
            ControllerCommand::DeleteClient { client, reply } => {
                // Stored as deleted before it goes: a deletion that cannot be stored changes
                // nothing.
                let (v4, v6) = (&self.v4_defaults[..], &self.v6_defaults[..]);
                let store = &self.svc.store;
                let stored = match client {
                    ClientKey::V4(i) => self.overrides.store_ahead(
                        store,
                        (v4, self.v4.settings_without(i)),
                        (v6, self.v6.settings()),
                    ),
                    ClientKey::V6(i) => self.overrides.store_ahead(
                        store,
                        (v4, self.v4.settings()),
                        (v6, self.v6.settings_without(i)),
                    ),
                };
                if let Err(e) = stored {
                    tracing::error!(error = %e, "cannot store a client's deletion; refusing it");
                    let _ = reply.send(Err(e.into()));
                    return;
                }
                match client {
                    ClientKey::V4(i) => self.v4.delete(i, reply, &self.internal),
                    ClientKey::V6(i) => self.v6.delete(i, reply, &self.internal),
                }
                return;
            }
        };
        if let ClientAction::Configure(config) = &action {
            if let Err(e) = self.store_ahead(client, config) {
                tracing::error!(error = %e, "cannot store a TR-181 write; refusing it");
                let _ = reply.send(Err(e.into()));
                return;
            }
        }
        let configures = matches!(action, ClientAction::Configure(_));
        let (reply, outcome) = match configures {
            true => {
                let (tx, rx) = oneshot::channel();
                (tx, Some((rx, reply)))
            }
            false => (reply, None),
        };
        match client {
            ClientKey::V4(i) => {
                self.v4
                    .command(i, action, reply, &self.svc, &self.internal)
                    .await
            }
            ClientKey::V6(i) => {
                self.v6
                    .command(i, action, reply, &self.svc, &self.internal)
                    .await
            }
        }
        if let Some((rx, reply)) = outcome {
            // Stored ahead; a refused write puts the stored writes back.
            let result = match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(why)) => Err(why),
                Err(_) => Err(CommandError::ControllerGone),
            };
            if result.is_err() {
                let _ = self.save_overrides();
            }
            let _ = reply.send(result);
        }
    }

    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::StopFinished { client, reply } => {
                match client {
                    ClientKey::V4(i) => self.v4.finish_stop(i, &self.svc).await,
                    ClientKey::V6(i) => self.v6.finish_stop(i, &self.svc).await,
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(()));
                }
            }
            Internal::ConfigureStopped { client } => match client {
                ClientKey::V4(i) => self.v4.finish_configure(i, &self.svc).await,
                ClientKey::V6(i) => self.v6.finish_configure(i, &self.svc).await,
            },
            Internal::DeleteStopped { client, reply } => {
                match client {
                    ClientKey::V4(i) => self.v4.finish_delete(i, &self.svc).await,
                    ClientKey::V6(i) => self.v6.finish_delete(i, &self.svc).await,
                }
                self.save_numbers();
                let _ = reply.send(self.save_overrides());
            }
            Internal::LinkStopped { client } => match client {
                ClientKey::V4(i) => self.v4.link_stopped(i, &self.svc).await,
                ClientKey::V6(i) => self.v6.link_stopped(i, &self.svc).await,
            },
        }
    }

    /// Takes one link notification into the interfaces' state and lets every client follow.
    /// Without notifications any more (the connection ended) the interfaces stay as last seen.
    async fn on_link(
        &mut self,
        notification: Option<Notification>,
        notifications: &mut LinkNotifications,
    ) {
        match notification {
            Some(Notification::Event(event)) => self.svc.links.apply(event),
            Some(Notification::Resync) => match self.net.dump_links().await {
                Ok(events) => self.svc.links.reset(events),
                Err(e) => tracing::error!(error = %e, "cannot read the interfaces again"),
            },
            None => {
                tracing::error!("netlink notifications ended; interface changes go unseen");
                *notifications = LinkNotifications::ended();
                return;
            }
        }
        self.v4.on_link(&self.svc, &self.internal).await;
        self.v6.on_link(&self.svc, &self.internal).await;
    }

    /// Brings every client to the file's settings with the stored writes on top.
    async fn apply_settings(&mut self) {
        let v4 = self.overrides.apply_v4(&self.v4_defaults);
        let v6 = self.overrides.apply_v6(&self.v6_defaults);
        self.v4.reload(v4, &self.svc, &self.internal).await;
        self.v6.reload(v6, &self.svc, &self.internal).await;
    }

    /// Stores the writes as they will be once `client` has `config`, before it takes effect.
    fn store_ahead(
        &mut self,
        client: ClientKey,
        config: &crate::channels::ClientConfig,
    ) -> Result<(), crate::overrides::NotStored> {
        use crate::channels::ClientConfig::{V4, V6};
        let (v4, v6) = (&self.v4_defaults[..], &self.v6_defaults[..]);
        let store = &self.svc.store;
        match (client, config) {
            (ClientKey::V4(i), V4(new)) => self.overrides.store_ahead(
                store,
                (v4, self.v4.settings_with(i, new)),
                (v6, self.v6.settings()),
            ),
            (ClientKey::V6(i), V6(new)) => self.overrides.store_ahead(
                store,
                (v4, self.v4.settings()),
                (v6, self.v6.settings_with(i, new)),
            ),
            _ => Ok(()),
        }
    }

    /// Records every client's settings against the file's and stores the difference.
    fn save_overrides(&mut self) -> Result<(), CommandError> {
        self.overrides
            .record_v4(&self.v4_defaults, self.v4.settings());
        self.overrides
            .record_v6(&self.v6_defaults, self.v6.settings());
        self.overrides.save(&self.svc.store).map_err(|e| {
            tracing::error!(error = %e, "cannot store TR-181 writes");
            CommandError::NotPersisted(e)
        })
    }

    /// Stores the clients' instance numbers when they changed.
    fn save_numbers(&mut self) {
        let numbers = InstanceNumbers {
            dhcpv4: self.v4.numbering().clone(),
            dhcpv6: self.v6.numbering().clone(),
        };
        if numbers == self.stored_numbers {
            return;
        }
        match numbers.save(&self.svc.store) {
            Ok(()) => self.stored_numbers = numbers,
            Err(e) => {
                tracing::error!(error = %e, "cannot store the clients' instance numbers");
            }
        }
    }
}
