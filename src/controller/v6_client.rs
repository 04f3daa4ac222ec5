//! The DHCPv6 family of [`Client`](super::client::Client): persisted state (the DUID, created
//! once and kept for ever), the held addresses and prefixes, dibbler-client's work directory and
//! launch spec, and the effects of each event (netlink, persistence, system events, D-Bus).
//!
//! dibbler-client 1.0.1 releases IA_NA and IA_PD on SIGTERM, so every stop that must keep the
//! customer's prefix (crash recovery, daemon restart, reload, disable) uses SIGKILL; after it
//! dibbler keeps its state in the work directory and gets the same prefix back. Only an explicit
//! release (or disable with `release_on_disable`) sends SIGTERM.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dhcpmgr_ipc::V6Event;
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use super::addr_mgr;
use super::client::{store_state, Core, EventOrigin, Family};
use super::dibbler;
use super::errors::{EventError, NotStored, StartError};
use super::services::Services;
use super::supervisor::{LaunchSpec, Request, StopStyle};
use super::udhcpc::parse_mac;
use crate::boottime::{boot_id, BootSeconds};
use crate::channels::ControllerUpdate;
use crate::config::{HexBytes, V6ClientConfig};
use crate::lease::v6::{self, HeldV6, V6Plan};
use crate::model::ClientKey;
use crate::model::{count, Instance, V6ClientSnapshot};
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
pub(super) struct V6State {
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

/// The DHCPv6 side of a client: its persisted state and dibbler-client's work directory.
pub(super) struct V6 {
    state: V6State,
    /// Why the last MAP configuration was refused, to log each reason once.
    map_error: Option<v6::MapConfigError>,
    work_dir: PathBuf,
    /// The last write of the state failed: it is written again at the next chance.
    unsaved: bool,
}

/// What a DHCPv6 client shares with the other family.
type V6Core = Core<V6ClientConfig>;

impl V6 {
    fn prepare_work_dir(&self, core: &V6Core, svc: &Services) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.work_dir)?;
        let wrapper = self.work_dir.join(dibbler::WRAPPER_NAME);
        let script = dibbler::wrapper_script(
            &svc.programs.dibbler_plugin,
            &svc.socket,
            &svc.spool_dir,
            core.alias().as_str(),
        );
        dhcpmgr_ipc::write_atomically(&wrapper, script.as_bytes())?;
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let conf = dibbler::client_conf(&core.settings, &wrapper);
        dhcpmgr_ipc::write_atomically(&self.work_dir.join("client.conf"), conf.as_bytes())?;
        if let Some(duid) = &self.state.duid {
            let text = dibbler::duid_file(duid);
            dhcpmgr_ipc::write_atomically(&self.work_dir.join("client-duid"), text.as_bytes())?;
        }
        Ok(())
    }

    /// An `add` event for the bindings in dibbler-client's bindings file when they differ from
    /// the held ones (a rapid-commit lease no script reported); `None` when the file is missing,
    /// refused (logged), empty, or holds what the daemon already holds.
    pub(super) fn bindings_event(&self, core: &V6Core) -> Option<V6Event> {
        let path = self.work_dir.join(addr_mgr::FILE_NAME);
        let text = std::fs::read_to_string(&path).ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let bindings = match addr_mgr::parse(&text, core.interface(), now) {
            Ok(bindings) => bindings,
            Err(e) => {
                tracing::warn!(client = %core.alias(), file = %path.display(), error = %e, "refusing dibbler's bindings file; nothing changed");
                return None;
            }
        };
        let held = &self.state.held;
        let same = bindings
            .addresses
            .iter()
            .map(|a| a.address)
            .eq(held.addresses.iter().map(|a| a.lease.address))
            && bindings
                .prefixes
                .iter()
                .map(|p| (p.prefix, p.length))
                .eq(held
                    .prefixes
                    .iter()
                    .map(|p| (p.lease.prefix, p.lease.length)));
        if same || (bindings.addresses.is_empty() && bindings.prefixes.is_empty()) {
            return None;
        }
        Some(V6Event {
            interface: core.interface().to_string(),
            kind: dhcpmgr_ipc::V6EventKind::Add,
            addresses: bindings.addresses,
            prefixes: bindings.prefixes,
            server_options: BTreeMap::new(),
            remote_addr: None,
            client_message: None,
            server_message: None,
            ia_na: None,
            ia_pd: None,
        })
    }

    /// Keeps the DUID dibbler-client made itself (no MAC address was known at first start).
    fn adopt_dibbler_duid(&mut self, core: &V6Core) {
        let path = self.work_dir.join("client-duid");
        if let Some(duid) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| HexBytes::parse(text.trim()).ok())
            .filter(|duid| !duid.0.is_empty())
        {
            tracing::info!(client = %core.alias(), duid = %duid.to_hex(), "keeping dibbler-client's DUID");
            self.state.duid = Some(duid);
        }
    }

    /// Configure before remove, then persist, publish and report. `Err(Passing)` when the
    /// state could not be stored (what changed is in force and stored again later).
    async fn execute(
        &mut self,
        core: &V6Core,
        plan: V6Plan,
        svc: &Services,
    ) -> Result<(), EventError> {
        let interface = core.interface();
        for a in &plan.configure {
            if let Err(e) = svc
                .net
                .replace_v6(interface, a.address, a.preferred, a.valid)
                .await
            {
                tracing::error!(client = %core.alias(), error = %e, "cannot configure IA_NA address");
            }
        }
        for address in &plan.remove {
            if let Err(e) = svc.net.del_v6(interface, *address).await {
                tracing::warn!(client = %core.alias(), error = %e, "cannot remove IA_NA address");
            }
        }
        self.state.held = plan.held;
        let stored = self.persist(core, svc);
        let _ = svc.updates.send(self.snapshot(core));
        if let Some(kind) = plan.event {
            core.emit(kind, self.event_data(core), svc);
        }
        self.desire_sysevents(core, svc);
        Ok(stored?)
    }

    /// Hands the system events for the held lease to the ledger, which sets what changed.
    fn desire_sysevents(&mut self, core: &V6Core, svc: &Services) {
        let asked = V6Asked {
            ia_na_iaid: IA_NA_IAID,
            ia_pd_iaid: IA_PD_IAID,
            t1: core.settings.t1,
            t2: core.settings.t2,
        };
        let mut next = sysevent::v6_sysevents(core.interface(), &self.state.held, &asked);
        if let Some(map) = self.map_sysevents(core) {
            next.extend(map);
        }
        let owner = state_name(&core.settings);
        svc.sysevents.desire(&owner, &core.key.object_path(), next);
    }

    /// The MAP keys for what the server sent, all or nothing: an invalid MAP configuration is
    /// logged (once per reason) and reported in the lease events, never half-applied.
    fn map_sysevents(&mut self, core: &V6Core) -> Option<SysEvents> {
        match v6::map_config(&self.state.held) {
            Some(Ok(config)) => {
                self.map_error = None;
                Some(crate::s46::sysevents(&config))
            }
            Some(Err(reason)) => {
                if self.map_error.as_ref() != Some(&reason) {
                    tracing::warn!(client = %core.alias(), %reason, "ignoring the MAP configuration");
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

    fn event_data(&self, core: &V6Core) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([("interface".to_string(), core.interface().to_string())]);
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

    /// Writes the state; on failure it is written again at the next chance (`store_again`).
    fn persist(&mut self, core: &V6Core, svc: &Services) -> Result<(), NotStored> {
        self.state.interface = core
            .settings
            .interface
            .as_ref()
            .map(|i| i.as_str().to_owned());
        let name = state_name(&core.settings);
        store_state(core, svc, &name, &self.state, &mut self.unsaved)
    }
}

fn state_name(config: &V6ClientConfig) -> String {
    format!("v6-{}", config.alias)
}

fn work_dir(config: &V6ClientConfig, svc: &Services) -> PathBuf {
    svc.run_dir.join(format!("dibbler-{}", config.alias))
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

impl Family for V6 {
    type Settings = V6ClientConfig;
    type Event = V6Event;
    const NAME: &'static str = "DHCPv6";
    const PROGRAM: &'static str = "dibbler-client";
    const NEEDS_LINK_LOCAL: bool = true;

    fn key(instance: Instance) -> ClientKey {
        ClientKey::V6(instance)
    }

    fn launch_spec(settings: &V6ClientConfig, svc: &Services) -> LaunchSpec {
        let work_dir = work_dir(settings, svc);
        LaunchSpec {
            program: svc.programs.dibbler.clone(),
            args: vec!["run".into(), "-w".into(), work_dir.clone().into()],
            env: Vec::new(),
            pid_file: work_dir.join("client.pid"),
            cmdline_marker: "dibbler".into(),
            stop: DIBBLER_STOP,
        }
    }

    /// Loads the persisted state, creating the DUID on first use.
    async fn restore(core: &mut V6Core, svc: &Services) -> Self {
        let config = &core.settings;
        let mut state: V6State = svc
            .store
            .load_or_default(&state_name(config), config.alias.as_str());
        let this_boot = boot_id();
        if state.boot_id != this_boot {
            state.held = HeldV6::default();
            state.boot_id = this_boot;
        }
        match v6::restored(std::mem::take(&mut state.held)) {
            Ok(held) => state.held = held,
            Err(e) => {
                tracing::warn!(client = %core.alias(), error = %e, "stored DHCPv6 lease is unusable; not putting it back");
            }
        }
        if state.duid.is_none() {
            state.duid = new_duid(config);
        }
        let mut family = Self {
            state,
            map_error: None,
            work_dir: work_dir(config, svc),
            unsaved: false,
        };
        let now = BootSeconds::now();
        if !core.enabled && !family.state.held.is_empty() {
            tracing::info!(client = %core.alias(), "client is disabled: its stored lease is dropped, its addresses removed");
            let plan = v6::drop_all(&family.state.held);
            let _ = family.execute(core, plan, svc).await;
        } else if family.state.held.next_expiry().is_some_and(|e| e <= now) {
            let plan = v6::expire(&family.state.held, now);
            let _ = family.execute(core, plan, svc).await;
        }
        let _ = family.persist(core, svc);
        family.desire_sysevents(core, svc);
        family
    }

    /// Writes the work directory.
    fn prepare_start(&mut self, core: &V6Core, svc: &Services) -> Result<(), StartError> {
        if self.state.duid.is_none() {
            self.state.duid = new_duid(&core.settings);
            let _ = self.persist(core, svc);
        }
        self.prepare_work_dir(core, svc)
            .map_err(|source| StartError::WorkDir {
                dir: self.work_dir.clone(),
                source,
            })?;
        if core.settings.rapid_commit {
            if let Some(watch) = &svc.bindings {
                if let Err(e) = watch.watch(&self.work_dir, core.key) {
                    tracing::warn!(client = %core.alias(), error = %e, "cannot watch dibbler's bindings file; a rapid-commit lease waits for T1");
                }
            }
        }
        Ok(())
    }

    fn event_kind(event: &V6Event) -> &'static str {
        event.kind.as_str()
    }

    fn last_event_unix_ms(&self) -> u64 {
        self.state.last_event_unix_ms
    }

    async fn apply_event(
        &mut self,
        core: &mut V6Core,
        event: &V6Event,
        origin: EventOrigin,
        svc: &Services,
    ) -> Result<(), EventError> {
        let plan = v6::plan(event, &self.state.held, BootSeconds::now()).map_err(|e| {
            tracing::debug!(client = %core.alias(), kind = event.kind.as_str(), error = %e, "refusing DHCPv6 lease");
            EventError::from(e)
        })?;
        tracing::info!(
            client = %core.alias(),
            kind = event.kind.as_str(),
            addresses = plan.held.addresses.len(),
            prefixes = plan.held.prefixes.len(),
            "DHCPv6 event"
        );
        if !plan.dropped.is_empty() {
            let dropped: Vec<String> = plan.dropped.iter().map(ToString::to_string).collect();
            tracing::warn!(client = %core.alias(), ?dropped, "DHCPv6 values left out");
        }
        self.state.last_event_unix_ms = origin.created_unix_ms;
        for message in [&event.client_message, &event.server_message] {
            if let Some(counter) = message.as_deref().and_then(v6_stats_counter) {
                count(&mut core.stats, counter);
            }
        }
        if self.state.duid.is_none() {
            self.adopt_dibbler_duid(core);
        }
        self.execute(core, plan, svc).await
    }

    fn holds_lease(&self) -> bool {
        !self.state.held.is_empty()
    }

    fn store_again(&mut self, core: &V6Core, svc: &Services) {
        if self.unsaved && self.persist(core, svc).is_ok() {
            tracing::info!(client = %core.alias(), "client state stored again");
        }
    }

    async fn drop_lease(&mut self, core: &mut V6Core, svc: &Services) {
        let plan = v6::drop_all(&self.state.held);
        let _ = self.execute(core, plan, svc).await;
    }

    /// Puts the held IA_NA addresses back with what is left of their lifetimes.
    async fn lease_back(&mut self, core: &V6Core, svc: &Services) {
        let now = BootSeconds::now();
        for held in &self.state.held.addresses {
            let left = |secs: u32| match secs {
                u32::MAX => u32::MAX,
                secs => {
                    let end = held.obtained.0.saturating_add(u64::from(secs));
                    u32::try_from(end.saturating_sub(now.0)).unwrap_or(u32::MAX)
                }
            };
            let valid = left(held.lease.valid);
            if valid == 0 {
                continue;
            }
            let address = held.lease.address;
            match svc
                .net
                .replace_v6(core.interface(), address, left(held.lease.preferred), valid)
                .await
            {
                Ok(()) => {
                    tracing::info!(client = %core.alias(), %address, "IA_NA address put back")
                }
                Err(e) => {
                    tracing::warn!(client = %core.alias(), %address, error = %e, "cannot put the IA_NA address back")
                }
            }
        }
    }

    /// dibbler-client has no renew signal: restart it keeping its bindings (SIGKILL); at start
    /// it confirms them with the server.
    fn renew_request() -> Request {
        Request::Restart
    }

    /// When the next address or prefix runs out.
    fn expires(&self) -> Option<BootSeconds> {
        self.state.held.next_expiry()
    }

    /// Addresses or prefixes ran out: dibbler-client says nothing then, the daemon acts.
    async fn on_expiry(&mut self, core: &mut V6Core, svc: &Services) {
        let plan = v6::expire(&self.state.held, BootSeconds::now());
        if plan.event.is_some() {
            tracing::warn!(client = %core.alias(), "DHCPv6 lease ran out without renewal");
            let _ = self.execute(core, plan, svc).await;
        }
    }

    /// What the data model shows of the client.
    fn snapshot(&self, core: &V6Core) -> ControllerUpdate {
        ControllerUpdate::V6Client(Box::new(V6ClientSnapshot {
            instance: core.instance,
            settings: core.shown_settings().clone(),
            enable: core.shown_enable(),
            status: core.shown_status(),
            duid: self
                .state
                .duid
                .as_ref()
                .map(HexBytes::to_hex)
                .unwrap_or_default(),
            received_options: self.state.held.options.clone(),
            map: v6::map_config(&self.state.held).and_then(Result::ok),
            addresses: self.state.held.addresses.clone(),
            prefixes: self.state.held.prefixes.clone(),
            stats: core.stats.clone(),
            waiting: core.link.waiting.clone(),
        }))
    }

    fn removed(instance: Instance) -> ControllerUpdate {
        ControllerUpdate::V6ClientRemoved(instance)
    }

    /// Forgets the client (removed from the configuration): its state and work directory.
    fn forget(&self, core: &V6Core, svc: &Services) {
        if let Err(e) = svc.store.remove(&state_name(&core.settings)) {
            tracing::warn!(client = %core.alias(), error = %e, "cannot delete client state");
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
