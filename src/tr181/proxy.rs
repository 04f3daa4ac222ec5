//! Client side of `org.dhcpmgr.DataModel1`, for `dhcpmgrctl` and the tests.

use std::collections::HashMap;

/// Proxy of the data-model interface; `DataModel1Proxy::new(&connection)` talks to
/// `org.dhcpmgr` at `/org/dhcpmgr`.
#[zbus::proxy(
    interface = "org.dhcpmgr.DataModel1",
    default_service = "org.dhcpmgr",
    default_path = "/org/dhcpmgr",
    gen_blocking = false
)]
pub trait DataModel1 {
    /// GetParameterValues: (name, type, value) of each full name and of every parameter below
    /// each partial path (ending in `.`).
    fn get_parameter_values(&self, names: &[&str]) -> zbus::Result<Vec<(String, String, String)>>;

    /// SetParameterValues of (name, value) pairs: all are written or none; root or a
    /// configured writer only.
    fn set_parameter_values(&self, values: &[(&str, &str)]) -> zbus::Result<()>;

    /// GetParameterNames: (name, writable) of `path` and everything below it, or of its
    /// children only when `next_level` is true.
    fn get_parameter_names(
        &self,
        path: &str,
        next_level: bool,
    ) -> zbus::Result<Vec<(String, bool)>>;

    /// AddObject on a table path such as `Device.DHCPv4.Client.`: the new row's instance
    /// number (the row starts disabled).
    fn add_object(&self, table_path: &str) -> zbus::Result<u32>;

    /// DeleteObject of a row such as `Device.DHCPv4.Client.2.`.
    fn delete_object(&self, object_path: &str) -> zbus::Result<()>;

    /// Forgets every value written over the bus: clients go back to the configuration file's
    /// settings (a dhcpmgr extension).
    fn factory_reset(&self) -> zbus::Result<()>;

    /// Runs a command such as `Device.DHCPv4.Client.1.Renew()` with its input arguments;
    /// returns its output arguments.
    fn operate(
        &self,
        command: &str,
        args: HashMap<&str, &str>,
    ) -> zbus::Result<HashMap<String, String>>;

    /// `ValuesChanged`: the (name, value) of parameters that changed.
    #[zbus(signal)]
    fn values_changed(&self, changes: Vec<(String, String)>) -> zbus::Result<()>;

    /// `Event`: something happened to the client at `object_path` (`kind` and its `data`,
    /// docs/contracts.md#d-bus).
    #[zbus(signal)]
    fn event(
        &self,
        object_path: String,
        kind: String,
        data: HashMap<String, String>,
    ) -> zbus::Result<()>;
}
