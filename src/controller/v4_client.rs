//! The DHCPv4 family of [`Client`](super::client::Client): udhcpc's launch spec, the persisted
//! state, and the effects of each lease event (netlink, persistence, system events, TR-181
//! updates), applied in that order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::Ipv4Addr;

use dhcpmgr_ipc::{V4Event, V4EventKind};
use serde::{Deserialize, Serialize};

use super::client::{store_state, Core, EventOrigin, Family};
use super::errors::{EventError, NotStored, StartError};
use super::services::Services;
use super::supervisor::{LaunchSpec, Request, StopStyle};
use super::udhcpc::{client_id_from_mac, parse_mac, udhcpc_args, LaunchContext};
use crate::boottime::{boot_id, BootSeconds};
use crate::channels::ControllerUpdate;
use crate::config::{HexBytes, V4ClientConfig};
use crate::lease::v4::{self, HeldLease, Plan, Situation};
use crate::model::ClientKey;
use crate::model::DhcpStatus;
use crate::model::V4Addr;
use crate::model::{count, Instance, V4ClientSnapshot};
use crate::sysevent::{self, SysEvents};

/// udhcpc keeps its lease on SIGTERM (we never pass `-R`) and releases on SIGUSR2.
pub(super) const UDHCPC_STOP: StopStyle = StopStyle {
    keep_lease: nix::sys::signal::Signal::SIGTERM,
    release: nix::sys::signal::Signal::SIGUSR2,
};

/// What survives a daemon restart for one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct V4State {
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

/// The DHCPv4 side of a client: its persisted state and the udhcpc process it last heard.
pub(super) struct V4 {
    state: V4State,
    dhcp_status: DhcpStatus,
    /// The udhcpc process the last event came from: the first event of another process is
    /// that process's opening `deconfig`, which must not tear down a valid lease.
    last_event_pid: Option<u32>,
    /// The last write of the state failed: it is written again at the next chance.
    unsaved: bool,
}

/// What a DHCPv4 client shares with the other family.
type V4Core = Core<V4ClientConfig>;

impl V4 {
    /// Carries out `plan`: add before remove, then persist, publish, and report.
    /// `Err(Passing)` when the address could not be added (nothing changed) or the new state
    /// could not be stored (it is in force and stored again later).
    async fn execute(
        &mut self,
        core: &V4Core,
        plan: Plan,
        svc: &Services,
    ) -> Result<(), EventError> {
        let early = svc.sysevents.before_configuring();
        if early {
            desire_sysevents(core, plan.held.as_ref(), svc);
        }
        let interface = core.interface();
        if let Some(add) = plan.add {
            svc.net.add_v4(interface, add).await.map_err(|e| {
                tracing::error!(client = %core.alias(), error = %e, "cannot configure address");
                EventError::Configure(e)
            })?;
        }
        if let Some(held) = &plan.held {
            apply_link_settings(core, held, svc).await;
        }
        if let Some(remove) = plan.remove {
            remove_old_address(core, remove, plan.add, svc).await;
        }
        if let Some(held) = &plan.held {
            self.state.remembered_address = Some(held.lease.address);
        }
        let lease_changed = self.state.held != plan.held;
        self.state.held = plan.held;
        self.dhcp_status = plan.dhcp_status;
        if lease_changed {
            self.refresh_launch(core, svc);
        }
        let stored = self.persist(core, svc);
        let _ = svc.updates.send(self.snapshot(core));
        if let Some(kind) = plan.event {
            core.emit(kind, self.event_data(core), svc);
        }
        if !early {
            desire_sysevents(core, self.state.held.as_ref(), svc);
        }
        Ok(stored?)
    }

