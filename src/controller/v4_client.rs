//! One DHCPv4 client as the controller keeps it: its configuration, persisted state, lease,
//! supervisor, and the effects of each lease event (netlink, persistence, system events,
//! TR-181 updates), applied in that order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use dhcpmgr_ipc::{V4Event, V4EventKind};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::managed::ManagedClient;
use super::supervisor::{
    LaunchSpec, Report, Request, RestartPolicy, SharedLaunchSpec, StopStyle, Supervisor,
};
use super::udhcpc::{client_id_from_mac, parse_mac, udhcpc_args, LaunchContext, UdhcpcProgram};
use crate::boottime::{boot_id, BootSeconds};
use crate::channels::{ClientKey, ControllerUpdate, EventKind, UpdateSender};
use crate::config::{HexBytes, V4ClientConfig};
use crate::lease::v4::{self, HeldLease, Plan, Situation};
use crate::netlink::{Net, V4Addr};
use crate::persist::StateStore;
use crate::snapshot::{count, ClientStats, ClientStatus, DhcpStatus, Instance, V4ClientSnapshot};
use crate::sysevent::{self, SysEventSender, SysEvents};

/// udhcpc keeps its lease on SIGTERM (we never pass `-R`) and releases on SIGUSR2.
pub(super) const UDHCPC_STOP: StopStyle = StopStyle {
    keep_lease: nix::sys::signal::Signal::SIGTERM,
    release: nix::sys::signal::Signal::SIGUSR2,
};

/// What survives a daemon restart for one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4State {
    /// Client identifier derived once and reused for ever.
    pub client_id: Option<HexBytes>,
    /// The lease in force (times are CLOCK_BOOTTIME of boot `boot_id`).
    pub held: Option<HeldLease>,
    pub boot_id: String,
    /// The last address held, asked for again (`-r`) when the client starts.
    pub remembered_address: Option<Ipv4Addr>,
    /// Creation time of the last applied plugin message: older replays are ignored.
    pub last_event_unix_ms: u64,
    /// The interface the lease is on, so that a client removed from the configuration while
    /// the daemon was down can still have its address taken off.
    #[serde(default)]
    pub interface: Option<String>,
    /// Where earlier versions kept the system event values last set: read from their state
    /// files (which would otherwise not parse) and ignored; the sysevent ledger owns them now.
    #[serde(default, skip_serializing)]
    pub sysevents: SysEvents,
}

/// Where an event came from.
#[derive(Debug, Clone, Copy)]
pub struct EventOrigin {
    /// When the plugin built it (wall clock, ms since the epoch).
    pub created_unix_ms: u64,
    /// The DHCP client process that ran the plugin.
    pub client_pid: u32,
    /// Read back from the spool rather than received live.
    pub replayed: bool,
}

impl EventOrigin {
    /// A replayed event older than the last one applied (`last_applied_ms`) is stale; live
    /// events are applied in arrival order whatever the wall clock says.
    pub fn is_stale(&self, last_applied_ms: u64) -> bool {
        self.replayed && self.created_unix_ms < last_applied_ms
    }
}

/// Everything a client needs from the controller to act.
pub struct Services {
    pub net: Net,
    pub store: StateStore,
    pub sysevents: SysEventSender,
    pub updates: UpdateSender,
    pub udhcpc: UdhcpcProgram,
    pub plugin: PathBuf,
    pub dibbler: PathBuf,
    pub dibbler_plugin: PathBuf,
    pub run_dir: PathBuf,
    pub socket: PathBuf,
    pub spool_dir: PathBuf,
    pub reports: mpsc::UnboundedSender<(ClientKey, Report)>,
}

/// A DHCPv4 client under the controller's care.
pub struct V4Client {
    pub instance: Instance,
    pub config: V4ClientConfig,
    state: V4State,
    status: ClientStatus,
    dhcp_status: DhcpStatus,
    /// Enabled at run time (config `enable`, then TR-181 writes, release).
    enabled: bool,
    /// The udhcpc process the last event came from: the first event of another process is
    /// that process's opening `deconfig`, which must not tear down a valid lease.
    last_event_pid: Option<u32>,
    releasing: bool,
    supervisor: Option<Supervisor>,
    launch: SharedLaunchSpec,
    /// TR-181 `Stats.` counters since the daemon started.
    stats: ClientStats,
    /// Settings waiting for the process to stop (see `ClientSet::configure`): what snapshots
    /// show meanwhile, so that TR-181 never sees the old settings come back.
    wanted: Option<V4ClientConfig>,
}

