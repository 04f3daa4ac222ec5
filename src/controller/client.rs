//! One client of either family as the controller keeps it: [`Client`] owns what both families
//! share (instance, settings, enabled, status, supervisor, launch spec, stats, settings waiting
//! for a stop, what it waits for on its link) and decides starting, stopping, supervisor
//! reports and link changes once; its [`Family`] supplies only what differs (the launch spec,
//! restore, the lease plans and their execution, how the process stops with and without
//! release).

use std::collections::BTreeMap;
use std::future::Future;

use super::errors::{EventError, NotStored, StartError};
use super::services::Services;
use super::supervisor::{LaunchSpec, Report, Request, SharedLaunchSpec, Supervisor};
use crate::boottime::BootSeconds;
use crate::channels::{ClientConfig, ControllerUpdate};
use crate::config::{ClientAlias, ClientSettings, InterfaceName};
use crate::model::ClientKey;
use crate::model::EventKind;
use crate::model::{ClientStats, ClientStatus, Instance, Waiting};

/// What differs between DHCPv4 and DHCPv6 clients.
pub(super) trait Family: Sized {
    type Settings: ClientSettings + TryFrom<ClientConfig>;
    /// A lease event from the family's plugin.
    type Event;
    /// `DHCPv4` or `DHCPv6`, for messages.
    const NAME: &'static str;
    /// The DHCP client program, for messages.
    const PROGRAM: &'static str;
    /// Whether the client needs a link-local address past DAD before it can start.
    const NEEDS_LINK_LOCAL: bool;

    fn key(instance: Instance) -> ClientKey;
    /// How the process is started (the program, its pid file, how it stops with and without
    /// release); [`Self::prepare_start`] fills in the rest before every start.
    fn launch_spec(settings: &Self::Settings, svc: &Services) -> LaunchSpec;
    /// Loads the persisted state and puts a still-valid lease back.
    fn restore(core: &mut Core<Self::Settings>, svc: &Services) -> impl Future<Output = Self>;
    /// Readies what the process needs before a start; `Err` says why it cannot start.
    fn prepare_start(
        &mut self,
        core: &Core<Self::Settings>,
        svc: &Services,
    ) -> Result<(), StartError>;
    /// The `kind` of `event`, for messages.
    fn event_kind(event: &Self::Event) -> &'static str;
    /// Creation time of the last applied plugin message.
    fn last_event_unix_ms(&self) -> u64;
    /// Plans and carries out one event. `Err` carries the reason given back to the plugin.
    fn apply_event(
        &mut self,
        core: &mut Core<Self::Settings>,
        event: &Self::Event,
        origin: EventOrigin,
        svc: &Services,
    ) -> impl Future<Output = Result<(), EventError>>;
    /// Writes the persisted state again if the last write failed.
    fn store_again(&mut self, core: &Core<Self::Settings>, svc: &Services);
    /// Whether a lease (or any address or prefix) is held.
    fn holds_lease(&self) -> bool;
    /// Drops the held lease locally (a release or disable ended) and tells everyone.
    fn drop_lease(
        &mut self,
        core: &mut Core<Self::Settings>,
        svc: &Services,
    ) -> impl Future<Output = ()>;
    /// The link is up again after being down or gone: puts the held addresses back (the
    /// kernel flushed them) without waiting for the DHCP client.
    fn lease_back(
        &mut self,
        core: &Core<Self::Settings>,
        svc: &Services,
    ) -> impl Future<Output = ()>;
    /// What makes the running client renew (or confirm) its lease now.
    fn renew_request() -> Request;
    fn expires(&self) -> Option<BootSeconds>;
    /// Whatever ran out goes.
    fn on_expiry(
        &mut self,
        core: &mut Core<Self::Settings>,
        svc: &Services,
    ) -> impl Future<Output = ()>;
    /// The client's picture for the TR-181 thread.
    fn snapshot(&self, core: &Core<Self::Settings>) -> ControllerUpdate;
    /// Tells the TR-181 thread that `instance` is gone.
    fn removed(instance: Instance) -> ControllerUpdate;
    /// Drops the persisted state (the client was removed).
    fn forget(&self, core: &Core<Self::Settings>, svc: &Services);
}

/// Writes a client's state as record `name`; `unsaved` says afterwards whether it must be
/// written again. On `Err`, what changed is in force all the same.
pub(super) fn store_state<S: ClientSettings, T: serde::Serialize>(
    core: &Core<S>,
    svc: &Services,
    name: &str,
    state: &T,
    unsaved: &mut bool,
) -> Result<(), NotStored> {
    let saved = svc.store.save(name, state);
    *unsaved = saved.is_err();
    saved.map_err(|e| {
        tracing::error!(client = %core.alias(), error = %e, "cannot persist client state; the lease is in force and is stored again at the next chance");
        NotStored(e)
    })
}