    fn event_data(&self, core: &V4Core) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([("interface".to_string(), core.interface().to_string())]);
        if let Some(held) = &self.state.held {
            data.insert("address".into(), held.lease.address.to_string());
            data.insert("prefix_len".into(), held.lease.prefix_len.to_string());
            if let Some(secs) = held.lease.lease_secs {
                data.insert("lease_time".into(), secs.to_string());
            }
        }
        data
    }

    /// Writes the state; on failure it is written again at the next chance (`store_again`).
    fn persist(&mut self, core: &V4Core, svc: &Services) -> Result<(), NotStored> {
        self.state.interface = core
            .settings
            .interface
            .as_ref()
            .map(|i| i.as_str().to_owned());
        let name = state_name(&core.settings);
        store_state(core, svc, &name, &self.state, &mut self.unsaved)
    }

    /// Puts the address to ask for (`-r`) and the client identifier on udhcpc's command line.
    fn refresh_launch(&self, core: &V4Core, svc: &Services) {
        let pid_file = pid_file(&core.settings, svc);
        let requested = self
            .state
            .held
            .as_ref()
            .map(|h| h.lease.address)
            .or(self.state.remembered_address);
        let ctx = LaunchContext {
            plugin: &svc.programs.plugin,
            pid_file: &pid_file,
            client_id: self.state.client_id.as_ref(),
            requested_address: requested,
        };
        let mut args = svc.programs.udhcpc.leading_args.clone();
        args.extend(udhcpc_args(&core.settings, &ctx));
        let env: Vec<(String, OsString)> = vec![
            (dhcpmgr_ipc::ENV_SOCKET.into(), svc.socket.clone().into()),
            (
                dhcpmgr_ipc::ENV_SPOOL_DIR.into(),
                svc.spool_dir.clone().into(),
            ),
            (dhcpmgr_ipc::ENV_CLIENT.into(), core.alias().as_str().into()),
        ];
        let mut launch = match core.launch.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        launch.program = svc.programs.udhcpc.program.clone();
        launch.args = args;
        launch.env = env;
        launch.pid_file = pid_file;
    }
}

/// Hands the system events for `held` to the ledger, which sets what changed.
fn desire_sysevents(core: &V4Core, held: Option<&HeldLease>, svc: &Services) {
    let values = sysevent::v4_sysevents(
        core.interface(),
        held.map(|h| &h.lease),
        held.map_or(0, |h| h.obtained.0),
    );
    let owner = state_name(&core.settings);
    svc.sysevents
        .desire(&owner, &core.key.object_path(), values);
}

/// Removes the previous lease's address, keeping `kept` (the new one) on the interface.
async fn remove_old_address(core: &V4Core, old: V4Addr, kept: Option<V4Addr>, svc: &Services) {
    let interface = core.interface();
    if let Err(e) = svc.net.promote_secondaries(interface) {
        tracing::warn!(client = %core.alias(), error = %e, "cannot enable promote_secondaries");
    }
    if let Err(e) = svc.net.del_v4(interface, old).await {
        tracing::warn!(client = %core.alias(), error = %e, "cannot remove old address");
    }
    let Some(kept) = kept else { return };
    if let Ok(false) = svc.net.has_v4(interface, kept).await {
        tracing::warn!(client = %core.alias(), address = %kept, "new address went with the old one; adding it again");
        if let Err(e) = svc.net.add_v4(interface, kept).await {
            tracing::error!(client = %core.alias(), error = %e, "cannot configure address");
        }
    }
}

async fn apply_link_settings(core: &V4Core, held: &HeldLease, svc: &Services) {
    let interface = core.interface();
    if let Some(mtu) = v4::usable_mtu(&held.lease) {
        match svc.net.mtu(interface).await {
            Ok(Some(current)) if current == u32::from(mtu) => {}
            _ => {
                if let Err(e) = svc.net.set_mtu(interface, u32::from(mtu)).await {
                    tracing::warn!(client = %core.alias(), mtu, error = %e, "cannot apply MTU from option 26");
                }
            }
        }
    }
    if core.settings.default_route {
        if let Some(gw) = held.lease.routers.first() {
            if let Err(e) = svc.net.replace_default_route(interface, *gw).await {
                tracing::warn!(client = %core.alias(), error = %e, "cannot install default route");
            }
        }
    }
}

