//! The controller thread: supervises the DHCP clients, receives lease events from the plugins,
//! applies them (netlink, persistence, system events), keeps lease expiry timers, carries out
//! TR-181 commands and configuration reloads, and tells the TR-181 thread what changed.
//!
//! Everything runs on one current-thread runtime and events are applied one at a time, so a
//! client's events are applied in the order they arrive.

mod ipc_server;
mod spool_replay;
pub mod supervisor;
pub mod udhcpc;
mod v4_client;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::thread::JoinHandle;

use dhcpmgr_ipc::{ClientEvent, Envelope, Reply};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::boottime::BootSeconds;
use crate::channels::{
    ClientAction, CommandReceiver, ControllerCommand, ControllerUpdate, UpdateSender,
};
use crate::config::{Config, V4ClientConfig};
use crate::netlink::{Net, NetError};
use crate::persist::StateStore;
use crate::snapshot::Instance;
use crate::sysevent::SysEventSender;
use ipc_server::IpcRequest;
use supervisor::{Request, Supervisor};
use udhcpc::UdhcpcProgram;
pub use v4_client::V4State;
use v4_client::{EventOrigin, Services, V4Client};

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
pub struct ControllerChannels {
    pub updates: UpdateSender,
    pub commands: CommandReceiver,
    pub reloads: mpsc::UnboundedReceiver<Config>,
    /// Told once the IPC socket listens and the clients are started.
    pub ready: std::sync::mpsc::Sender<()>,
}

/// Starts the controller thread.
pub fn spawn(
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
        instance: Instance,
        reply: Option<oneshot::Sender<Result<(), String>>>,
    },
}

struct Controller {
    clients: BTreeMap<Instance, V4Client>,
    next_instance: u32,
    svc: Services,
    internal: mpsc::UnboundedSender<Internal>,
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
    let svc = Services {
        net: Net::open()?,
        store: StateStore::new(&config.state_dir),
        sysevents: SysEventSender::start(config.sysevent_command.clone()),
        updates,
        udhcpc: UdhcpcProgram::resolve(config.udhcpc_command.as_deref()),
        plugin: plugin_path(&config),
        spool_dir: config.run_dir.join("spool"),
        run_dir: config.run_dir.clone(),
        socket,
        reports: reports_tx,
    };
    let mut ctl = Controller {
        clients: BTreeMap::new(),
        next_instance: 1,
        svc,
        internal: internal_tx,
    };
    warn_about_unsupported(&config);
    for client in config.dhcpv4_clients {
        ctl.add_client(client).await;
    }
    ctl.replay_spool().await;
    for client in ctl.clients.values_mut() {
        client.start(&ctl.svc);
    }
    let _ = ready.send(());
    tracing::info!(clients = ctl.clients.len(), "controller ready");

    loop {
        let expiry = ctl.next_expiry();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(req) = ipc_rx.recv() => {
                let reply = ctl.on_envelope(req.envelope, false).await;
                let _ = req.reply.send(reply);
            }
            Some((instance, report)) = reports.recv() => {
                if let Some(client) = ctl.clients.get_mut(&instance) {
                    client.on_report(report, &ctl.svc);
                }
            }
            Some(command) = commands.recv() => ctl.on_command(command).await,
            Some(msg) = internal.recv() => ctl.on_internal(msg).await,
            Some(new_config) = reloads.recv() => ctl.reload(new_config).await,
            _ = sleep_until_boot(expiry) => ctl.expire_due().await,
        }
    }
    tracing::info!("controller stopping: DHCP clients stop without releasing; addresses stay");
    for client in ctl.clients.values_mut() {
        client.stop(false).await;
    }
    Ok(())
}

async fn sleep_until_boot(when: Option<BootSeconds>) {
    match when {
        Some(when) => tokio::time::sleep(when.duration_from(BootSeconds::now())).await,
        None => std::future::pending().await,
    }
}

fn plugin_path(config: &Config) -> PathBuf {
    let dir = config.plugin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/usr/bin"))
    });
    dir.join("dhcpmgr-udhcpc-plugin")
}

fn warn_about_unsupported(config: &Config) {
    for client in &config.dhcpv6_clients {
        tracing::warn!(client = %client.alias, "DHCPv6 clients are not supervised by this build yet; ignored");
    }
}

