//! The TR-181 thread (docs/architecture.md, docs/contracts.md#d-bus): owns the data-model tree, keeps
//! it current from the controller's updates, serves it as `org.dhcpmgr` on the configured bus and
//! signals changes (`ValuesChanged`, `Event`), and hosts the RBUS front end on the same tree.
//! DHCP must keep working without D-Bus: while the bus cannot be reached the thread retries with
//! backoff and goes on applying updates, so the tree is current the moment it connects.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::ObjectPath;
use zbus::Connection;

use crate::boottime::BootSeconds;
use crate::channels::{CommandSender, ControllerUpdate, UpdateReceiver};
use crate::config::BusChoice;
use crate::tr181::definition::Definition;
use crate::tr181::service::{self, DataModel, SharedTree};
use crate::tr181::tree::Tree;
use crate::tr181::{connection_builder, objects, BUS_NAME, OBJECT_PATH};

/// First and longest wait between attempts to reach the bus.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// How long releasing the bus name may hold up shutdown.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the TR-181 thread takes from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tr181Settings {
    /// Which bus to serve `org.dhcpmgr` on.
    pub bus: BusChoice,
    /// Users besides root allowed to write.
    pub write_uids: Vec<u32>,
    /// Rows AddObject may grow a table to.
    pub table_limit: usize,
    /// The RBUS front end, served by this thread too.
    pub rbus: crate::config::RbusSettings,
}

/// Starts the TR-181 thread ("tr181"). It runs until `shutdown` is cancelled, then releases its
/// bus name and returns. Fails only if the compiled-in definition is broken or the thread or
/// its runtime cannot be created.
pub fn spawn(
    settings: Tr181Settings,
    updates: UpdateReceiver,
    commands: CommandSender,
    shutdown: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let definition =
        Definition::builtin().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut tree = Tree::new(definition);
    tree.set_table_limit(settings.table_limit);
    let tree = Arc::new(Mutex::new(tree));
    thread::Builder::new().name("tr181".into()).spawn(move || {
        runtime.block_on(run(settings, tree, updates, commands, shutdown));
    })
}

async fn run(
    settings: Tr181Settings,
    tree: SharedTree,
    mut updates: UpdateReceiver,
    commands: CommandSender,
    shutdown: CancellationToken,
) {
    let write_uids: Arc<[u32]> = settings.write_uids.into();
    let mut updates_open = true;
    let mut rbus = crate::rbus::Frontend::start(
        &settings.rbus,
        tree.clone(),
        service::Writer::new(tree.clone(), commands.clone()),
    );
    loop {
        let model = || DataModel::new(tree.clone(), commands.clone(), write_uids.clone());
        let connecting = connect(&settings.bus, model);
        tokio::pin!(connecting);
        let conn = loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                conn = &mut connecting => break conn,
                update = next_update(&mut updates, &mut updates_open) => {
                    apply(&tree, &update, rbus.as_ref());
                }
                // Nobody on D-Bus to tell.
                _ = rbus_changes(rbus.as_mut()) => {}
            }
        };
        info!(bus = ?settings.bus, name = BUS_NAME, path = OBJECT_PATH, "serving the TR-181 data model");
        let mut objects = objects::Objects::serve(&conn, tree.clone()).await;
        let emitter = SignalEmitter::from_parts(
            conn.clone(),
            ObjectPath::from_static_str_unchecked(OBJECT_PATH),
        );
        loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    release_name(&conn).await;
                    return;
                }
                () = conn.closed() => {
                    warn!(bus = ?settings.bus, "lost the D-Bus connection; reconnecting");
                    break;
                }
                update = next_update(&mut updates, &mut updates_open) => {
                    let changes = apply(&tree, &update, rbus.as_ref());
                    publish(&emitter, &update, &changes, &tree, settings.rbus.lease_info).await;
                    objects.update().await;
                }
                changes = rbus_changes(rbus.as_mut()) => {
                    signal_changes(&emitter, &changes).await;
                    objects.update().await;
                }
            }
        }
    }
}