/// Says what a lease check left out, if anything.
fn log_dropped(core: &V4Core, dropped: &[v4::Dropped], what: &'static str) {
    if !dropped.is_empty() {
        let dropped: Vec<String> = dropped.iter().map(ToString::to_string).collect();
        tracing::warn!(client = %core.alias(), ?dropped, "{what}");
    }
}

fn state_name(config: &V4ClientConfig) -> String {
    format!("v4-{}", config.alias)
}

fn pid_file(config: &V4ClientConfig, svc: &Services) -> std::path::PathBuf {
    svc.run_dir.join(format!("udhcpc-{}.pid", config.alias))
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

impl Family for V4 {
    type Settings = V4ClientConfig;
    type Event = V4Event;
    const NAME: &'static str = "DHCPv4";
    const PROGRAM: &'static str = "udhcpc";
    const NEEDS_LINK_LOCAL: bool = false;

    fn key(instance: Instance) -> ClientKey {
        ClientKey::V4(instance)
    }

    fn launch_spec(settings: &V4ClientConfig, svc: &Services) -> LaunchSpec {
        LaunchSpec {
            program: svc.programs.udhcpc.program.clone(),
            args: Vec::new(),
            env: Vec::new(),
            pid_file: pid_file(settings, svc),
            cmdline_marker: "udhcpc".into(),
            stop: UDHCPC_STOP,
        }
    }

    /// Loads the client's persisted state and puts a still-valid lease back on the interface.
    async fn restore(core: &mut V4Core, svc: &Services) -> Self {
        let config = &core.settings;
        let mut state: V4State = svc
            .store
            .load_or_default(&state_name(config), config.alias.as_str());
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
                    log_dropped(core, &dropped, "stored lease values left out");
                    state.held = Some(held);
                }
                Err(e) => {
                    tracing::warn!(client = %core.alias(), error = %e, "stored lease is unusable; not putting it back");
                }
            }
        }
        if state.client_id.is_none() {
            state.client_id = config
                .client_id
                .clone()
                .or_else(|| derive_client_id(config));
        }
        let mut family = Self {
            state,
            dhcp_status: DhcpStatus::Init,
            last_event_pid: None,
            unsaved: false,
        };
        let now = BootSeconds::now();
        if let Some(held) = family.state.held.clone() {
            if !core.enabled {
                tracing::info!(client = %core.alias(), "client is disabled: its stored lease is not put back, its address is removed");
                let _ = family.execute(core, v4::expire(&held), svc).await;
            } else if held.is_expired(now) {
                tracing::info!(client = %core.alias(), "persisted lease expired while the daemon was down");
                let _ = family.execute(core, v4::expire(&held), svc).await;
            } else if let Err(e) = svc.net.add_v4(core.interface(), held.addr()).await {
                tracing::warn!(client = %core.alias(), error = %e, "cannot restore leased address");
            } else {
                family.dhcp_status = DhcpStatus::Bound;
            }
        }
        let _ = family.persist(core, svc);
        desire_sysevents(core, family.state.held.as_ref(), svc);
        family
    }

    fn prepare_start(&mut self, core: &V4Core, svc: &Services) -> Result<(), StartError> {
        if self.state.client_id.is_none() {
            self.state.client_id = core
                .settings
                .client_id
                .clone()
                .or_else(|| derive_client_id(&core.settings));
            let _ = self.persist(core, svc);
        }
        self.refresh_launch(core, svc);
        Ok(())
    }

    fn event_kind(event: &V4Event) -> &'static str {
        event.kind.as_str()
    }

    fn last_event_unix_ms(&self) -> u64 {
        self.state.last_event_unix_ms
    }

    async fn apply_event(
        &mut self,
        core: &mut V4Core,
        event: &V4Event,
        origin: EventOrigin,
        svc: &Services,
    ) -> Result<(), EventError> {
        let situation = Situation {
            held: self.state.held.as_ref(),
            fresh_client: self.last_event_pid != Some(origin.client_pid),
            releasing: core.releasing,
            now: BootSeconds::now(),
        };
        let plan = v4::plan(event, situation).map_err(|e| {
            tracing::debug!(client = %core.alias(), kind = event.kind.as_str(), error = %e, "refusing lease");
            EventError::from(e)
        })?;
        tracing::info!(client = %core.alias(), kind = event.kind.as_str(), add = ?plan.add, remove = ?plan.remove, "lease event");
        log_dropped(core, &plan.dropped, "lease values left out");
        self.last_event_pid = Some(origin.client_pid);
        // udhcpc reports the server's answers only: an ACK binds or renews, a NAK resets.
        match event.kind {
            V4EventKind::Bound | V4EventKind::Renew => count(&mut core.stats, "ACK"),
            V4EventKind::Nak => count(&mut core.stats, "NACK"),
            V4EventKind::Deconfig | V4EventKind::Leasefail => {}
        }
        self.state.last_event_unix_ms = origin.created_unix_ms;
        self.execute(core, plan, svc).await
    }

    fn holds_lease(&self) -> bool {
        self.state.held.is_some()
    }

    fn store_again(&mut self, core: &V4Core, svc: &Services) {
        if self.unsaved && self.persist(core, svc).is_ok() {
            tracing::info!(client = %core.alias(), "client state stored again");
        }
    }

    async fn drop_lease(&mut self, core: &mut V4Core, svc: &Services) {
        if let Some(held) = self.state.held.clone() {
            let _ = self.execute(core, v4::expire(&held), svc).await;
        }
    }

    async fn lease_back(&mut self, core: &V4Core, svc: &Services) {
        if let Some(held) = &self.state.held {
            if let Err(e) = svc.net.add_v4(core.interface(), held.addr()).await {
                tracing::warn!(client = %core.alias(), error = %e, "cannot put the leased address back");
            }
        }
    }

    /// udhcpc renews on SIGUSR1.
    fn renew_request() -> Request {
        Request::Signal(nix::sys::signal::Signal::SIGUSR1)
    }

    /// When the held lease runs out, if it can.
    fn expires(&self) -> Option<BootSeconds> {
        self.state.held.as_ref().and_then(|h| h.expires)
    }

    /// The held lease ran out: take the address away.
    async fn on_expiry(&mut self, core: &mut V4Core, svc: &Services) {
        if let Some(held) = self.state.held.clone() {
            tracing::warn!(client = %core.alias(), address = %held.addr(), "lease expired without renewal");
            let _ = self.execute(core, v4::expire(&held), svc).await;
        }
    }

    fn snapshot(&self, core: &V4Core) -> ControllerUpdate {
        ControllerUpdate::V4Client(Box::new(V4ClientSnapshot {
            instance: core.instance,
            settings: core.shown_settings().clone(),
            enable: core.shown_enable(),
            status: core.shown_status(),
            dhcp_status: self.dhcp_status,
            lease: self.state.held.as_ref().map(|h| h.lease.clone()),
            lease_expires: self.expires(),
            stats: core.stats.clone(),
            waiting: core.link.waiting.clone(),
        }))
    }

    fn removed(instance: Instance) -> ControllerUpdate {
        ControllerUpdate::V4ClientRemoved(instance)
    }

    /// Forgets the client's persisted state (it was removed from the configuration).
    fn forget(&self, core: &V4Core, svc: &Services) {
        if let Err(e) = svc.store.remove(&state_name(&core.settings)) {
            tracing::warn!(client = %core.alias(), error = %e, "cannot delete client state");
        }
    }
}
