//! The D-Bus face of the data model: interface `org.dhcpmgr.DataModel1` (design §4.3) over the
//! tree, CWMP faults as `org.dhcpmgr.Error.*`, the check of a writer's uid, and the hand-off of
//! writes and commands to the controller.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;
use tracing::{debug, info};
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::object_server::SignalEmitter;
use zbus::Connection;

use super::fault::{Fault, FaultKind};
use super::tree::{ClientRequest, Tree};
use crate::boottime::BootSeconds;
use crate::channels::{CommandSender, ControllerCommand};

/// How long a write or command waits for the controller to carry it out.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tree, shared by the interface and the thread that applies controller updates. The lock
/// is never held across an `.await`.
pub type SharedTree = Arc<Mutex<Tree>>;

/// The D-Bus errors of the interface, one per CWMP fault; the message names the parameter and
/// ends with the fault code.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.dhcpmgr.Error")]
pub enum Error {
    RequestDenied(String),
    InvalidArguments(String),
    ResourcesExceeded(String),
    InvalidParameterName(String),
    InvalidParameterType(String),
    InvalidParameterValue(String),
    NotWritable(String),
}

impl From<Fault> for Error {
    fn from(fault: Fault) -> Self {
        let message = fault.to_string();
        match fault.kind {
            FaultKind::RequestDenied => Self::RequestDenied(message),
            FaultKind::InvalidArguments => Self::InvalidArguments(message),
            FaultKind::ResourcesExceeded => Self::ResourcesExceeded(message),
            FaultKind::InvalidParameterName => Self::InvalidParameterName(message),
            FaultKind::InvalidParameterType => Self::InvalidParameterType(message),
            FaultKind::InvalidParameterValue => Self::InvalidParameterValue(message),
            FaultKind::NotWritable => Self::NotWritable(message),
        }
    }
}

/// The object served at `/org/dhcpmgr`.
pub struct DataModel {
    tree: SharedTree,
    commands: CommandSender,
    /// Users besides root allowed to write.
    write_uids: Arc<[u32]>,
}

impl DataModel {
    pub fn new(tree: SharedTree, commands: CommandSender, write_uids: Arc<[u32]>) -> Self {
        Self {
            tree,
            commands,
            write_uids,
        }
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller's uid, if it may write: root or one of the configured users.
    async fn authorize(&self, conn: &Connection, header: &Header<'_>) -> Result<u32, Fault> {
        let denied = |why: String| Fault::new(FaultKind::RequestDenied, why);
        let sender = header
            .sender()
            .ok_or_else(|| denied("the request has no sender".into()))?;
        let bus = DBusProxy::new(conn)
            .await
            .map_err(|e| denied(format!("cannot ask the bus for the caller's uid: {e}")))?;
        let uid = bus
            .get_connection_unix_user(BusName::Unique(sender.clone()))
            .await
            .map_err(|e| denied(format!("cannot tell the caller's uid: {e}")))?;
        if uid == 0 || self.write_uids.contains(&uid) {
            Ok(uid)
        } else {
            info!(uid, sender = %sender, "write refused: not an allowed user");
            Err(denied(format!(
                "uid {uid} may not write; writers are root and the configured users"
            )))
        }
    }

    /// Sends `request` to the controller and waits for the outcome.
    async fn carry_out(&self, request: ClientRequest) -> Result<(), Fault> {
        let object = request.object_path();
        let denied = |why: &str| Fault::new(FaultKind::RequestDenied, format!("{object}: {why}"));
        let (reply, outcome) = oneshot::channel();
        let command = ControllerCommand {
            client: request.client,
            action: request.action,
            reply,
        };
        self.commands.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) => Fault::new(
                FaultKind::ResourcesExceeded,
                format!("{object}: too many requests are waiting for the controller"),
            ),
            TrySendError::Closed(_) => denied("the controller is not running"),
        })?;
        match tokio::time::timeout(REPLY_TIMEOUT, outcome).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(why))) => Err(denied(&why)),
            Ok(Err(_)) => Err(denied("the controller dropped the request")),
            Err(_) => Err(denied(&format!(
                "the controller did not answer within {} s",
                REPLY_TIMEOUT.as_secs()
            ))),
        }
    }
}

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
        let uid = self.authorize(conn, &header).await?;
        let requests = self.tree().plan_set(&values)?;
        info!(uid, ?values, "SetParameterValues");
        for request in requests {
            self.carry_out(request).await?;
        }
        Ok(())
    }

    /// (name, writable) of the path and what is below it, or of its children only.
    async fn get_parameter_names(
        &self,
        path: String,
        next_level: bool,
    ) -> Result<Vec<(String, bool)>, Error> {
        Ok(self.tree().get_names(&path, next_level)?)
    }

    /// Always refused in this build: client rows come from the configuration.
    async fn add_object(
        &self,
        table_path: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<u32, Error> {
        self.authorize(conn, &header).await?;
        Err(self.tree().add_object(&table_path).into())
    }

    /// Always refused in this build: client rows come from the configuration.
    async fn delete_object(
        &self,
        object_path: String,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Error> {
        self.authorize(conn, &header).await?;
        Err(self.tree().delete_object(&object_path).into())
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
        self.carry_out(request).await?;
        debug!(command, "Operate done");
        Ok(HashMap::new())
    }

    /// Parameters whose values changed: (name, value).
    #[zbus(signal)]
    pub async fn values_changed(
        emitter: &SignalEmitter<'_>,
        changes: &[(String, String)],
    ) -> zbus::Result<()>;

    /// Something happened to a client (design §4.3 for the kinds).
    #[zbus(signal)]
    pub async fn event(
        emitter: &SignalEmitter<'_>,
        object_path: &str,
        kind: &str,
        data: &BTreeMap<String, String>,
    ) -> zbus::Result<()>;
}
