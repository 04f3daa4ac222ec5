//! The messages that cross between the controller thread and the TR-181 thread.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, oneshot};

use crate::config::{ClientAlias, InterfaceName, V4ClientConfig, V6ClientConfig};
use crate::model::{ClientKey, EventKind, Family, Instance, V4ClientSnapshot, V6ClientSnapshot};
use crate::overrides::NotStored;
use crate::persist::PersistError;

/// Controller → TR-181 thread.
#[derive(Debug, Clone)]
pub enum ControllerUpdate {
    /// A DHCPv4 client's state changed (or it was added).
    V4Client(Box<V4ClientSnapshot>),
    /// A DHCPv4 client was removed from the configuration.
    V4ClientRemoved(Instance),
    /// A DHCPv6 client's settings or status changed (or it was added).
    V6Client(Box<V6ClientSnapshot>),
    /// A DHCPv6 client was removed from the configuration.
    V6ClientRemoved(Instance),
    /// Something happened that WAN Manager listens for.
    Event {
        /// The client's object path without the trailing dot (`Device.DHCPv4.Client.1`).
        object_path: String,
        /// Which event it is (the signal's `kind` argument).
        kind: EventKind,
        /// The event's named values (`interface`, `reason`, …; docs/contracts.md#d-bus).
        data: BTreeMap<String, String>,
    },
}

/// New settings for a client of either family (a TR-181 write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientConfig {
    /// Settings for a `Device.DHCPv4.Client.{i}`.
    V4(Box<V4ClientConfig>),
    /// Settings for a `Device.DHCPv6.Client.{i}`.
    V6(Box<V6ClientConfig>),
}

impl ClientConfig {
    /// The TR-181 `Alias`.
    pub fn tr181_alias(&self) -> &ClientAlias {
        match self {
            Self::V4(c) => c.tr181_alias(),
            Self::V6(c) => c.tr181_alias(),
        }
    }

    /// The Linux interface, if it has one.
    pub fn interface(&self) -> Option<&InterfaceName> {
        match self {
            Self::V4(c) => c.interface.as_ref(),
            Self::V6(c) => c.interface.as_ref(),
        }
    }

    /// The TR-181 `Enable`.
    pub fn enable(&self) -> bool {
        match self {
            Self::V4(c) => c.enable,
            Self::V6(c) => c.enable,
        }
    }
}

impl TryFrom<ClientConfig> for V4ClientConfig {
    /// Settings of the other family, given back.
    type Error = ClientConfig;

    fn try_from(config: ClientConfig) -> Result<Self, ClientConfig> {
        match config {
            ClientConfig::V4(settings) => Ok(*settings),
            other => Err(other),
        }
    }
}

impl TryFrom<ClientConfig> for V6ClientConfig {
    /// Settings of the other family, given back.
    type Error = ClientConfig;

    fn try_from(config: ClientConfig) -> Result<Self, ClientConfig> {
        match config {
            ClientConfig::V6(settings) => Ok(*settings),
            other => Err(other),
        }
    }
}

/// What can be asked of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAction {
    /// Renew the lease now (udhcpc: SIGUSR1).
    Renew,
    /// Release the lease and stop the client (udhcpc: SIGUSR2, then stop).
    Release,
    /// Stop and start the client again, keeping the lease.
    Restart,
    /// Take these settings (written over TR-181; kept across restarts): start or stop it as
    /// `enable` says, restart it when anything else changed.
    Configure(ClientConfig),
}

/// Why a [`ControllerCommand`] was not carried out as asked. `tr181::fault` maps each kind to
/// its CWMP fault, in one place.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The controller has no such client (deleted meanwhile).
    #[error("no client {}", .0.object_path())]
    NoSuchClient(ClientKey),
    /// The request does not fit the client (e.g. settings of the other family).
    #[error("{reason}")]
    Conflict {
        /// What does not fit, for the caller.
        reason: String,
    },
    /// The client cannot do it now (e.g. renew while it is not running).
    #[error("{reason}")]
    Refused {
        /// Why not now, for the caller.
        reason: String,
    },
    /// Storing the write ahead failed, so none of it is in force.
    #[error(transparent)]
    NotStored(#[from] NotStored),
    /// The change is in force but could not be stored: it is lost at the next restart.
    #[error("the settings are in force but could not be stored: {0}")]
    NotPersisted(PersistError),
    /// Too many requests are waiting for the controller.
    #[error("too many requests are waiting for the controller")]
    Busy,
    /// The controller is not running, or dropped the request.
    #[error("the controller is not running or dropped the request")]
    ControllerGone,
    /// The controller did not answer in time.
    #[error("the controller did not answer within {seconds} s")]
    NoAnswer {
        /// How long the TR-181 thread waited.
        seconds: u64,
    },
}

/// Receives `Ok(())` once a command was carried out, or why it could not be.
pub type CommandReply = oneshot::Sender<Result<(), CommandError>>;

/// Receives the new client's picture (a `V4Client`/`V6Client` update) once AddObject created
/// it, or why it could not be created.
pub type AddReply = oneshot::Sender<Result<ControllerUpdate, CommandError>>;

/// TR-181 thread → controller, with a channel for the outcome.
#[derive(Debug)]
pub enum ControllerCommand {
    /// An action on one client.
    Client {
        /// The client it is for.
        client: ClientKey,
        /// What to do.
        action: ClientAction,
        /// Answered once the action is in force (and persisted), or with why not.
        reply: CommandReply,
    },
    /// Create a client (AddObject on a client table): disabled and without an interface until
    /// written; it gets an instance number never used before.
    AddClient {
        /// Which table grows.
        family: Family,
        /// Answered with the new client's picture once it is created and persisted.
        reply: AddReply,
    },
    /// Delete a client (DeleteObject): stop it (releasing its lease if `release_on_disable`),
    /// drop its lease locally and forget it.
    DeleteClient {
        /// The client to delete.
        client: ClientKey,
        /// Answered once the client is gone and forgotten on disk, or with why not.
        reply: CommandReply,
    },
    /// Forget every TR-181 write: all clients go back to the configuration file's settings.
    FactoryReset {
        /// Answered once every client runs its file settings and the writes are forgotten on
        /// disk.
        reply: CommandReply,
    },
}

/// The controller's side of [`ControllerUpdate`]s (unbounded: a lease is never held up by a slow bus).
pub type UpdateSender = mpsc::UnboundedSender<ControllerUpdate>;
/// The TR-181 thread's side of [`ControllerUpdate`]s.
pub type UpdateReceiver = mpsc::UnboundedReceiver<ControllerUpdate>;
/// The TR-181 thread's side of [`ControllerCommand`]s (bounded: a flood of bus requests waits, it does not grow memory).
pub type CommandSender = mpsc::Sender<ControllerCommand>;
/// The controller's side of [`ControllerCommand`]s.
pub type CommandReceiver = mpsc::Receiver<ControllerCommand>;
