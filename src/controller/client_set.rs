//! The clients of one family, by TR-181 instance number: adding (each client keeps its number
//! across restarts and numbers are never reused, see [`Numbering`]), AddObject/DeleteObject,
//! expiry timers, supervisor reports, commands and reloads.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, oneshot};

use super::client::{Client, Family, LinkStep};
use super::errors::RouteError;
use super::services::Services;
use super::supervisor::{Report, Supervisor};
use super::Internal;
use crate::boottime::BootSeconds;
use crate::channels::{ClientAction, CommandError, ControllerUpdate};
use crate::config::{default_alias, ClientAlias, ClientSettings, InterfaceName};
use crate::instance_numbers::Numbering;
use crate::model::Instance;

pub(super) type Reply = oneshot::Sender<Result<(), CommandError>>;

/// The clients of one family.
pub(super) struct ClientSet<F: Family> {
    clients: BTreeMap<Instance, Client<F>>,
    /// New settings waiting for their client's process to stop (see [`Self::configure`]).
    pending: BTreeMap<Instance, Pending<F::Settings>>,
    numbering: Numbering,
}

/// Settings that take effect once the client's process has stopped.
struct Pending<S> {
    settings: S,
    /// The stop was for a move or a disable: the lease is dropped locally when it ends.
    drop_lease: bool,
}

/// What giving a client new settings takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    /// Nothing to stop: take the settings and start if enabled.
    Apply,
    /// Stop the running client, keeping its lease, then start with the new settings.
    Restart,
    /// Stop (releasing when asked), drop the lease locally, then take the settings.
    DropLease { release: bool },
}

impl Transition {
    /// Only `Enable` changed: the client starts, or stops (releasing if `release_on_disable`)
    /// and drops its lease. The interface changed: the lease goes from the old interface and
    /// the client starts afresh on the new one. Anything else: a running client restarts
    /// with the new settings, keeping its lease.
    fn between<S: ClientSettings>(old: &S, new: &S, running: bool) -> Self {
        if old.interface() != new.interface() {
            Self::DropLease { release: false }
        } else if !new.enable() && (running || old.enable()) {
            Self::DropLease {
                release: old.release_on_disable(),
            }
        } else if running && old.with_enable(new.enable()) != *new {
            Self::Restart
        } else {
            Self::Apply
        }
    }
}

impl<F: Family> ClientSet<F> {
    /// No clients yet; they will be numbered as `numbering` says.
    pub(super) fn new(numbering: Numbering) -> Self {
        Self {
            clients: BTreeMap::new(),
            pending: BTreeMap::new(),
            numbering,
        }
    }

    /// The clients' instance numbers, to be stored.
    pub(super) fn numbering(&self) -> &Numbering {
        &self.numbering
    }

