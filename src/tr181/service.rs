//! The D-Bus face of the data model: interface `org.dhcpmgr.DataModel1` (docs/contracts.md#d-bus) over the
//! tree, CWMP faults as `org.dhcpmgr.Error.*`, the check of a writer's uid, and the hand-off of
//! writes and commands to the controller.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;
use tracing::info;
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::object_server::SignalEmitter;
use zbus::Connection;

use super::fault::{Fault, FaultKind};
use super::tree::{AddPlan, ClientRequest, DeletePlan, Tree};
use crate::boottime::BootSeconds;
use crate::channels::{
    ClientAction, CommandError, CommandSender, ControllerCommand, ControllerUpdate,
};
use crate::model::ClientKey;

mod interface;

/// How long a write or command waits for the controller to carry it out: longer than a DHCP
/// client may take to release and stop (2 s to release, 3 s after SIGTERM).
const REPLY_TIMEOUT: Duration = Duration::from_secs(8);

/// The tree, shared by the interface and the thread that applies controller updates. The lock
/// is never held across an `.await`.
pub type SharedTree = Arc<Mutex<Tree>>;

/// The D-Bus errors of the interface, one per CWMP fault; the message names the parameter and
/// ends with the fault code.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.dhcpmgr.Error")]
pub enum Error {
    /// `org.dhcpmgr.Error.RequestDenied`: CWMP fault 9001 ([`FaultKind::RequestDenied`]).
    RequestDenied(String),
    /// `org.dhcpmgr.Error.InternalError`: CWMP fault 9002 ([`FaultKind::InternalError`]).
    InternalError(String),
    /// `org.dhcpmgr.Error.InvalidArguments`: CWMP fault 9003 ([`FaultKind::InvalidArguments`]).
    InvalidArguments(String),
    /// `org.dhcpmgr.Error.ResourcesExceeded`: CWMP fault 9004
    /// ([`FaultKind::ResourcesExceeded`]).
    ResourcesExceeded(String),
    /// `org.dhcpmgr.Error.InvalidParameterName`: CWMP fault 9005
    /// ([`FaultKind::InvalidParameterName`]).
    InvalidParameterName(String),
    /// `org.dhcpmgr.Error.InvalidParameterType`: CWMP fault 9006
    /// ([`FaultKind::InvalidParameterType`]).
    InvalidParameterType(String),
    /// `org.dhcpmgr.Error.InvalidParameterValue`: CWMP fault 9007
    /// ([`FaultKind::InvalidParameterValue`]).
    InvalidParameterValue(String),
    /// `org.dhcpmgr.Error.NotWritable`: CWMP fault 9008 ([`FaultKind::NotWritable`]).
    NotWritable(String),
}

