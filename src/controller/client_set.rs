//! The clients of one family, by TR-181 instance number: adding (numbers are never reused
//! while the daemon lives), expiry timers, supervisor reports, commands and reloads.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, oneshot};

use super::managed::{ClientSettings, ManagedClient};
use super::supervisor::Report;
use super::v4_client::Services;
use super::Internal;
use crate::boottime::BootSeconds;
use crate::channels::ClientAction;
use crate::snapshot::Instance;

pub type Reply = oneshot::Sender<Result<(), String>>;

/// The clients of one family.
pub struct ClientSet<C> {
    clients: BTreeMap<Instance, C>,
    next_instance: u32,
}

impl<C: ManagedClient> ClientSet<C> {
    pub fn new() -> Self {
        Self {
            clients: BTreeMap::new(),
            next_instance: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// The client an event from `interface` belongs to: the one with `alias` (which must run
    /// on that interface) or, without an alias, the one on `interface`.
    pub fn route(&mut self, alias: Option<&str>, interface: &str) -> Result<&mut C, String> {
        let family = C::FAMILY;
        let client = self.clients.values_mut().find(|c| match alias {
            Some(alias) => c.settings().alias().as_str() == alias,
            None => c.settings().interface().as_str() == interface,
        });
        match client {
            Some(c) if c.settings().interface().as_str() != interface => Err(format!(
                "{family} client {} runs on {}, not {interface}",
                c.settings().alias(),
                c.settings().interface()
            )),
            Some(c) => Ok(c),
            None => Err(format!(
                "no {family} client {} configured",
                alias.unwrap_or(interface)
            )),
        }
    }

    /// Restores a configured client under the next instance number; does not start it.
    pub async fn add(&mut self, settings: C::Settings, svc: &Services) -> Instance {
        let instance = Instance(self.next_instance);
        self.next_instance += 1;
        let client = C::restore(instance, settings, svc).await;
        self.clients.insert(instance, client);
        instance
    }

    pub fn start_all(&mut self, svc: &Services) {
        for client in self.clients.values_mut() {
            client.start(svc);
        }
    }

    /// Stops every client keeping its lease (daemon shutdown).
    pub async fn stop_all(&mut self) {
        for client in self.clients.values_mut() {
            client.stop(false).await;
        }
    }

    pub fn next_expiry(&self) -> Option<BootSeconds> {
        self.clients
            .values()
            .filter_map(ManagedClient::expires)
            .min()
    }

    pub async fn expire_due(&mut self, svc: &Services) {
        let now = BootSeconds::now();
        for client in self.clients.values_mut() {
            if client.expires().is_some_and(|e| e <= now) {
                client.on_expiry(svc).await;
            }
        }
    }

    pub fn on_report(&mut self, instance: Instance, report: Report, svc: &Services) {
        if let Some(client) = self.clients.get_mut(&instance) {
            client.on_report(report, svc);
        }
    }

    /// The settings of every client.
    pub fn settings(&self) -> impl Iterator<Item = &C::Settings> {
        self.clients.values().map(ManagedClient::settings)
    }

    /// Carries out `action`: a renew or restart at once, a new configuration here (awaiting
    /// the stop it may need); a release stops off the loop and ends in [`Self::finish_stop`].
    pub async fn command(
        &mut self,
        instance: Instance,
        action: ClientAction,
        reply: Reply,
        svc: &Services,
        internal: &mpsc::UnboundedSender<Internal>,
    ) {
        let Some(client) = self.clients.get_mut(&instance) else {
            let _ = reply.send(Err(format!("no client {}", C::key(instance).object_path())));
            return;
        };
        tracing::info!(client = %client.settings().alias(), ?action, "command");
        match action {
            ClientAction::Renew => {
                let result = match client.supervisor() {
                    Some(sup) => {
                        sup.request(C::renew_request());
                        Ok(())
                    }
                    None => Err(format!(
                        "client {} is not running",
                        client.settings().alias()
                    )),
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
                let result = match C::Settings::from_config(config) {
                    Some(settings) => {
                        configure(client, settings, svc).await;
                        Ok(())
                    }
                    None => Err(format!(
                        "{} is not a {} client",
                        C::key(instance).object_path(),
                        C::FAMILY
                    )),
                };
                let _ = reply.send(result);
            }
            ClientAction::Release => {
                let supervisor = client.begin_stop(true);
                let internal = internal.clone();
                let key = C::key(instance);
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
    pub async fn finish_stop(&mut self, instance: Instance, svc: &Services) {
        if let Some(client) = self.clients.get_mut(&instance) {
            client.finish_stop(svc).await;
        }
    }

    /// Applies a new list of clients: removed ones stop and give up their lease locally,
    /// added ones start, changed ones take their new settings as [`configure`] says, and
    /// unchanged ones are not touched.
    pub async fn reload(&mut self, wanted: Vec<C::Settings>, svc: &Services) {
        let mut wanted: BTreeMap<String, C::Settings> = wanted
            .into_iter()
            .map(|c| (c.alias().to_string(), c))
            .collect();
        let instances: Vec<Instance> = self.clients.keys().copied().collect();
        for instance in instances {
            let Some(client) = self.clients.get_mut(&instance) else {
                continue;
            };
            let alias = client.settings().alias().to_string();
            match wanted.remove(&alias) {
                Some(new) if new == *client.settings() => {}
                Some(new) => {
                    tracing::info!(client = %alias, "configuration changed");
                    configure(client, new, svc).await;
                }
                None => {
                    tracing::info!(client = %alias, "client removed; stopping it");
                    client.stop(false).await;
                    client.finish_stop(svc).await;
                    client.forget(svc);
                    client.announce_removal(svc);
                    self.clients.remove(&instance);
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

impl<C: ManagedClient> Default for ClientSet<C> {
    fn default() -> Self {
        Self::new()
    }
}

/// Gives a client new settings. Only `Enable` changed: it starts, or stops (releasing if
/// `release_on_disable`) and drops its lease locally. The interface changed: the lease goes
/// from the old interface and the client starts afresh on the new one, under the same instance
/// number. Anything else: a running client restarts with the new settings, keeping its lease.
async fn configure<C: ManagedClient>(client: &mut C, new: C::Settings, svc: &Services) {
    let old = client.settings().clone();
    let running = client.supervisor().is_some();
    if old.interface() != new.interface() {
        tracing::info!(client = %old.alias(), from = %old.interface(), to = %new.interface(), "moving client to another interface");
        client.stop(false).await;
        client.finish_stop(svc).await;
    } else if !new.enable() && (running || old.enable()) {
        let release = old.release_on_disable();
        client.stop(release).await;
        client.finish_stop(svc).await;
    } else if running && old.with_enable(new.enable()) != new {
        tracing::info!(client = %old.alias(), "settings changed; restarting client");
        client.stop(false).await;
    }
    client.set_enabled(new.enable());
    client.replace_settings(new);
    client.start(svc);
}