    /// Forgets the numbers of clients that are not here (after the start-up adds), so that a
    /// client the file no longer has does not hold on to one.
    pub(super) fn forget_absent_numbers(&mut self) {
        let clients = &self.clients;
        self.numbering.retain(|alias| {
            clients
                .values()
                .any(|c| c.settings().alias().as_str() == alias)
        });
    }

    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }

    /// The client an event from `interface` belongs to: the one with `alias` (which must run
    /// on that interface) or, without an alias, the one on `interface`.
    pub(super) fn route(
        &mut self,
        alias: Option<&str>,
        interface: &str,
    ) -> Result<&mut Client<F>, RouteError> {
        let family = F::NAME;
        let client = self.clients.values_mut().find(|c| match alias {
            Some(alias) => c.settings().alias().as_str() == alias,
            None => runs_on(c) == Some(interface),
        });
        match client {
            Some(c) if runs_on(c) != Some(interface) => Err(RouteError::WrongInterface {
                family,
                alias: c.settings().alias().clone(),
                runs_on: runs_on(c).unwrap_or("no interface").to_string(),
                interface: interface.to_string(),
            }),
            Some(c) => Ok(c),
            None => Err(RouteError::NoClient {
                family,
                name: alias.unwrap_or(interface).to_string(),
            }),
        }
    }

    /// Restores a configured client under its instance number (a new one if it has none);
    /// does not start it.
    pub(super) async fn add(&mut self, settings: F::Settings, svc: &Services) -> Instance {
        let instance = self.numbering.number(settings.alias().as_str());
        let client = Client::restore(instance, settings, svc).await;
        self.clients.insert(instance, client);
        instance
    }

    /// AddObject: a disabled client without an interface under the next number, named
    /// `cpe-<number>` (or the first free `cpe-<number>-<k>`); returns its picture.
    /// The settings [`Self::create`] will give the next added client.
    pub(super) fn next_added(&self) -> F::Settings {
        F::Settings::added(self.free_alias())
    }

    /// Adds a client with `settings` (from [`Self::next_added`]).
    pub(super) async fn create(
        &mut self,
        settings: F::Settings,
        svc: &Services,
    ) -> ControllerUpdate {
        tracing::info!(client = %settings.alias(), "client added over TR-181");
        let instance = self.numbering.number(settings.alias().as_str());
        let mut client = Client::restore(instance, settings, svc).await;
        client.start(svc);
        let update = client.snapshot_update();
        self.clients.insert(instance, client);
        update
    }

    /// An alias no client of the family has, as configured or as its TR-181 `Alias`.
    fn free_alias(&self) -> ClientAlias {
        let base = default_alias(self.numbering.next());
        let taken = |alias: &ClientAlias| {
            self.clients
                .values()
                .any(|c| c.settings().alias() == alias || c.settings().tr181_alias() == alias)
        };
        let mut suffix = 0u32;
        loop {
            let text = match suffix {
                0 => base.clone(),
                k => format!("{base}-{k}"),
            };
            if let Ok(alias) = ClientAlias::new(&text) {
                if !taken(&alias) {
                    return alias;
                }
            }
            suffix = suffix.wrapping_add(1);
        }
    }

    /// DeleteObject: stops the client off the loop (releasing its lease if it is configured to
    /// release on disable); [`Self::finish_delete`] forgets it and sends the reply.
    pub(super) fn delete(
        &mut self,
        instance: Instance,
        reply: Reply,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        let Some(client) = self.clients.get_mut(&instance) else {
            let _ = reply.send(Err(CommandError::NoSuchClient(F::key(instance))));
            return;
        };
        tracing::info!(client = %client.settings().alias(), "client deleted over TR-181");
        self.pending.remove(&instance);
        client.set_wanted(None);
        let release = client.settings().release_on_disable() && client.supervisor().is_some();
        let supervisor = client.begin_stop(release);
        let internal = internal.clone();
        let key = F::key(instance);
        tokio::spawn(async move {
            if let Some(sup) = supervisor {
                sup.stop(release).await;
            }
            let _ = internal.send(Internal::DeleteStopped { client: key, reply });
        });
    }

    /// The deleted client's process stopped: its lease goes locally, its state is forgotten and
    /// the TR-181 thread is told it is gone.
    pub(super) async fn finish_delete(&mut self, instance: Instance, svc: &Services) {
        if let Some(mut client) = self.clients.remove(&instance) {
            self.pending.remove(&instance);
            self.remove(&mut client, svc).await;
        }
    }

    /// Takes a client out for good: its lease goes locally, its state and number are forgotten
    /// and the TR-181 thread is told.
    async fn remove(&mut self, client: &mut Client<F>, svc: &Services) {
        client.stop(false).await;
        client.finish_stop(svc).await;
        client.forget(svc);
        client.announce_removal(svc);
        self.numbering.forget(client.settings().alias().as_str());
    }

    pub(super) fn start_all(&mut self, svc: &Services) {
        for client in self.clients.values_mut() {
            client.start(svc);
        }
    }

    /// The supervisors of every client, taken for the daemon's shutdown (they are stopped
    /// together, keeping their leases).
    pub(super) fn take_supervisors(&mut self) -> Vec<Supervisor> {
        self.clients
            .values_mut()
            .filter_map(|client| client.core.supervisor.take())
            .collect()
    }

    /// Follows a link change: clients start, stop or confirm as [`Client::on_link`] says; a
    /// stop runs off the loop and ends in [`Self::link_stopped`].
    pub(super) async fn on_link(
        &mut self,
        svc: &Services,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        for (instance, client) in &mut self.clients {
            if self.pending.contains_key(instance) {
                continue;
            }
            if let LinkStep::Stop(supervisor) = client.on_link(svc).await {
                let internal = internal.clone();
                let key = F::key(*instance);
                tokio::spawn(async move {
                    supervisor.stop(false).await;
                    let _ = internal.send(Internal::LinkStopped { client: key });
                });
            }
        }
    }

    /// A client stopped because its interface went away.
    pub(super) async fn link_stopped(&mut self, instance: Instance, svc: &Services) {
        if let Some(client) = self.clients.get_mut(&instance) {
            client.link_stopped(svc).await;
        }
    }

    pub(super) fn next_expiry(&self) -> Option<BootSeconds> {
        self.clients.values().filter_map(Client::expires).min()
    }

    /// Writes again the state of every client whose last write failed.
    pub(super) fn store_again(&mut self, svc: &Services) {
        for client in self.clients.values_mut() {
            client.store_again(svc);
        }
    }

    pub(super) async fn expire_due(&mut self, svc: &Services) {
        let now = BootSeconds::now();
        for client in self.clients.values_mut() {
            if client.expires().is_some_and(|e| e <= now) {
                client.on_expiry(svc).await;
            }
        }
    }

    pub(super) fn on_report(&mut self, instance: Instance, report: Report, svc: &Services) {
        if let Some(client) = self.clients.get_mut(&instance) {
            client.on_report(report, svc);
        }
    }

    /// The settings of every client: the ones it will run with once a pending stop ends.
    pub(super) fn settings(&self) -> impl Iterator<Item = &F::Settings> {
        self.clients.iter().map(|(instance, client)| {
            self.pending
                .get(instance)
                .map_or_else(|| client.settings(), |p| &p.settings)
        })
    }

    /// [`Self::settings`] without client `instance`'s: what they will be once it is deleted.
    pub(super) fn settings_without(
        &self,
        instance: Instance,
    ) -> impl Iterator<Item = &F::Settings> {
        self.clients
            .keys()
            .zip(self.settings())
            .filter(move |(i, _)| **i != instance)
            .map(|(_, s)| s)
    }

    /// [`Self::settings`] with client `instance`'s replaced by `settings`: what they will be
    /// once a write to it takes effect.
    pub(super) fn settings_with<'a>(
        &'a self,
        instance: Instance,
        settings: &'a F::Settings,
    ) -> impl Iterator<Item = &'a F::Settings> {
        self.clients
            .keys()
            .zip(self.settings())
            .map(move |(i, s)| if *i == instance { settings } else { s })
    }

    /// Carries out `action`: a renew or restart at once; a new configuration is accepted at
    /// once and takes effect as [`Self::configure`] says; a release stops off the loop and
    /// ends in [`Self::finish_stop`].
    pub(super) async fn command(
        &mut self,
        instance: Instance,
        action: ClientAction,
        reply: Reply,
        svc: &Services,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        let Some(client) = self.clients.get_mut(&instance) else {
            let _ = reply.send(Err(CommandError::NoSuchClient(F::key(instance))));
            return;
        };
        tracing::info!(client = %client.settings().alias(), ?action, "command");
        match action {
            ClientAction::Renew => {
                let result = match client.supervisor() {
                    Some(sup) => {
                        sup.request(F::renew_request());
                        Ok(())
                    }
                    None => Err(CommandError::Refused {
                        reason: format!("client {} is not running", client.settings().alias()),
                    }),
                };
                let _ = reply.send(result);
            }
            ClientAction::Restart => {
                client.set_enabled(true);
                match client.supervisor() {
                    Some(sup) => sup.request(super::supervisor::Request::Restart),
                    None => client.start(svc),
                }
                let _ = reply.send(Ok(()));
            }
            ClientAction::Configure(config) => {
                let result = match F::Settings::try_from(config) {
                    Ok(settings) => {
                        self.configure(instance, settings, svc, internal).await;
                        Ok(())
                    }
                    Err(_) => Err(CommandError::Conflict {
                        reason: format!(
                            "{} is not a {} client",
                            F::key(instance).object_path(),
                            F::NAME
                        ),
                    }),
                };
                let _ = reply.send(result);
            }
            ClientAction::Release => {
                let supervisor = client.begin_stop(true);
                let internal = internal.clone();
                let key = F::key(instance);
                tokio::spawn(async move {
                    if let Some(sup) = supervisor {
                        sup.stop(true).await;
                    }
                    let _ = internal.send(Internal::StopFinished {
                        client: key,
                        reply: Some(reply),
                    });
                });
            }
        }
    }

    /// Completes a stop begun by [`Self::command`].
    pub(super) async fn finish_stop(&mut self, instance: Instance, svc: &Services) {
        if let Some(client) = self.clients.get_mut(&instance) {
            client.finish_stop(svc).await;
        }
    }

    /// The settings `instance` runs with, or will once a pending stop ends.
    fn settings_of(&self, instance: Instance) -> Option<&F::Settings> {
        match self.pending.get(&instance) {
            Some(pending) => Some(&pending.settings),
            None => self.clients.get(&instance).map(Client::settings),
        }
    }

    /// Gives a client new settings, as [`Transition::between`] says. A running process is
    /// stopped off the controller loop (it may be waiting on a lease event the loop must
    /// answer); the settings take effect in [`Self::finish_configure`]. Settings written
    /// while a stop is under way replace the pending ones.
    async fn configure(
        &mut self,
        instance: Instance,
        new: F::Settings,
        svc: &Services,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        if let Some(pending) = self.pending.get_mut(&instance) {
            if let Some(client) = self.clients.get_mut(&instance) {
                client.set_wanted(Some(new.clone()));
            }
            pending.settings = new;
            return;
        }
        let Some(client) = self.clients.get_mut(&instance) else {
            return;
        };
        let running = client.supervisor().is_some();
        let transition = Transition::between(client.settings(), &new, running);
        tracing::info!(client = %client.settings().alias(), ?transition, "new settings");
        let release = match transition {
            Transition::Apply => {
                take_settings(client, new, svc);
                return;
            }
            Transition::DropLease { .. } if !running => {
                client.finish_stop(svc).await;
                take_settings(client, new, svc);
                return;
            }
            Transition::Restart => false,
            Transition::DropLease { release } => release,
        };
        let supervisor = client.begin_stop(release);
        client.set_wanted(Some(new.clone()));
        self.pending.insert(
            instance,
            Pending {
                settings: new,
                drop_lease: transition != Transition::Restart,
            },
        );
        let internal = internal.clone();
        let key = F::key(instance);
        tokio::spawn(async move {
            if let Some(sup) = supervisor {
                sup.stop(release).await;
            }
            let _ = internal.send(Internal::ConfigureStopped { client: key });
        });
    }

    /// The process stopped for new settings: the lease is dropped if the stop was for a move
    /// or a disable, and the client takes the latest settings written.
    pub(super) async fn finish_configure(&mut self, instance: Instance, svc: &Services) {
        let (Some(pending), Some(client)) = (
            self.pending.remove(&instance),
            self.clients.get_mut(&instance),
        ) else {
            return;
        };
        client.set_wanted(None);
        if pending.drop_lease {
            client.finish_stop(svc).await;
        } else {
            client.stop(false).await;
        }
        take_settings(client, pending.settings, svc);
    }

    /// Applies a new list of clients: removed ones stop and give up their lease locally,
    /// added ones start, changed ones take their new settings as [`configure`] says, and
    /// unchanged ones are not touched.
    pub(super) async fn reload(
        &mut self,
        wanted: Vec<F::Settings>,
        svc: &Services,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        let mut wanted: BTreeMap<String, F::Settings> = wanted
            .into_iter()
            .map(|c| (c.alias().to_string(), c))
            .collect();
        let instances: Vec<Instance> = self.clients.keys().copied().collect();
        for instance in instances {
            let Some(current) = self.settings_of(instance) else {
                continue;
            };
            let alias = current.alias().to_string();
            match wanted.remove(&alias) {
                Some(new) if new == *current => {}
                Some(new) => {
                    tracing::info!(client = %alias, "configuration changed");
                    self.configure(instance, new, svc, internal).await;
                }
                None => {
                    tracing::info!(client = %alias, "client removed; stopping it");
                    self.pending.remove(&instance);
                    if let Some(mut client) = self.clients.remove(&instance) {
                        self.remove(&mut client, svc).await;
                    }
                }
            }
        }
        for (_, new) in wanted {
            tracing::info!(client = %new.alias(), "client added");
            let instance = self.add(new, svc).await;
            if let Some(client) = self.clients.get_mut(&instance) {
                client.start(svc);
            }
        }
    }
}

