//! The `org.dhcpmgr.DataModel1` methods and signals themselves (zbus's `#[interface]`), each
//! a thin call into [`DataModel`]'s read, write and command paths. Kept in a private module of
//! its own so that the `DataModelSignals` trait zbus generates (whose methods it gives no docs)
//! stays out of the library's public surface.

use std::collections::{BTreeMap, HashMap};

use tracing::{debug, info};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::Connection;

use super::{DataModel, Error};
use crate::boottime::BootSeconds;
use crate::channels::ControllerCommand;

#[zbus::interface(name = "org.dhcpmgr.DataModel1")]
impl DataModel {
    /// (name, type, value) of each full name and of every parameter below each partial path.
    async fn get_parameter_values(
        &self,
        names: Vec<String>,
    ) -> Result<Vec<(String, String, String)>, Error> {
        Ok(self.tree().get_values(&names, BootSeconds::now())?)
    }

    /// Writes all the values or none.
    async fn set_parameter_values(
        &self,
        values: Vec<(String, String)>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        Ok(self.set_values(conn, &header, &values).await?)
    }

    /// (name, writable) of the path and what is below it, or of its children only.
    async fn get_parameter_names(
        &self,
        path: String,
        next_level: bool,
    ) -> Result<Vec<(String, bool)>, Error> {
        Ok(self.tree().get_names(&path, next_level)?)
    }

    /// Adds a client (`Device.DHCPv4.Client.`) or a row of an option table
    /// (`Device.DHCPv4.Client.1.SentOption.`); returns its instance number. It starts disabled.
    async fn add_object(
        &self,
        table_path: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<u32, Error> {
        Ok(self.add_row(conn, &header, &table_path).await?)
    }

    /// Deletes a client (`Device.DHCPv4.Client.2.`) or an option-table row
    /// (`Device.DHCPv4.Client.1.SentOption.2.`).
    async fn delete_object(
        &self,
        object_path: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        Ok(self.delete_row(conn, &header, &object_path).await?)
    }

    /// Forgets every value written over D-Bus: the clients go back to the configuration
    /// file's settings (restarting those that change). A dhcpmgr extension (docs/contracts.md#d-bus).
    async fn factory_reset(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        let uid = self.authorize(conn, &header).await?;
        let _writing = self.writing.lock().await;
        info!(uid, "FactoryReset");
        Ok(self
            .writer
            .ask("Device.", |reply| ControllerCommand::FactoryReset { reply })
            .await?)
    }

    /// Runs a command such as `Device.DHCPv4.Client.1.Renew()`; returns its output arguments.
    async fn operate(
        &self,
        command: String,
        args: HashMap<String, String>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<HashMap<String, String>, Error> {
        let uid = self.authorize(conn, &header).await?;
        let request = self.tree().plan_operate(&command, &args)?;
        info!(uid, command, "Operate");
        let changes = self.writer.carry_out(request).await?;
        self.signal_changes(conn, &changes).await;
        debug!(command, "Operate done");
        Ok(HashMap::new())
    }

    /// Parameters whose values changed: (name, value).
    #[zbus(signal)]
    pub async fn values_changed(
        emitter: &SignalEmitter<'_>,
        changes: &[(String, String)],
    ) -> zbus::Result<()>;

    /// Something happened to a client (docs/contracts.md#d-bus for the kinds).
    #[zbus(signal)]
    pub async fn event(
        emitter: &SignalEmitter<'_>,
        object_path: &str,
        kind: &str,
        data: &BTreeMap<String, String>,
    ) -> zbus::Result<()>;
}