impl V4Client {
    /// Applies one event from the plugin. `Err` carries the reason given back to the plugin.
    /// A replayed event (from the spool) older than the last applied one is stale and skipped;
    /// live events are applied in arrival order whatever the wall clock says.
    pub async fn on_event(
        &mut self,
        event: &V4Event,
        origin: EventOrigin,
        svc: &Services,
    ) -> Result<(), String> {
        if origin.is_stale(self.state.last_event_unix_ms) {
            tracing::info!(client = %self.config.alias, kind = event.kind.as_str(), "ignoring an event older than the last applied one");
            return Ok(());
        }
        if !self.enabled {
            return Err(format!(
                "client {} is disabled; its events are not applied",
                self.config.alias
            ));
        }
        let situation = Situation {
            held: self.state.held.as_ref(),
            fresh_client: self.last_event_pid != Some(origin.client_pid),
            releasing: self.releasing,
            now: BootSeconds::now(),
        };
        let plan = v4::plan(event, situation).map_err(|e| {
            tracing::warn!(client = %self.config.alias, kind = event.kind.as_str(), error = %e, "refusing lease");
            e.to_string()
        })?;
        tracing::info!(client = %self.config.alias, kind = event.kind.as_str(), add = ?plan.add, remove = ?plan.remove, "lease event");
        if !plan.dropped.is_empty() {
            let dropped: Vec<String> = plan.dropped.iter().map(ToString::to_string).collect();
            tracing::warn!(client = %self.config.alias, ?dropped, "lease values left out");
        }
        self.last_event_pid = Some(origin.client_pid);
        // udhcpc reports the server's answers only: an ACK binds or renews, a NAK resets.
        match event.kind {
            V4EventKind::Bound | V4EventKind::Renew => count(&mut self.stats, "ACK"),
            V4EventKind::Nak => count(&mut self.stats, "NACK"),
            V4EventKind::Deconfig | V4EventKind::Leasefail => {}
        }
        self.state.last_event_unix_ms = origin.created_unix_ms;
        let was_releasing = self.releasing && plan.held.is_none();
        self.execute(plan, svc).await?;
        if was_releasing {
            if let Some(sup) = &self.supervisor {
                sup.request(Request::ReleaseSeen);
            }
        }
        Ok(())
    }

    /// Carries out `plan`: add before remove, then persist, publish, and report.
    async fn execute(&mut self, plan: Plan, svc: &Services) -> Result<(), String> {
        let early = svc.sysevents.profile().before_configuring();
        if early {
            self.desire_sysevents(plan.held.as_ref(), svc);
        }
        let interface = self.config.interface_name();
        if let Some(add) = plan.add {
            svc.net.add_v4(interface, add).await.map_err(|e| {
                tracing::error!(client = %self.config.alias, error = %e, "cannot configure address");
                e.to_string()
            })?;
        }
        if let Some(held) = &plan.held {
            self.apply_link_settings(held, svc).await;
        }
        if let Some(remove) = plan.remove {
            self.remove_old_address(remove, plan.add, svc).await;
        }
        if let Some(held) = &plan.held {
            self.state.remembered_address = Some(held.lease.address);
        }
        let lease_changed = self.state.held != plan.held;
        self.state.held = plan.held;
        self.dhcp_status = plan.dhcp_status;
        if lease_changed {
            self.refresh_launch(svc);
        }
        self.persist(svc);
        self.publish(svc);
        if let Some(kind) = plan.event {
            let data = self.event_data();
            self.emit(kind, data, svc);
        }
        if !early {
            self.desire_sysevents(self.state.held.as_ref(), svc);
        }
        Ok(())
    }