impl ClientSet<super::v6_client::V6> {
    /// dibbler-client rewrote its bindings file: a lease it took without running its script
    /// (rapid commit) is applied like a script event.
    pub(super) async fn on_bindings_file(&mut self, instance: Instance, svc: &Services) {
        let Some(client) = self.clients.get_mut(&instance) else {
            return;
        };
        let Some(event) = client.family.bindings_event(&client.core) else {
            return;
        };
        tracing::info!(client = %client.core.alias(), "taking the lease from dibbler's bindings file (no script ran)");
        let origin = super::client::EventOrigin {
            created_unix_ms: unix_ms(),
            client_pid: 0,
            replayed: false,
        };
        if let Err(reason) = client.on_event(&event, origin, svc).await {
            tracing::warn!(client = %client.core.alias(), %reason, "lease from dibbler's bindings file refused");
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The Linux interface the client runs on, if it has one.
fn runs_on<F: Family>(client: &Client<F>) -> Option<&str> {
    client.settings().interface().map(InterfaceName::as_str)
}

/// Takes new settings and starts the client if they enable it.
fn take_settings<F: Family>(client: &mut Client<F>, new: F::Settings, svc: &Services) {
    client.set_enabled(new.enable());
    client.replace_settings(new);
    client.start(svc);
}

#[cfg(test)]
mod tests {
    use super::Transition;
    use crate::config::ClientSettings;
    use crate::config::{Config, InterfaceName, V4ClientConfig};

    fn client(release_on_disable: bool) -> V4ClientConfig {
        let text = format!(
            "[[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\nrelease_on_disable = {release_on_disable}\n"
        );
        let mut config = Config::parse(&text).expect("test configuration parses");
        config.dhcpv4_clients.remove(0)
    }

    #[test]
    fn option_changes_restart_a_running_client_and_keep_the_lease() {
        let old = client(false);
        let mut new = old.clone();
        new.default_route = !old.default_route;
        assert_eq!(Transition::between(&old, &new, true), Transition::Restart);
        assert_eq!(Transition::between(&old, &new, false), Transition::Apply);
        assert_eq!(Transition::between(&old, &old, true), Transition::Apply);
    }

    #[test]
    fn an_interface_change_drops_the_lease_without_release() {
        let old = client(true);
        let mut new = old.clone();
        new.interface = Some(InterfaceName::new("erouter1").expect("name"));
        for running in [true, false] {
            assert_eq!(
                Transition::between(&old, &new, running),
                Transition::DropLease { release: false }
            );
        }
    }

    #[test]
    fn disabling_releases_only_when_configured_to() {
        for release in [true, false] {
            let old = client(release);
            let new = old.with_enable(false);
            assert_eq!(
                Transition::between(&old, &new, true),
                Transition::DropLease { release }
            );
        }
        let stopped = client(false).with_enable(false);
        let enabled = stopped.with_enable(true);
        assert_eq!(
            Transition::between(&stopped, &enabled, false),
            Transition::Apply
        );
    }
}
