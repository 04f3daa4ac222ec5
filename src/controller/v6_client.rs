//! One DHCPv6 client as the controller keeps it: configuration, persisted state (the DUID,
//! created once and kept for ever), the held addresses and prefixes, the dibbler-client
//! supervisor, and the effects of each event (netlink, persistence, system events, D-Bus).
//!
//! dibbler-client 1.0.1 releases IA_NA and IA_PD on SIGTERM, so every stop that must keep the
//! customer's prefix (crash recovery, daemon restart, reload, disable) uses SIGKILL; after it
//! dibbler keeps its state in the work directory and gets the same prefix back. Only an explicit
//! release (or disable with `release_on_disable`) sends SIGTERM.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use dhcpmgr_ipc::V6Event;
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::dibbler;
use super::managed::ManagedClient;
use super::supervisor::{
    LaunchSpec, Report, Request, RestartPolicy, SharedLaunchSpec, StopStyle, Supervisor,
};
use super::udhcpc::parse_mac;
use super::v4_client::{EventOrigin, Services};
use crate::boottime::{boot_id, BootSeconds};
use crate::channels::{ClientKey, ControllerUpdate, EventKind};
use crate::config::{HexBytes, V6ClientConfig};
use crate::lease::v6::{self, HeldV6, V6Plan};
use crate::snapshot::{count, ClientStats, ClientStatus, Instance, V6ClientSnapshot};
use crate::sysevent::{self, SysEvents, V6Asked};

/// dibbler-client keeps its lease on SIGKILL and releases on SIGTERM.
pub(super) const DIBBLER_STOP: StopStyle = StopStyle {
    keep_lease: Signal::SIGKILL,
    release: Signal::SIGTERM,
};

/// IAIDs dibbler-client uses for its first IA_NA and IA_PD.
const IA_NA_IAID: u32 = 1;
const IA_PD_IAID: u32 = 1;

/// What survives a daemon restart for one DHCPv6 client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6State {
    /// The client's DUID: a new one would cost the customer its prefix.
    pub duid: Option<HexBytes>,
    pub held: HeldV6,
    pub boot_id: String,
    pub last_event_unix_ms: u64,
    /// As `V4State::interface`: where the addresses are, for a client removed while down.
    #[serde(default)]
    pub interface: Option<String>,
    /// Read from earlier versions' state files and ignored (see `V4State::sysevents`).
    #[serde(default, skip_serializing)]
    pub sysevents: SysEvents,
}

/// A DHCPv6 client under the controller's care.
pub struct V6Client {
    pub instance: Instance,
    pub config: V6ClientConfig,
    state: V6State,
    enabled: bool,
    status: ClientStatus,
    /// Why the last MAP configuration was refused, to log each reason once.
    map_error: Option<String>,
    supervisor: Option<Supervisor>,
    launch: SharedLaunchSpec,
    work_dir: PathBuf,
    /// TR-181 `Stats.` counters since the daemon started.
    stats: ClientStats,
    /// Settings waiting for the process to stop (see `ClientSet::configure`): what snapshots
    /// show meanwhile, so that TR-181 never sees the old settings come back.
    wanted: Option<V6ClientConfig>,
}