impl From<Fault> for Error {
    fn from(fault: Fault) -> Self {
        let message = fault.to_string();
        match fault.kind {
            FaultKind::RequestDenied => Self::RequestDenied(message),
            FaultKind::InternalError => Self::InternalError(message),
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
    writer: Writer,
    /// Users besides root allowed to write.
    write_uids: Arc<[u32]>,
    /// Held from planning a write to its end, so that each write starts from the settings the
    /// one before it left.
    writing: tokio::sync::Mutex<()>,
}

impl DataModel {
    /// The interface over `tree`: writes and commands go to the controller through `commands`,
    /// and only root and the users in `write_uids` may make them (anyone on the bus may read).
    pub fn new(tree: SharedTree, commands: CommandSender, write_uids: Arc<[u32]>) -> Self {
        Self {
            writer: Writer::new(tree.clone(), commands),
            tree,
            write_uids,
            writing: tokio::sync::Mutex::new(()),
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

    /// SetParameterValues for the sender of `header`, all or nothing: the uid check, then every
    /// value validated, then the writes handed to the controller. Also behind `Properties.Set`
    /// on the per-object D-Bus objects ([`super::objects`]).
    pub(crate) async fn set_values(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        values: &[(String, String)],
    ) -> Result<(), Fault> {
        let uid = self.authorize(conn, header).await?;
        let _writing = self.writing.lock().await;
        let requests = self.tree().plan_set(values)?;
        info!(uid, ?values, "SetParameterValues");
        for request in requests {
            let changes = self.writer.carry_out(request).await?;
            self.signal_changes(conn, &changes).await;
        }
        Ok(())
    }

    /// AddObject for the sender of `header`: returns the new row's instance number.
    async fn add_row(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        table: &str,
    ) -> Result<u32, Fault> {
        let uid = self.authorize(conn, header).await?;
        let _writing = self.writing.lock().await;
        let (instance, changes) = self.writer.add_row(table).await?;
        info!(uid, table, instance, "AddObject");
        self.signal_changes(conn, &changes).await;
        Ok(instance)
    }

    /// DeleteObject for the sender of `header`.
    async fn delete_row(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        row: &str,
    ) -> Result<(), Fault> {
        let uid = self.authorize(conn, header).await?;
        let _writing = self.writing.lock().await;
        info!(uid, row, "DeleteObject");
        let changes = self.writer.delete_row(row).await?;
        self.signal_changes(conn, &changes).await;
        Ok(())
    }

    /// Emits `ValuesChanged` for `changes`, if any.
    async fn signal_changes(&self, conn: &Connection, changes: &[(String, String)]) {
        if changes.is_empty() {
            return;
        }
        let emitted = match SignalEmitter::new(conn, super::OBJECT_PATH) {
            Ok(emitter) => Self::values_changed(&emitter, changes).await,
            Err(e) => Err(e),
        };
        if let Err(e) = emitted {
            tracing::warn!(error = %e, "cannot emit ValuesChanged");
        }
    }
}

/// The write path every front end shares (D-Bus here, RBUS in [`crate::rbus`]): plans a
/// request on the tree, hands it to the controller, waits for the outcome and takes what the
/// controller accepted into the tree. Each call returns the values that changed.
#[derive(Clone)]
pub struct Writer {
    tree: SharedTree,
    commands: CommandSender,
}

impl Writer {
    /// A writer that plans on `tree` and hands the requests to the controller on `commands`.
    pub fn new(tree: SharedTree, commands: CommandSender) -> Self {
        Self { tree, commands }
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// SetParameterValues, all or nothing: every value validated, then the writes handed to
    /// the controller.
    pub async fn set_values(
        &self,
        values: &[(String, String)],
    ) -> Result<Vec<(String, String)>, Fault> {
        let requests = self.tree().plan_set(values)?;
        let mut changes = Vec::new();
        for request in requests {
            changes.extend(self.carry_out(request).await?);
        }
        Ok(changes)
    }

    /// AddObject: the new row's instance number. A new client is in the tree before this
    /// returns, so the caller's next write finds it.
    pub async fn add_row(&self, table: &str) -> Result<(u32, Vec<(String, String)>), Fault> {
        let plan = self.tree().plan_add(table)?;
        match plan {
            AddPlan::Row { request, instance } => Ok((instance, self.carry_out(request).await?)),
            AddPlan::Client(family) => {
                let update = self
                    .ask(table, |reply| ControllerCommand::AddClient {
                        family,
                        reply,
                    })
                    .await?;
                let instance = match &update {
                    ControllerUpdate::V4Client(c) => c.instance,
                    ControllerUpdate::V6Client(c) => c.instance,
                    _ => {
                        return Err(Fault::new(
                            FaultKind::RequestDenied,
                            format!("{table}: the controller answered with no client"),
                        ))
                    }
                };
                Ok((instance.0, self.take_in(&update)))
            }
        }
    }

    /// DeleteObject. A deleted client is out of the tree before this returns.
    pub async fn delete_row(&self, row: &str) -> Result<Vec<(String, String)>, Fault> {
        let plan = self.tree().plan_delete(row)?;
        match plan {
            DeletePlan::Row(request) => self.carry_out(request).await,
            DeletePlan::Client(client) => {
                self.ask(row, |reply| ControllerCommand::DeleteClient {
                    client,
                    reply,
                })
                .await?;
                let removed = match client {
                    ClientKey::V4(i) => ControllerUpdate::V4ClientRemoved(i),
                    ClientKey::V6(i) => ControllerUpdate::V6ClientRemoved(i),
                };
                Ok(self.take_in(&removed))
            }
        }
    }

    /// Sends `command` to the controller and waits for the outcome; `object` names what it is
    /// about in faults.
    pub async fn ask<T>(
        &self,
        object: &str,
        command: impl FnOnce(oneshot::Sender<Result<T, CommandError>>) -> ControllerCommand,
    ) -> Result<T, Fault> {
        let (reply, outcome) = oneshot::channel();
        let answer = match self.commands.try_send(command(reply)) {
            Err(TrySendError::Full(_)) => Err(CommandError::Busy),
            Err(TrySendError::Closed(_)) => Err(CommandError::ControllerGone),
            Ok(()) => match tokio::time::timeout(REPLY_TIMEOUT, outcome).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err(CommandError::ControllerGone),
                Err(_) => Err(CommandError::NoAnswer {
                    seconds: REPLY_TIMEOUT.as_secs(),
                }),
            },
        };
        answer.map_err(|e| Fault::from_command(object, &e))
    }

    /// Applies a controller update the reply to a request carried.
    fn take_in(&self, update: &ControllerUpdate) -> Vec<(String, String)> {
        self.tree().apply(update, BootSeconds::now())
    }

    /// Sends `request` to the controller and waits for the outcome; settings it accepted go
    /// into the tree at once.
    pub async fn carry_out(&self, request: ClientRequest) -> Result<Vec<(String, String)>, Fault> {
        let ClientRequest { client, action } = request;
        let settings = match &action {
            ClientAction::Configure(config) => Some(config.clone()),
            _ => None,
        };
        self.ask(&client.object_path(), |reply| ControllerCommand::Client {
            client,
            action,
            reply,
        })
        .await?;
        Ok(match settings {
            Some(config) => self
                .tree()
                .note_settings(client, &config, BootSeconds::now()),
            None => Vec::new(),
        })
    }
}