/// Where an event came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct EventOrigin {
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
    pub(super) fn is_stale(&self, last_applied_ms: u64) -> bool {
        self.replayed && self.created_unix_ms < last_applied_ms
    }
}

/// What both families keep for a client.
pub(super) struct Core<S> {
    pub key: ClientKey,
    pub instance: Instance,
    pub settings: S,
    /// Enabled at run time (config `enable`, then TR-181 writes, release).
    pub enabled: bool,
    pub status: ClientStatus,
    pub supervisor: Option<Supervisor>,
    pub launch: SharedLaunchSpec,
    /// TR-181 `Stats.` counters since the daemon started.
    pub stats: ClientStats,
    /// Settings waiting for the process to stop (see `ClientSet::configure`): what snapshots
    /// show meanwhile, so that TR-181 never sees the old settings come back.
    pub wanted: Option<S>,
    /// A stop that releases is under way.
    pub releasing: bool,
    pub link: LinkWait,
}

/// Where the client stands with its interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct LinkWait {
    /// What the enabled client waits for (shown in its snapshot); `None`: its link is ready.
    pub waiting: Option<Waiting>,
    /// The running client's link went down: confirm the lease once it is ready again.
    pub interrupted: bool,
    /// The held addresses were put back since the link came up again.
    pub lease_back: bool,
    /// The process is being stopped because its interface went away.
    pub stopping: bool,
}

impl<S: ClientSettings> Core<S> {
    pub(super) fn alias(&self) -> &ClientAlias {
        self.settings.alias()
    }

    /// The Linux interface; empty when none is set.
    pub(super) fn interface(&self) -> &str {
        self.settings.interface().map_or("", InterfaceName::as_str)
    }

    /// Sends the D-Bus `Event` `kind` for this client.
    pub(super) fn emit(&self, kind: EventKind, data: BTreeMap<String, String>, svc: &Services) {
        let _ = svc.updates.send(ControllerUpdate::Event {
            object_path: self.key.object_path(),
            kind,
            data,
        });
    }

    /// `Status` as the data model shows it.
    pub(super) fn shown_status(&self) -> ClientStatus {
        if self.enabled {
            self.status
        } else {
            ClientStatus::Disabled
        }
    }

    /// `Enable` as the data model shows it: the settings waiting for a stop win.
    pub(super) fn shown_enable(&self) -> bool {
        self.wanted
            .as_ref()
            .map_or(self.enabled, ClientSettings::enable)
    }

    /// The settings the data model shows.
    pub(super) fn shown_settings(&self) -> &S {
        self.wanted.as_ref().unwrap_or(&self.settings)
    }
}

/// A client under the controller's care.
pub(super) struct Client<F: Family> {
    pub core: Core<F::Settings>,
    pub family: F,
}

/// What the controller must do after a link change.
pub(super) enum LinkStep {
    Nothing,
    /// Stop this supervisor keeping the lease, then call [`Client::link_stopped`].
    Stop(Supervisor),
}

impl<F: Family> Client<F> {
    /// Loads a configured client; does not start it.
    pub(super) async fn restore(instance: Instance, settings: F::Settings, svc: &Services) -> Self {
        let launch = F::launch_spec(&settings, svc);
        let mut core = Core {
            key: F::key(instance),
            instance,
            enabled: settings.enable(),
            settings,
            status: ClientStatus::Disabled,
            supervisor: None,
            launch: std::sync::Arc::new(std::sync::Mutex::new(launch)),
            stats: ClientStats::new(),
            wanted: None,
            releasing: false,
            link: LinkWait::default(),
        };
        let family = F::restore(&mut core, svc).await;
        Self { core, family }
    }

    pub(super) fn settings(&self) -> &F::Settings {
        &self.core.settings
    }

    pub(super) fn supervisor(&self) -> Option<&Supervisor> {
        self.core.supervisor.as_ref()
    }

    pub(super) fn snapshot_update(&self) -> ControllerUpdate {
        self.family.snapshot(&self.core)
    }

    /// Sends the current picture to the TR-181 thread.
    pub(super) fn publish(&self, svc: &Services) {
        let _ = svc.updates.send(self.snapshot_update());
    }

    pub(super) fn replace_settings(&mut self, settings: F::Settings) {
        self.core.settings = settings;
    }