impl V6Client {
    fn prepare_work_dir(&self, svc: &Services) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.work_dir)?;
        let wrapper = self.work_dir.join(dibbler::WRAPPER_NAME);
        let script = dibbler::wrapper_script(
            &svc.dibbler_plugin,
            &svc.socket,
            &svc.spool_dir,
            self.config.alias.as_str(),
        );
        dhcpmgr_ipc::write_atomically(&wrapper, script.as_bytes())?;
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let conf = dibbler::client_conf(&self.config, &wrapper);
        dhcpmgr_ipc::write_atomically(&self.work_dir.join("client.conf"), conf.as_bytes())?;
        if let Some(duid) = &self.state.duid {
            let text = dibbler::duid_file(duid);
            dhcpmgr_ipc::write_atomically(&self.work_dir.join("client-duid"), text.as_bytes())?;
        }
        Ok(())
    }

    /// Applies one event from the plugin.
    pub async fn on_event(
        &mut self,
        event: &V6Event,
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
        let plan = v6::plan(event, &self.state.held, BootSeconds::now()).map_err(|e| {
            tracing::warn!(client = %self.config.alias, kind = event.kind.as_str(), error = %e, "refusing DHCPv6 lease");
            e.to_string()
        })?;
        tracing::info!(
            client = %self.config.alias,
            kind = event.kind.as_str(),
            addresses = plan.held.addresses.len(),
            prefixes = plan.held.prefixes.len(),
            "DHCPv6 event"
        );
        if !plan.dropped.is_empty() {
            let dropped: Vec<String> = plan.dropped.iter().map(ToString::to_string).collect();
            tracing::warn!(client = %self.config.alias, ?dropped, "DHCPv6 values left out");
        }
        self.state.last_event_unix_ms = origin.created_unix_ms;
        for message in [&event.client_message, &event.server_message] {
            if let Some(counter) = message.as_deref().and_then(v6_stats_counter) {
                count(&mut self.stats, counter);
            }
        }
        if self.state.duid.is_none() {
            self.adopt_dibbler_duid();
            self.publish(svc);
        }
        self.execute(plan, svc).await;
        Ok(())
    }

    /// Keeps the DUID dibbler-client made itself (no MAC address was known at first start).
    fn adopt_dibbler_duid(&mut self) {
        let path = self.work_dir.join("client-duid");
        if let Some(duid) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| HexBytes::parse(text.trim()).ok())
            .filter(|duid| !duid.0.is_empty())
        {
            tracing::info!(client = %self.config.alias, duid = %duid.to_hex(), "keeping dibbler-client's DUID");
            self.state.duid = Some(duid);
        }
    }

    /// Configure before remove, then persist and report.
    async fn execute(&mut self, plan: V6Plan, svc: &Services) {
        let interface = self.config.interface_name();
        for a in &plan.configure {
            if let Err(e) = svc
                .net
                .replace_v6(interface, a.address, a.preferred, a.valid)
                .await
            {
                tracing::error!(client = %self.config.alias, error = %e, "cannot configure IA_NA address");
            }
        }
        for address in &plan.remove {
            if let Err(e) = svc.net.del_v6(interface, *address).await {
                tracing::warn!(client = %self.config.alias, error = %e, "cannot remove IA_NA address");
            }
        }
        self.state.held = plan.held;
        self.persist(svc);
        if let Some(kind) = plan.event {
            let data = self.event_data();
            self.emit(kind, data, svc);
        }
        self.desire_sysevents(svc);
    }

    /// Hands the system events for the held lease to the runner, which sets what changed.
    fn desire_sysevents(&mut self, svc: &Services) {
        let asked = V6Asked {
            ia_na_iaid: IA_NA_IAID,
            ia_pd_iaid: IA_PD_IAID,
            t1: self.config.t1,
            t2: self.config.t2,
        };
        let mut next =
            sysevent::v6_sysevents(self.config.interface_name(), &self.state.held, &asked);
        if let Some(map) = self.map_sysevents() {
            next.extend(map);
        }
        let path = ClientKey::V6(self.instance).object_path();
        svc.sysevents.desire(&state_name(&self.config), &path, next);
    }

    /// The MAP keys for what the server sent, all or nothing: an invalid MAP configuration is
    /// logged (once per reason) and reported in the lease events, never half-applied.
    fn map_sysevents(&mut self) -> Option<SysEvents> {
        match v6::map_config(&self.state.held) {
            Some(Ok(config)) => {
                self.map_error = None;
                Some(crate::s46::sysevents(&config))
            }
            Some(Err(reason)) => {
                if self.map_error.as_ref() != Some(&reason) {
                    tracing::warn!(client = %self.config.alias, %reason, "ignoring the MAP configuration");
                    self.map_error = Some(reason);
                }
                None
            }
            None => {
                self.map_error = None;
                None
            }
        }
    }

    fn event_data(&self) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([(
            "interface".to_string(),
            self.config.interface_name().to_string(),
        )]);
        if let Some(a) = self.state.held.addresses.first() {
            data.insert("address".into(), a.lease.address.to_string());
        }
        if let Some(p) = self.state.held.prefixes.first() {
            data.insert(
                "prefix".into(),
                format!("{}/{}", p.lease.prefix, p.lease.length),
            );
        }
        data
    }

    /// Sends the current picture to the TR-181 thread.
    fn publish(&self, svc: &Services) {
        let _ = svc.updates.send(self.snapshot_update());
    }

    /// What the data model shows of the client.
    fn snapshot(&self) -> V6ClientSnapshot {
        V6ClientSnapshot {
            instance: self.instance,
            settings: self.wanted.as_ref().unwrap_or(&self.config).clone(),
            enable: self.wanted.as_ref().map_or(self.enabled, |w| w.enable),
            status: if self.enabled {
                self.status
            } else {
                ClientStatus::Disabled
            },
            duid: self
                .state
                .duid
                .as_ref()
                .map(HexBytes::to_hex)
                .unwrap_or_default(),
            received_options: self.state.held.options.clone(),
            map: v6::map_config(&self.state.held).and_then(Result::ok),
            stats: self.stats.clone(),
            waiting: None,
        }
    }

    fn emit(&self, kind: EventKind, data: BTreeMap<String, String>, svc: &Services) {
        let _ = svc.updates.send(ControllerUpdate::Event {
            object_path: format!("Device.DHCPv6.Client.{}", self.instance),
            kind,
            data,
        });
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
}