    /// Removes the previous lease's address, keeping `kept` (the new one) on the interface.
    async fn remove_old_address(&self, old: V4Addr, kept: Option<V4Addr>, svc: &Services) {
        let interface = self.config.interface_name();
        if let Err(e) = Net::promote_secondaries(interface) {
            tracing::warn!(client = %self.config.alias, error = %e, "cannot enable promote_secondaries");
        }
        if let Err(e) = svc.net.del_v4(interface, old).await {
            tracing::warn!(client = %self.config.alias, error = %e, "cannot remove old address");
        }
        let Some(kept) = kept else { return };
        if let Ok(false) = svc.net.has_v4(interface, kept).await {
            tracing::warn!(client = %self.config.alias, address = %kept, "new address went with the old one; adding it again");
            if let Err(e) = svc.net.add_v4(interface, kept).await {
                tracing::error!(client = %self.config.alias, error = %e, "cannot configure address");
            }
        }
    }

    async fn apply_link_settings(&self, held: &HeldLease, svc: &Services) {
        let interface = self.config.interface_name();
        if let Some(mtu) = v4::usable_mtu(&held.lease) {
            match svc.net.mtu(interface).await {
                Ok(Some(current)) if current == u32::from(mtu) => {}
                _ => {
                    if let Err(e) = svc.net.set_mtu(interface, u32::from(mtu)).await {
                        tracing::warn!(client = %self.config.alias, mtu, error = %e, "cannot apply MTU from option 26");
                    }
                }
            }
        }
        if self.config.default_route {
            if let Some(gw) = held.lease.routers.first() {
                if let Err(e) = svc.net.replace_default_route(interface, *gw).await {
                    tracing::warn!(client = %self.config.alias, error = %e, "cannot install default route");
                }
            }
        }
    }

    /// Hands the system events for `held` to the runner, which sets what changed.
    fn desire_sysevents(&self, held: Option<&HeldLease>, svc: &Services) {
        let values = sysevent::v4_sysevents(
            self.config.interface_name(),
            held.map(|h| &h.lease),
            held.map_or(0, |h| h.obtained.0),
        );
        let path = ClientKey::V4(self.instance).object_path();
        svc.sysevents
            .desire(&state_name(&self.config), &path, values);
    }

    fn event_data(&self) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([(
            "interface".to_string(),
            self.config.interface_name().to_string(),
        )]);
        if let Some(held) = &self.state.held {
            data.insert("address".into(), held.lease.address.to_string());
            data.insert("prefix_len".into(), held.lease.prefix_len.to_string());
            if let Some(secs) = held.lease.lease_secs {
                data.insert("lease_time".into(), secs.to_string());
            }
        }
        data
    }

    fn emit(&self, kind: EventKind, data: BTreeMap<String, String>, svc: &Services) {
        let _ = svc.updates.send(ControllerUpdate::Event {
            object_path: self.snapshot().object_path(),
            kind,
            data,
        });
    }

    /// Sends the current picture to the TR-181 thread.
    pub fn publish(&self, svc: &Services) {
        let _ = svc.updates.send(self.snapshot_update());
    }

    pub fn snapshot(&self) -> V4ClientSnapshot {
        V4ClientSnapshot {
            instance: self.instance,
            settings: self.wanted.as_ref().unwrap_or(&self.config).clone(),
            enable: self.wanted.as_ref().map_or(self.enabled, |w| w.enable),
            status: if self.enabled {
                self.status
            } else {
                ClientStatus::Disabled
            },
            dhcp_status: self.dhcp_status,
            lease: self.state.held.as_ref().map(|h| h.lease.clone()),
            lease_expires: self.expires(),
            stats: self.stats.clone(),
            waiting: None,
        }
    }

    fn persist(&mut self, svc: &Services) {
        self.state.interface = self
            .config
            .interface
            .as_ref()
            .map(|i| i.as_str().to_owned());
        if let Err(e) = svc.store.save(&state_name(&self.config), &self.state) {
            tracing::error!(client = %self.config.alias, error = %e, "cannot persist client state");
        }
    }

    fn refresh_launch(&self, svc: &Services) {
        let pid_file = svc
            .run_dir
            .join(format!("udhcpc-{}.pid", self.config.alias));
        let requested = self
            .state
            .held
            .as_ref()
            .map(|h| h.lease.address)
            .or(self.state.remembered_address);
        let ctx = LaunchContext {
            plugin: &svc.plugin,
            pid_file: &pid_file,
            client_id: self.state.client_id.as_ref(),
            requested_address: requested,
        };
        let mut args = svc.udhcpc.leading_args.clone();
        args.extend(udhcpc_args(&self.config, &ctx));
        let env: Vec<(String, OsString)> = vec![
            (dhcpmgr_ipc::ENV_SOCKET.into(), svc.socket.clone().into()),
            (
                dhcpmgr_ipc::ENV_SPOOL_DIR.into(),
                svc.spool_dir.clone().into(),
            ),
            (
                dhcpmgr_ipc::ENV_CLIENT.into(),
                self.config.alias.as_str().into(),
            ),
        ];
        let mut launch = match self.launch.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        launch.program = svc.udhcpc.program.clone();
        launch.args = args;
        launch.env = env;
        launch.pid_file = pid_file;
    }
}

