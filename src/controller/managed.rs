//! What the controller needs from a client of either family, so that starting, stopping,
//! commands, expiry timers and reloads are written once for DHCPv4 and DHCPv6.

use std::future::Future;

use super::supervisor::{Report, Request, Supervisor};
use super::v4_client::Services;
use crate::boottime::BootSeconds;
use crate::channels::{ClientConfig, ClientKey, ControllerUpdate};
use crate::config::ClientSettings;
use crate::snapshot::Instance;

/// A supervised DHCP client.
pub trait ManagedClient: Sized {
    type Settings: ClientSettings + TryFrom<ClientConfig>;
    /// `DHCPv4` or `DHCPv6`, for messages.
    const FAMILY: &'static str;

    /// The key of instance `instance` of this family.
    fn key(instance: Instance) -> ClientKey;
    fn restore(
        instance: Instance,
        settings: Self::Settings,
        svc: &Services,
    ) -> impl Future<Output = Self>;
    fn settings(&self) -> &Self::Settings;
    /// The client's picture for the TR-181 thread, as [`Self::start`] and every change send it.
    fn snapshot_update(&self) -> ControllerUpdate;
    fn replace_settings(&mut self, settings: Self::Settings);
    /// Settings that take effect once the process has stopped, shown in snapshots until then
    /// (`None` when none are waiting).
    fn set_wanted(&mut self, wanted: Option<Self::Settings>);
    fn set_enabled(&mut self, enabled: bool);
    /// Starts the DHCP client process when enabled.
    fn start(&mut self, svc: &Services);
    /// Stops the process, releasing only when asked; the local lease stays.
    fn stop(&mut self, release: bool) -> impl Future<Output = ()>;
    /// The supervisor to stop off the controller loop (the client keeps it until
    /// [`Self::finish_stop`], so that a release can still be followed).
    fn begin_stop(&mut self, release: bool) -> Option<Supervisor>;
    fn supervisor(&self) -> Option<&Supervisor>;
    /// After a stop for release or disable: the lease is dropped locally.
    fn finish_stop(&mut self, svc: &Services) -> impl Future<Output = ()>;
    /// What makes the running client renew now.
    fn renew_request() -> Request;
    fn expires(&self) -> Option<BootSeconds>;
    fn on_expiry(&mut self, svc: &Services) -> impl Future<Output = ()>;
    fn on_report(&mut self, report: Report, svc: &Services);
    /// Drops the client's persisted state; it was removed from the configuration.
    fn forget(&self, svc: &Services);
    /// Tells the rest of the daemon that the client is gone.
    fn announce_removal(&self, svc: &Services);
}