fn state_name(config: &V6ClientConfig) -> String {
    format!("v6-{}", config.alias)
}

/// A DUID-LLT from the interface's MAC address, made once.
/// `None` without an interface, or when it has no MAC address yet.
fn new_duid(config: &V6ClientConfig) -> Option<HexBytes> {
    let path = format!("/sys/class/net/{}/address", config.interface.as_ref()?);
    let mac = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| parse_mac(&s));
    let Some(mac) = mac else {
        tracing::warn!(client = %config.alias, interface = config.interface_name(), "no MAC address yet; dibbler-client will create the DUID");
        return None;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let duid = dibbler::duid_llt(mac, now);
    tracing::info!(client = %config.alias, duid = %duid.to_hex(), "created DUID");
    Some(duid)
}

impl ManagedClient for V6Client {
    type Settings = V6ClientConfig;
    const FAMILY: &'static str = "DHCPv6";

    fn key(instance: Instance) -> ClientKey {
        ClientKey::V6(instance)
    }

    fn settings(&self) -> &V6ClientConfig {
        &self.config
    }

    fn snapshot_update(&self) -> ControllerUpdate {
        ControllerUpdate::V6Client(Box::new(self.snapshot()))
    }

    fn replace_settings(&mut self, settings: V6ClientConfig) {
        self.config = settings;
    }

    fn set_wanted(&mut self, wanted: Option<V6ClientConfig>) {
        self.wanted = wanted;
    }

    /// dibbler-client has no renew signal: restart it keeping its bindings (SIGKILL); at start
    /// it confirms them with the server.
    fn renew_request() -> Request {
        Request::Restart
    }

    fn announce_removal(&self, svc: &Services) {
        let _ = svc
            .updates
            .send(ControllerUpdate::V6ClientRemoved(self.instance));
    }

    /// Loads the persisted state, creating the DUID on first use.
    async fn restore(instance: Instance, config: V6ClientConfig, svc: &Services) -> Self {
        let name = state_name(&config);
        let mut state: V6State = svc.store.load_or_default(&name, config.alias.as_str());
        let this_boot = boot_id();
        if state.boot_id != this_boot {
            state.held = HeldV6::default();
            state.boot_id = this_boot;
        }
        match v6::restored(std::mem::take(&mut state.held)) {
            Ok(held) => state.held = held,
            Err(e) => {
                tracing::warn!(client = %config.alias, error = %e, "stored DHCPv6 lease is unusable; not putting it back");
            }
        }
        if state.duid.is_none() {
            state.duid = new_duid(&config);
        }
        let work_dir = svc.run_dir.join(format!("dibbler-{}", config.alias));
        let launch = Arc::new(Mutex::new(LaunchSpec {
            program: svc.dibbler.clone(),
            args: vec!["run".into(), "-w".into(), work_dir.clone().into()],
            env: Vec::new(),
            pid_file: work_dir.join("client.pid"),
            cmdline_marker: "dibbler".into(),
            stop: DIBBLER_STOP,
        }));
        let mut client = Self {
            instance,
            enabled: config.enable,
            config,
            state,
            status: ClientStatus::Disabled,
            map_error: None,
            supervisor: None,
            launch,
            stats: ClientStats::new(),
            wanted: None,
            work_dir,
        };
        let now = BootSeconds::now();
        if !client.enabled && !client.state.held.is_empty() {
            tracing::info!(client = %client.config.alias, "client is disabled: its stored lease is dropped, its addresses removed");
            let plan = v6::drop_all(&client.state.held);
            client.execute(plan, svc).await;
        } else if client.state.held.next_expiry().is_some_and(|e| e <= now) {
            let plan = v6::expire(&client.state.held, now);
            client.execute(plan, svc).await;
        }
        client.persist(svc);
        client.desire_sysevents(svc);
        client
    }