fn state_name(config: &V4ClientConfig) -> String {
    format!("v4-{}", config.alias)
}

/// Option 61 from the interface's MAC address; `None` without an interface or a MAC address.
fn derive_client_id(config: &V4ClientConfig) -> Option<HexBytes> {
    let path = format!("/sys/class/net/{}/address", config.interface.as_ref()?);
    let mac = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| parse_mac(&s));
    if mac.is_none() {
        tracing::warn!(client = %config.alias, interface = config.interface_name(), "no MAC address yet; udhcpc will choose the client identifier");
    }
    mac.map(client_id_from_mac)
}

impl ManagedClient for V4Client {
    type Settings = V4ClientConfig;
    const FAMILY: &'static str = "DHCPv4";

    fn key(instance: Instance) -> ClientKey {
        ClientKey::V4(instance)
    }

    fn settings(&self) -> &V4ClientConfig {
        &self.config
    }

    fn snapshot_update(&self) -> ControllerUpdate {
        ControllerUpdate::V4Client(Box::new(self.snapshot()))
    }

    fn replace_settings(&mut self, settings: V4ClientConfig) {
        self.config = settings;
    }

    fn set_wanted(&mut self, wanted: Option<V4ClientConfig>) {
        self.wanted = wanted;
    }

    /// udhcpc renews on SIGUSR1.
    fn renew_request() -> Request {
        Request::Signal(nix::sys::signal::Signal::SIGUSR1)
    }

    fn announce_removal(&self, svc: &Services) {
        let _ = svc
            .updates
            .send(ControllerUpdate::V4ClientRemoved(self.instance));
    }

    /// Loads the client's persisted state and puts a still-valid lease back on the interface.
    async fn restore(instance: Instance, config: V4ClientConfig, svc: &Services) -> Self {
        let name = state_name(&config);
        let mut state: V4State = svc.store.load_or_default(&name, config.alias.as_str());
        let this_boot = boot_id();
        if state.boot_id != this_boot {
            // Lease times from another boot mean nothing now; ask for the address again.
            if let Some(held) = state.held.take() {
                state.remembered_address = Some(held.lease.address);
            }
            state.boot_id = this_boot;
        }
        state.remembered_address = state.remembered_address.and_then(v4::requestable);
        if let Some(held) = state.held.take() {
            match v4::restored(&held) {
                Ok((held, dropped)) => {
                    if !dropped.is_empty() {
                        let dropped: Vec<String> =
                            dropped.iter().map(ToString::to_string).collect();
                        tracing::warn!(client = %config.alias, ?dropped, "stored lease values left out");
                    }
                    state.held = Some(held);
                }
                Err(e) => {
                    tracing::warn!(client = %config.alias, error = %e, "stored lease is unusable; not putting it back");
                }
            }
        }
        if state.client_id.is_none() {
            state.client_id = config
                .client_id
                .clone()
                .or_else(|| derive_client_id(&config));
        }
        let launch = Arc::new(Mutex::new(LaunchSpec {
            program: svc.udhcpc.program.clone(),
            args: Vec::new(),
            env: Vec::new(),
            pid_file: svc.run_dir.join(format!("udhcpc-{}.pid", config.alias)),
            cmdline_marker: "udhcpc".into(),
            stop: UDHCPC_STOP,
        }));
        let mut client = Self {
            instance,
            enabled: config.enable,
            config,
            state,
            status: ClientStatus::Disabled,
            dhcp_status: DhcpStatus::Init,
            last_event_pid: None,
            releasing: false,
            supervisor: None,
            launch,
            stats: ClientStats::new(),
            wanted: None,
        };
        let now = BootSeconds::now();
        if let Some(held) = client.state.held.clone() {
            if !client.enabled {
                tracing::info!(client = %client.config.alias, "client is disabled: its stored lease is not put back, its address is removed");
                let _ = client.execute(v4::expire(&held), svc).await;
            } else if held.is_expired(now) {
                tracing::info!(client = %client.config.alias, "persisted lease expired while the daemon was down");
                let _ = client.execute(v4::expire(&held), svc).await;
            } else if let Err(e) = svc
                .net
                .add_v4(client.config.interface_name(), held.addr())
                .await
            {
                tracing::warn!(client = %client.config.alias, error = %e, "cannot restore leased address");
            } else {
                client.dhcp_status = DhcpStatus::Bound;
            }
        }
        client.persist(svc);
        client.desire_sysevents(client.state.held.as_ref(), svc);
        client
    }