/// Connects, serves the interface and takes the bus name, retrying with backoff until it works.
async fn connect(bus: &BusChoice, model: impl Fn() -> DataModel) -> Connection {
    let mut delay = RETRY_FIRST;
    loop {
        match try_connect(bus, model()).await {
            Ok(conn) => return conn,
            Err(e) => {
                warn!(bus = ?bus, error = %e, retry_in_s = delay.as_secs(),
                    "D-Bus unavailable: the data model is offline, DHCP goes on");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
        }
    }
}

async fn try_connect(bus: &BusChoice, model: DataModel) -> zbus::Result<Connection> {
    let conn = connection_builder(bus)?
        .serve_at(OBJECT_PATH, model)?
        .build()
        .await?;
    // Not through the builder: it would let another process take the name over, and would
    // not tell us when the name is already taken.
    match conn
        .request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into())
        .await?
    {
        RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => Ok(conn),
        RequestNameReply::InQueue | RequestNameReply::Exists => Err(zbus::Error::NameTaken),
    }
}

/// The next controller update; once the controller has hung up, never.
async fn next_update(updates: &mut UpdateReceiver, open: &mut bool) -> ControllerUpdate {
    if *open {
        if let Some(update) = updates.recv().await {
            return update;
        }
        *open = false;
        debug!("the controller closed its update channel");
    }
    std::future::pending().await
}

/// Applies an update to the tree and lets the RBUS front end follow it; returns the changed
/// values.
fn apply(
    tree: &Mutex<Tree>,
    update: &ControllerUpdate,
    rbus: Option<&crate::rbus::Frontend>,
) -> Vec<(String, String)> {
    let changes = tree
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .apply(update, BootSeconds::now());
    if let Some(rbus) = rbus {
        rbus.on_update(update);
    }
    changes
}

/// The values the next RBUS write changes; never, without the RBUS front end.
async fn rbus_changes(rbus: Option<&mut crate::rbus::Frontend>) -> Vec<(String, String)> {
    match rbus {
        Some(rbus) => rbus.changed().await,
        None => std::future::pending().await,
    }
}

/// Emits `ValuesChanged` for `changes`, if any.
async fn signal_changes(emitter: &SignalEmitter<'_>, changes: &[(String, String)]) {
    if !changes.is_empty() {
        debug!(count = changes.len(), "ValuesChanged");
        if let Err(e) = DataModel::values_changed(emitter, changes).await {
            warn!(error = %e, "cannot emit ValuesChanged");
        }
    }
}

/// Emits `ValuesChanged` for `changes` and `Event` for an event update: its data with the lease
/// event's named values (`IfName`, `MsgType`, `LeaseInfo.<field>`) added, as RBUS carries them.
async fn publish(
    emitter: &SignalEmitter<'_>,
    update: &ControllerUpdate,
    changes: &[(String, String)],
    tree: &Mutex<Tree>,
    lease_info: crate::config::LeaseInfoVersion,
) {
    signal_changes(emitter, changes).await;
    if let ControllerUpdate::Event {
        object_path,
        kind,
        data,
    } = update
    {
        let event = crate::rbus::lease_event::LeaseEvent::of(
            &tree.lock().unwrap_or_else(PoisonError::into_inner),
            lease_info,
            object_path,
            *kind,
            data,
        );
        let mut data = data.clone();
        data.extend(event.iter().flat_map(|event| event.named()));
        debug!(object_path, kind = kind.as_str(), "Event");
        if let Err(e) = DataModel::event(emitter, object_path, kind.as_str(), &data).await {
            warn!(error = %e, "cannot emit Event");
        }
    }
}

async fn release_name(conn: &Connection) {
    match tokio::time::timeout(RELEASE_TIMEOUT, conn.release_name(BUS_NAME)).await {
        Ok(Ok(_)) => info!(name = BUS_NAME, "released the bus name"),
        Ok(Err(e)) => warn!(name = BUS_NAME, error = %e, "cannot release the bus name"),
        Err(_) => warn!(name = BUS_NAME, "releasing the bus name timed out"),
    }
}
