//! What the controller needs from a client of either family, so that starting, stopping,
//! commands, expiry timers and reloads are written once for DHCPv4 and DHCPv6.

use std::future::Future;

use super::supervisor::{Report, Request, Supervisor};
use super::v4_client::Services;
use crate::boottime::BootSeconds;
use crate::channels::{ClientConfig, ClientKey, ControllerUpdate};
use crate::config::{ClientAlias, InterfaceName, V4ClientConfig, V6ClientConfig};
use crate::snapshot::Instance;

/// A client's configuration, as far as the controller handles it generically.
pub trait ClientSettings: PartialEq + Clone {
    /// The configured alias (never changed by TR-181 writes).
    fn alias(&self) -> &ClientAlias;
    /// The TR-181 `Alias`.
    fn tr181_alias(&self) -> &ClientAlias;
    /// The settings of a client AddObject created under `alias`.
    fn added(alias: ClientAlias) -> Self;
    /// The Linux interface; `None` for a client added over TR-181 that has none yet.
    fn interface(&self) -> Option<&InterfaceName>;
    fn enable(&self) -> bool;
    fn release_on_disable(&self) -> bool;
    /// The same settings with `enable` set.
    fn with_enable(&self, enable: bool) -> Self;
    /// These settings, if `config` is of this family.
    fn from_config(config: ClientConfig) -> Option<Self>;
}

/// A supervised DHCP client.
pub trait ManagedClient: Sized {
    type Settings: ClientSettings;
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

impl ClientSettings for V4ClientConfig {
    fn alias(&self) -> &ClientAlias {
        &self.alias
    }
    fn tr181_alias(&self) -> &ClientAlias {
        V4ClientConfig::tr181_alias(self)
    }
    fn added(alias: ClientAlias) -> Self {
        V4ClientConfig::added(alias)
    }
    fn interface(&self) -> Option<&InterfaceName> {
        self.interface.as_ref()
    }
    fn enable(&self) -> bool {
        self.enable
    }
    fn release_on_disable(&self) -> bool {
        self.release_on_disable
    }
    fn with_enable(&self, enable: bool) -> Self {
        Self {
            enable,
            ..self.clone()
        }
    }
    fn from_config(config: ClientConfig) -> Option<Self> {
        match config {
            ClientConfig::V4(settings) => Some(*settings),
            ClientConfig::V6(_) => None,
        }
    }
}

impl ClientSettings for V6ClientConfig {
    fn alias(&self) -> &ClientAlias {
        &self.alias
    }
    fn tr181_alias(&self) -> &ClientAlias {
        V6ClientConfig::tr181_alias(self)
    }
    fn added(alias: ClientAlias) -> Self {
        V6ClientConfig::added(alias)
    }
    fn interface(&self) -> Option<&InterfaceName> {
        self.interface.as_ref()
    }
    fn enable(&self) -> bool {
        self.enable
    }
    fn release_on_disable(&self) -> bool {
        self.release_on_disable
    }
    fn with_enable(&self, enable: bool) -> Self {
        Self {
            enable,
            ..self.clone()
        }
    }
    fn from_config(config: ClientConfig) -> Option<Self> {
        match config {
            ClientConfig::V6(settings) => Some(*settings),
            ClientConfig::V4(_) => None,
        }
    }
}