    /// Starts the DHCP client process when enabled.
    fn start(&mut self, svc: &Services) {
        if !self.enabled || self.supervisor.is_some() {
            self.publish(svc);
            return;
        }
        if self.config.interface.is_none() {
            tracing::warn!(client = %self.config.alias, "enabled without an interface; X_RDK_LinuxInterface must be set");
            self.status = ClientStatus::ErrorMisconfigured;
            self.publish(svc);
            return;
        }
        if self.state.client_id.is_none() {
            self.state.client_id = self
                .config
                .client_id
                .clone()
                .or_else(|| derive_client_id(&self.config));
            self.persist(svc);
        }
        self.refresh_launch(svc);
        self.status = ClientStatus::Enabled;
        self.supervisor = Some(Supervisor::start(
            ClientKey::V4(self.instance),
            self.launch.clone(),
            RestartPolicy::default(),
            svc.reports.clone(),
        ));
        self.publish(svc);
    }

    /// Stops the DHCP client process, releasing the lease when asked. The address stays.
    async fn stop(&mut self, release: bool) {
        if let Some(sup) = self.supervisor.take() {
            self.releasing = release;
            sup.stop(release).await;
        }
    }

    fn begin_stop(&mut self, release: bool) -> Option<Supervisor> {
        self.releasing = release;
        self.supervisor.clone()
    }

    /// Finishes a release or disable: the lease is gone locally whatever the client did.
    async fn finish_stop(&mut self, svc: &Services) {
        self.supervisor = None;
        self.releasing = false;
        self.enabled = false;
        self.status = ClientStatus::Disabled;
        match self.state.held.clone() {
            Some(held) => {
                let _ = self.execute(v4::expire(&held), svc).await;
            }
            None => self.publish(svc),
        }
    }

    fn supervisor(&self) -> Option<&Supervisor> {
        self.supervisor.as_ref()
    }

    fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// When the held lease runs out, if it can.
    fn expires(&self) -> Option<BootSeconds> {
        self.state.held.as_ref().and_then(|h| h.expires)
    }

    /// The held lease ran out: take the address away.
    async fn on_expiry(&mut self, svc: &Services) {
        if let Some(held) = self.state.held.clone() {
            tracing::warn!(client = %self.config.alias, address = %held.addr(), "lease expired without renewal");
            let _ = self.execute(v4::expire(&held), svc).await;
        }
    }

    /// Handles what the supervisor says about the process.
    fn on_report(&mut self, report: Report, svc: &Services) {
        let event = match report {
            Report::Started { pid } => {
                tracing::info!(client = %self.config.alias, pid, "DHCP client started");
                self.status = ClientStatus::Enabled;
                EventKind::ClientStarted
            }
            Report::Exited { status, quick } => {
                tracing::warn!(client = %self.config.alias, %status, quick, "DHCP client ended unexpectedly");
                EventKind::ClientFailed
            }
            Report::GaveUp { failures } => {
                tracing::error!(client = %self.config.alias, failures, "DHCP client keeps dying; giving up until restarted");
                self.status = ClientStatus::Error;
                EventKind::ClientFailed
            }
            Report::Stopped => EventKind::ClientStopped,
        };
        self.emit(event, BTreeMap::new(), svc);
        self.publish(svc);
    }

    /// Forgets the client's persisted state (it was removed from the configuration).
    fn forget(&self, svc: &Services) {
        if let Err(e) = svc.store.remove(&state_name(&self.config)) {
            tracing::warn!(client = %self.config.alias, error = %e, "cannot delete client state");
        }
    }
}
