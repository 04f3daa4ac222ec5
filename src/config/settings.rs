//! What the rest of the daemon handles the same way in a client's settings of either family
//! (the controller's start/stop/reload logic, the stored TR-181 writes).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ClientAlias, InterfaceName, V4ClientConfig, V6ClientConfig};

/// A client's settings, as far as they are handled without knowing the family.
pub trait ClientSettings: PartialEq + Clone + Serialize + DeserializeOwned {
    /// The configured alias (never changed by TR-181 writes).
    fn alias(&self) -> &ClientAlias;
    /// The TR-181 `Alias`.
    fn tr181_alias(&self) -> &ClientAlias;
    /// The settings of a client AddObject created under `alias`.
    fn added(alias: ClientAlias) -> Self;
    /// The Linux interface; `None` for a client added over TR-181 that has none yet.
    fn interface(&self) -> Option<&InterfaceName>;
    /// TR-181 `Enable`.
    fn enable(&self) -> bool;
    /// Whether disabling the client releases its lease with the server.
    fn release_on_disable(&self) -> bool;
    /// The same settings with `enable` set.
    fn with_enable(&self, enable: bool) -> Self;
}

/// The two families' settings have these fields under the same names.
macro_rules! client_settings {
    ($settings:ty) => {
        impl ClientSettings for $settings {
            fn alias(&self) -> &ClientAlias {
                &self.alias
            }
            fn tr181_alias(&self) -> &ClientAlias {
                <$settings>::tr181_alias(self)
            }
            fn added(alias: ClientAlias) -> Self {
                <$settings>::added(alias)
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
        }
    };
}

client_settings!(V4ClientConfig);
client_settings!(V6ClientConfig);