impl Controller {
    async fn add_client(&mut self, config: V4ClientConfig) {
        let instance = Instance(self.next_instance);
        self.next_instance += 1;
        let client = V4Client::restore(instance, config, &self.svc).await;
        client.publish(&self.svc);
        self.clients.insert(instance, client);
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

    fn find_client<'a>(
        clients: &'a mut BTreeMap<Instance, V4Client>,
        envelope: &Envelope,
    ) -> Option<&'a mut V4Client> {
        let ClientEvent::V4(event) = &envelope.event;
        clients.values_mut().find(|c| match &envelope.client {
            Some(alias) => c.config.alias.as_str() == alias,
            None => c.config.interface.as_str() == event.interface,
        })
    }

    async fn on_envelope(&mut self, envelope: Envelope, replayed: bool) -> Reply {
        let ClientEvent::V4(ref event) = envelope.event;
        let event = event.clone();
        let Some(client) = Self::find_client(&mut self.clients, &envelope) else {
            let reason = format!(
                "no DHCPv4 client {} configured",
                envelope.client.as_deref().unwrap_or(&event.interface)
            );
            tracing::warn!(%reason, "lease event for an unknown client");
            return Reply::rejected(reason);
        };
        if client.config.interface.as_str() != event.interface {
            return Reply::rejected(format!(
                "client {} runs on {}, not {}",
                client.config.alias, client.config.interface, event.interface
            ));
        }
        let origin = EventOrigin {
            created_unix_ms: envelope.created_unix_ms,
            client_pid: envelope.client_pid,
            replayed,
        };
        match client.on_event(&event, origin, &self.svc).await {
            Ok(()) => Reply::accepted(),
            Err(reason) => Reply::rejected(reason),
        }
    }

    fn next_expiry(&self) -> Option<BootSeconds> {
        self.clients.values().filter_map(V4Client::expires).min()
    }

    async fn expire_due(&mut self) {
        let now = BootSeconds::now();
        for client in self.clients.values_mut() {
            if client.expires().is_some_and(|e| e <= now) {
                client.on_expiry(&self.svc).await;
            }
        }
    }

    async fn on_command(&mut self, command: ControllerCommand) {
        let ControllerCommand {
            instance,
            action,
            reply,
        } = command;
        let Some(client) = self.clients.get_mut(&instance) else {
            let _ = reply.send(Err(format!("no DHCPv4 client {instance}")));
            return;
        };
        tracing::info!(client = %client.config.alias, ?action, "command");
        match action {
            ClientAction::Renew => {
                let result = match client.supervisor() {
                    Some(sup) => {
                        sup.request(Request::Signal(nix::sys::signal::Signal::SIGUSR1));
                        Ok(())
                    }
                    None => Err(format!("client {} is not running", client.config.alias)),
                };
                let _ = reply.send(result);
            }
            ClientAction::Restart => {
                client.set_enabled(true);
                match client.supervisor() {
                    Some(sup) => sup.request(Request::Restart),
                    None => client.start(&self.svc),
                }
                let _ = reply.send(Ok(()));
            }
            ClientAction::Release => self.stop_client(instance, true, Some(reply)),
            ClientAction::SetEnable(true) => {
                client.set_enabled(true);
                client.start(&self.svc);
                let _ = reply.send(Ok(()));
            }
            ClientAction::SetEnable(false) => {
                let release = client.config.release_on_disable;
                self.stop_client(instance, release, Some(reply));
            }
        }
    }

    /// Stops a client off the loop (a release takes a moment) and finishes in `on_internal`.
    fn stop_client(
        &mut self,
        instance: Instance,
        release: bool,
        reply: Option<oneshot::Sender<Result<(), String>>>,
    ) {
        let Some(client) = self.clients.get_mut(&instance) else {
            return;
        };
        let supervisor: Option<Supervisor> = client.take_supervisor(release);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            if let Some(sup) = supervisor {
                sup.stop(release).await;
            }
            let _ = internal.send(Internal::StopFinished { instance, reply });
        });
    }

    async fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::StopFinished { instance, reply } => {
                if let Some(client) = self.clients.get_mut(&instance) {
                    client.finish_stop(&self.svc).await;
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(()));
                }
            }
        }
    }

    /// Applies a new configuration: removed clients stop and give up their address, added ones
    /// start, changed ones restart with their new settings (keeping the lease where the
    /// interface stays the same), and unchanged ones are not touched.
    async fn reload(&mut self, config: Config) {
        let mut wanted: BTreeMap<String, V4ClientConfig> = config
            .dhcpv4_clients
            .into_iter()
            .map(|c| (c.alias.to_string(), c))
            .collect();
        let instances: Vec<Instance> = self.clients.keys().copied().collect();
        for instance in instances {
            let Some(client) = self.clients.get_mut(&instance) else {
                continue;
            };
            match wanted.remove(client.config.alias.as_str()) {
                Some(new) if new == client.config => {}
                Some(new) if new.interface == client.config.interface => {
                    tracing::info!(client = %new.alias, "configuration changed; restarting client");
                    client.stop(false).await;
                    client.config = new;
                    client.set_enabled(client.config.enable);
                    client.start(&self.svc);
                }
                replaced => {
                    tracing::info!(client = %client.config.alias, "client removed or moved; stopping it");
                    client.stop(false).await;
                    client.finish_stop(&self.svc).await;
                    client.forget(&self.svc);
                    self.clients.remove(&instance);
                    let _ = self
                        .svc
                        .updates
                        .send(ControllerUpdate::V4ClientRemoved(instance));
                    if let Some(new) = replaced {
                        wanted.insert(new.alias.to_string(), new);
                    }
                }
            }
        }
        for (_, new) in wanted {
            tracing::info!(client = %new.alias, "client added");
            let instance = Instance(self.next_instance);
            self.add_client(new).await;
            if let Some(client) = self.clients.get_mut(&instance) {
                client.start(&self.svc);
            }
        }
    }
}