    pub(super) fn set_wanted(&mut self, wanted: Option<F::Settings>) {
        self.core.wanted = wanted;
    }

    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.core.enabled = enabled;
    }

    /// Starts the DHCP client process when enabled and its interface is ready; a client whose
    /// interface is not ready waits (that is no failure: `Status` stays `Enabled`).
    pub(super) fn start(&mut self, svc: &Services) {
        if !self.core.enabled || self.core.supervisor.is_some() {
            self.publish(svc);
            return;
        }
        if self.core.settings.interface().is_none() {
            tracing::warn!(client = %self.core.alias(), "enabled without an interface; X_RDK_LinuxInterface must be set");
            self.core.status = ClientStatus::ErrorMisconfigured;
            self.publish(svc);
            return;
        }
        self.core.status = ClientStatus::Enabled;
        if let Some(waiting) = svc
            .links
            .waiting_for(self.core.interface(), F::NEEDS_LINK_LOCAL)
        {
            self.wait(waiting, svc);
            self.publish(svc);
            return;
        }
        self.core.link = LinkWait::default();
        if let Err(reason) = self.family.prepare_start(&self.core, svc) {
            tracing::error!(client = %self.core.alias(), %reason, "cannot start the DHCP client");
            self.core.status = ClientStatus::ErrorMisconfigured;
            self.core
                .emit(EventKind::ClientFailed, BTreeMap::new(), svc);
            self.publish(svc);
            return;
        }
        self.core.supervisor = Some(svc.processes.start(self.core.key, self.core.launch.clone()));
        self.publish(svc);
    }

    /// Records that the client waits for `waiting`; says so once (log and D-Bus `Event`).
    fn wait(&mut self, waiting: Waiting, svc: &Services) {
        if self.core.link.waiting.as_ref() == Some(&waiting) {
            return;
        }
        tracing::info!(client = %self.core.alias(), interface = self.core.interface(), %waiting, "DHCP client waits for its interface");
        let data = BTreeMap::from([
            ("interface".to_string(), self.core.interface().to_string()),
            ("waiting".to_string(), waiting.to_string()),
        ]);
        self.core.link.waiting = Some(waiting);
        self.core.emit(EventKind::ClientWaiting, data, svc);
    }

    /// Applies one event from the plugin. A replayed event (from the spool) older than the last
    /// applied one is stale and skipped; a disabled client applies none. The event that ends a release lets the stop go on.
    pub(super) async fn on_event(
        &mut self,
        event: &F::Event,
        origin: EventOrigin,
        svc: &Services,
    ) -> Result<(), EventError> {
        if origin.is_stale(self.family.last_event_unix_ms()) {
            tracing::info!(client = %self.core.alias(), kind = F::event_kind(event), "ignoring an event older than the last applied one");
            return Ok(());
        }
        if !self.core.enabled {
            return Err(EventError::Disabled(self.core.alias().clone()));
        }
        self.family
            .apply_event(&mut self.core, event, origin, svc)
            .await?;
        if self.core.releasing && !self.family.holds_lease() {
            if let Some(sup) = &self.core.supervisor {
                sup.request(Request::ReleaseSeen);
            }
        }
        Ok(())
    }

    /// Stops the process, releasing only when asked; the local lease stays.
    pub(super) async fn stop(&mut self, release: bool) {
        if let Some(sup) = self.core.supervisor.take() {
            self.core.releasing = release;
            sup.stop(release).await;
        }
    }

    /// The supervisor to stop off the controller loop (the client keeps it until
    /// [`Self::finish_stop`], so that a release can still be followed).
    pub(super) fn begin_stop(&mut self, release: bool) -> Option<Supervisor> {
        self.core.releasing = release;
        self.core.supervisor.clone()
    }

    /// Finishes a release or disable: the lease is gone locally whatever the client did.
    pub(super) async fn finish_stop(&mut self, svc: &Services) {
        self.core.supervisor = None;
        self.core.releasing = false;
        self.core.enabled = false;
        self.core.status = ClientStatus::Disabled;
        self.core.link = LinkWait::default();
        self.family.drop_lease(&mut self.core, svc).await;
        self.publish(svc);
    }

    pub(super) fn expires(&self) -> Option<BootSeconds> {
        self.family.expires()
    }

    pub(super) async fn on_expiry(&mut self, svc: &Services) {
        self.family.on_expiry(&mut self.core, svc).await;
    }

    /// Handles what the supervisor says about the process.
    pub(super) fn on_report(&mut self, report: Report, svc: &Services) {
        let alias = self.core.alias();
        let event = match report {
            Report::Started { pid } => {
                tracing::info!(client = %alias, pid, program = F::PROGRAM, "DHCP client started");
                self.core.status = ClientStatus::Enabled;
                EventKind::ClientStarted
            }
            Report::Exited { status, quick } => {
                tracing::warn!(client = %alias, %status, quick, program = F::PROGRAM, "DHCP client ended unexpectedly");
                EventKind::ClientFailed
            }
            Report::GaveUp { failures } => {
                tracing::error!(client = %alias, failures, program = F::PROGRAM, "DHCP client keeps dying; giving up until restarted");
                self.core.status = ClientStatus::Error;
                EventKind::ClientFailed
            }
            Report::Stopped => EventKind::ClientStopped,
        };
        self.core.emit(event, BTreeMap::new(), svc);
        self.publish(svc);
    }

    /// Follows the interface after a link change: a client that waited starts once its link
    /// is ready; a running client whose interface went away is stopped keeping its lease; one
    /// whose link went down keeps lease and addresses, gets its addresses back as soon as the
    /// link is up, and confirms its lease once the link is ready again.
    pub(super) async fn on_link(&mut self, svc: &Services) -> LinkStep {
        if !self.core.enabled || self.core.settings.interface().is_none() {
            return LinkStep::Nothing;
        }
        let next = svc
            .links
            .waiting_for(self.core.interface(), F::NEEDS_LINK_LOCAL);
        let Some(sup) = self.core.supervisor.clone() else {
            match next {
                None if self.core.link.waiting.is_some() => {
                    tracing::info!(client = %self.core.alias(), interface = self.core.interface(), "interface ready; starting the DHCP client");
                    self.bring_lease_back(svc).await;
                    self.start(svc);
                }
                None => {}
                Some(waiting) => {
                    self.note_link_up(&waiting, svc).await;
                    self.wait(waiting, svc);
                    self.publish(svc);
                }
            }
            return LinkStep::Nothing;
        };
        if self.core.link.stopping {
            return LinkStep::Nothing;
        }
        match next {
            None => {
                if self.core.link.waiting.take().is_some() && self.core.link.interrupted {
                    tracing::info!(client = %self.core.alias(), interface = self.core.interface(), "link ready again; confirming the lease");
                    self.bring_lease_back(svc).await;
                    sup.request(F::renew_request());
                    self.core.link = LinkWait::default();
                    self.publish(svc);
                }
                LinkStep::Nothing
            }
            Some(waiting @ Waiting::Interface(_)) => {
                tracing::info!(client = %self.core.alias(), interface = self.core.interface(), "interface gone; stopping the DHCP client keeping its lease");
                self.wait(waiting, svc);
                self.core.link.stopping = true;
                self.core.link.lease_back = false;
                self.publish(svc);
                LinkStep::Stop(sup)
            }
            Some(waiting) => {
                if self.core.link.waiting.as_ref() != Some(&waiting) {
                    self.core.link.interrupted = true;
                    self.note_link_up(&waiting, svc).await;
                    self.wait(waiting, svc);
                    self.publish(svc);
                }
                LinkStep::Nothing
            }
        }
    }

    /// The process stopped because its interface went away: it starts again once the
    /// interface is ready.
    pub(super) async fn link_stopped(&mut self, svc: &Services) {
        if !self.core.link.stopping {
            return;
        }
        self.core.supervisor = None;
        self.core.link.stopping = false;
        if self.core.enabled
            && svc
                .links
                .waiting_for(self.core.interface(), F::NEEDS_LINK_LOCAL)
                .is_none()
        {
            self.bring_lease_back(svc).await;
            self.start(svc);
        }
    }

    /// Puts the held addresses back once the link is up while the client still waits (for a
    /// link-local address past DAD).
    async fn note_link_up(&mut self, waiting: &Waiting, svc: &Services) {
        if matches!(waiting, Waiting::LinkLocal(_)) {
            self.bring_lease_back(svc).await;
        } else {
            self.core.link.lease_back = false;
        }
    }

    async fn bring_lease_back(&mut self, svc: &Services) {
        if !self.core.link.lease_back && self.family.holds_lease() {
            self.family.lease_back(&self.core, svc).await;
        }
        self.core.link.lease_back = true;
    }

    /// Writes the persisted state again if the last write failed.
    pub(super) fn store_again(&mut self, svc: &Services) {
        self.family.store_again(&self.core, svc);
    }

    /// Drops the persisted state (the client was removed from the configuration).
    pub(super) fn forget(&self, svc: &Services) {
        self.family.forget(&self.core, svc);
    }

    /// Tells the rest of the daemon that the client is gone.
    pub(super) fn announce_removal(&self, svc: &Services) {
        let _ = svc.updates.send(F::removed(self.core.instance));
    }
}