    /// Writes the work directory and starts dibbler-client when enabled.
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
        if self.state.duid.is_none() {
            self.state.duid = new_duid(&self.config);
            self.persist(svc);
        }
        if let Err(e) = self.prepare_work_dir(svc) {
            tracing::error!(client = %self.config.alias, dir = %self.work_dir.display(), error = %e, "cannot prepare dibbler's work directory");
            self.status = ClientStatus::ErrorMisconfigured;
            self.emit(EventKind::ClientFailed, BTreeMap::new(), svc);
            self.publish(svc);
            return;
        }
        self.status = ClientStatus::Enabled;
        self.supervisor = Some(Supervisor::start(
            ClientKey::V6(self.instance),
            self.launch.clone(),
            RestartPolicy::default(),
            svc.reports.clone(),
        ));
        self.publish(svc);
    }

    /// Stops dibbler-client, releasing only when asked; otherwise the lease stays.
    async fn stop(&mut self, release: bool) {
        if let Some(sup) = self.supervisor.take() {
            sup.stop(release).await;
        }
    }

    fn supervisor(&self) -> Option<&Supervisor> {
        self.supervisor.as_ref()
    }

    fn begin_stop(&mut self, _release: bool) -> Option<Supervisor> {
        self.supervisor.clone()
    }

    fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// After a release or disable: the lease is dropped locally whatever the client did.
    async fn finish_stop(&mut self, svc: &Services) {
        self.supervisor = None;
        self.enabled = false;
        let plan = v6::drop_all(&self.state.held);
        self.execute(plan, svc).await;
        self.publish(svc);
    }

    /// When the next address or prefix runs out.
    fn expires(&self) -> Option<BootSeconds> {
        self.state.held.next_expiry()
    }

    /// Addresses or prefixes ran out: dibbler-client says nothing then, the daemon acts.
    async fn on_expiry(&mut self, svc: &Services) {
        let plan = v6::expire(&self.state.held, BootSeconds::now());
        if plan.event.is_some() {
            tracing::warn!(client = %self.config.alias, "DHCPv6 lease ran out without renewal");
            self.execute(plan, svc).await;
        }
    }

    fn on_report(&mut self, report: Report, svc: &Services) {
        let kind = match report {
            Report::Started { pid } => {
                tracing::info!(client = %self.config.alias, pid, "dibbler-client started");
                EventKind::ClientStarted
            }
            Report::Exited { status, quick } => {
                tracing::warn!(client = %self.config.alias, %status, quick, "dibbler-client ended unexpectedly");
                EventKind::ClientFailed
            }
            Report::GaveUp { failures } => {
                tracing::error!(client = %self.config.alias, failures, "dibbler-client keeps dying; giving up until restarted");
                self.status = ClientStatus::Error;
                EventKind::ClientFailed
            }
            Report::Stopped => EventKind::ClientStopped,
        };
        if kind == EventKind::ClientStarted {
            self.status = ClientStatus::Enabled;
        }
        self.emit(kind, BTreeMap::new(), svc);
        self.publish(svc);
    }

    /// Forgets the client (removed from the configuration): its state and work directory.
    fn forget(&self, svc: &Services) {
        if let Err(e) = svc.store.remove(&state_name(&self.config)) {
            tracing::warn!(client = %self.config.alias, error = %e, "cannot delete client state");
        }
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// The TR-181 `Stats.` counter of a DHCPv6 message as dibbler-client names it
/// (`CLNT_MESSAGE`/`SRV_MESSAGE`: `SOLICIT`, `REPLY`, `INFORMATION-REQUEST`, …).
fn v6_stats_counter(message: &str) -> Option<&'static str> {
    Some(
        match message.to_ascii_uppercase().replace('_', "-").as_str() {
            "SOLICIT" => "Solicit",
            "ADVERTISE" => "Advertise",
            "REQUEST" => "Request",
            "CONFIRM" => "Confirm",
            "RENEW" => "Renew",
            "REBIND" => "Rebind",
            "REPLY" => "Reply",
            "RELEASE" => "Release",
            "DECLINE" => "Decline",
            "RECONFIGURE" => "Reconfigure",
            "INFORMATION-REQUEST" | "INF-REQUEST" => "InformationRequest",
            _ => return None,
        },
    )
}
