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
    fn get_parameter_values(&self, names: &[&str]) -> zbus::Result<Vec<(String, String, String)>>;

    fn set_parameter_values(&self, values: &[(&str, &str)]) -> zbus::Result<()>;

    fn get_parameter_names(
        &self,
        path: &str,
        next_level: bool,
    ) -> zbus::Result<Vec<(String, bool)>>;

    fn add_object(&self, table_path: &str) -> zbus::Result<u32>;

    fn delete_object(&self, object_path: &str) -> zbus::Result<()>;

    fn factory_reset(&self) -> zbus::Result<()>;

    fn operate(
        &self,
        command: &str,
        args: HashMap<&str, &str>,
    ) -> zbus::Result<HashMap<String, String>>;

    #[zbus(signal)]
    fn values_changed(&self, changes: Vec<(String, String)>) -> zbus::Result<()>;

    #[zbus(signal)]
    fn event(
        &self,
        object_path: String,
        kind: String,
        data: HashMap<String, String>,
    ) -> zbus::Result<()>;
}
