//! The RBUS provider: opens the bus as the configured component, registers every object and
//! parameter of the data model's definition (tables with add/remove-row handlers, properties
//! with get/set and value-change subscription, each client's `Events` property, `GetHealth()`),
//! and answers the requests of the handlers ([`super::handlers`], on librbus's threads) on the
//! TR-181 thread, which owns the tree and shares one write path, [`Writer`], with the D-Bus
//! front end. It follows the controller's updates into table rows ([`super::rows`]) and lease
//! events ([`super::events`]).

use std::collections::{BTreeSet, HashMap};
use std::ffi::{c_int, CStr, CString};
use std::ptr;
use std::sync::{mpsc as std_mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::events::{current_lease_event, lease_event, publish, EVENTS};
use super::ffi::{self, Api, CallbackTable, DataElement, Handle};
use super::handlers::{
    add_row_handler, get_attributes_handler, get_handler, health_handler, remove_row_handler,
    set_handler, subscribe_handler,
};
use super::lease_event::LeaseEvent;
use super::liveness;
use super::rows::sync_rows;
use crate::boottime::BootSeconds;
use crate::channels::ControllerUpdate;
use crate::config::{LeaseInfoVersion, RbusSettings};
use crate::tr181::definition::Definition;
use crate::tr181::fault::Fault;
use crate::tr181::service::{SharedTree, Writer};

/// Wait between attempts to reach the broker.
const RETRY: Duration = Duration::from_secs(2);
/// Wait between checks that the broker still routes the data model here.
const WATCH: Duration = Duration::from_secs(2);
/// Failed checks in a row after which the bus is reopened.
const MISSES: u32 = 2;
/// How long after an RBUS add-row the rows below the new row are registered.
const RESYNC_DELAY: Duration = Duration::from_millis(200);
/// Requests waiting for the TR-181 thread.
const QUEUE: usize = 32;

/// What a handler asks of the TR-181 thread.
pub(super) enum Request {
    Get {
        name: String,
        reply: std_mpsc::SyncSender<Result<(String, String), Fault>>,
    },
    GetEvents {
        name: String,
        reply: std_mpsc::SyncSender<Option<LeaseEvent>>,
    },
    Set {
        values: Vec<(String, String)>,
        reply: std_mpsc::SyncSender<Result<(), Fault>>,
    },
    AddRow {
        table: String,
        reply: std_mpsc::SyncSender<Result<u32, Fault>>,
    },
    RemoveRow {
        row: String,
        reply: std_mpsc::SyncSender<Result<(), Fault>>,
    },
    /// `(parameter, writable)` of each name, a partial path standing for every parameter
    /// below it.
    Attributes {
        names: Vec<String>,
        reply: std_mpsc::SyncSender<Result<Vec<(String, bool)>, Fault>>,
    },
}

/// What the handlers share: the loaded library, the way to the TR-181 thread, and the values
/// of multi-parameter sets waiting for their commit.
pub(super) struct Bridge {
    pub(super) api: Api,
    pub(super) requests: mpsc::Sender<Request>,
    pub(super) sessions: Mutex<HashMap<u32, Vec<(String, String)>>>,
}

pub(super) static BRIDGE: OnceLock<Bridge> = OnceLock::new();

/// The open bus: the handle, the registered element names (librbus keeps pointers to them)
/// and the table rows registered so far.
pub(super) struct Connected {
    pub(super) handle: Handle,
    _names: Vec<CString>,
    pub(super) rows: BTreeSet<String>,
    /// A row (`….2.`) or table (`….Client.`) an RBUS consumer is adding or removing: librbus
    /// registers or unregisters that row itself once the handler returns, so the sync leaves
    /// rows below this path alone meanwhile.
    pub(super) busy: Option<String>,
}

// SAFETY: librbus handles are used from any thread (the library locks internally).
unsafe impl Send for Connected {}

/// Values an RBUS write changed, for the D-Bus front end's `ValuesChanged`.
type Changes = Vec<(String, String)>;

/// The RBUS front end as the TR-181 thread holds it.
pub(crate) struct Frontend {
    state: Arc<Mutex<Option<Connected>>>,
    tree: SharedTree,
    lease_info: LeaseInfoVersion,
    changes: mpsc::UnboundedReceiver<Changes>,
}

impl Frontend {
    /// Starts the front end if `[rbus] enable`: loads librbus, then opens the bus in the
    /// background, retrying until the broker answers (DHCP goes on meanwhile). Must run on the
    /// TR-181 thread's runtime.
    pub(crate) fn start(settings: &RbusSettings, tree: SharedTree, writer: Writer) -> Option<Self> {
        if !settings.enable {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        if BRIDGE.get().is_none() {
            let api = match Api::load() {
                Ok(api) => api,
                Err(e) => {
                    error!(library = ffi::LIBRARY, error = %e,
                        "cannot load librbus: the data model is not on RBUS");
                    return None;
                }
            };
            let bridge = Bridge {
                api,
                requests: tx,
                sessions: Mutex::new(HashMap::new()),
            };
            if BRIDGE.set(bridge).is_err() {
                error!("the RBUS front end is already running");
                return None;
            }
        } else {
            error!("the RBUS front end is already running");
            return None;
        }
        let (changed, changes) = mpsc::unbounded_channel();
        let frontend = Self {
            state: Arc::new(Mutex::new(None)),
            tree: tree.clone(),
            lease_info: settings.lease_info,
            changes,
        };
        let served = Served {
            tree: tree.clone(),
            writer,
            state: frontend.state.clone(),
            version: settings.lease_info,
            changed,
        };
        tokio::spawn(serve(rx, served));
        tokio::spawn(keep_connected(
            settings.component.clone(),
            tree,
            frontend.state.clone(),
        ));
        Some(frontend)
    }

    /// The values the next RBUS write changes (D-Bus signals them too).
    pub(crate) async fn changed(&mut self) -> Changes {
        match self.changes.recv().await {
            Some(changes) => changes,
            None => std::future::pending().await,
        }
    }

    /// Follows a controller update the tree has taken in: table rows, lease events.
    pub(crate) fn on_update(&self, update: &ControllerUpdate) {
        let Some(api) = BRIDGE.get().map(|b| &b.api) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(connected) = state.as_mut() else {
            return;
        };
        match update {
            ControllerUpdate::Event {
                object_path,
                kind,
                data,
            } => {
                let Some(event) =
                    lease_event(&self.tree, self.lease_info, object_path, *kind, data)
                else {
                    return;
                };
                publish(
                    api,
                    connected.handle,
                    &format!("{object_path}.{EVENTS}"),
                    &event,
                );
            }
            _ => sync_rows(api, connected, &self.tree),
        }
    }
}

impl Drop for Frontend {
    fn drop(&mut self) {
        let connected = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let (Some(connected), Some(bridge)) = (connected, BRIDGE.get()) {
            let _in_use = liveness::IN_USE
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // SAFETY: the handle came from rbus_open and is closed once.
            unsafe { (bridge.api.close)(connected.handle) };
            info!("closed the RBUS connection");
        }
    }
}

/// Keeps the data model on the bus: opens it and registers everything (retrying until the
/// broker answers), then checks every [`WATCH`] that the broker still routes the data model
/// here; once it has not for [`MISSES`] checks in a row (rtrouted restarted), closes the handle
/// and starts over, rows included. Subscriptions come back with the registration: librbus
/// keeps each provider's subscribers in a cache file and re-attaches them to the elements
/// registered again.
async fn keep_connected(component: String, tree: SharedTree, state: Arc<Mutex<Option<Connected>>>) {
    let Some(api) = BRIDGE.get().map(|b| &b.api) else {
        return;
    };
    let Ok(name) = CString::new(component.clone()) else {
        error!(component, "the RBUS component name has a NUL byte");
        return;
    };
    loop {
        if !connect(api, &name, &component, &tree, &state).await {
            return;
        }
        watch(api, &component, &state).await;
        warn!(component, "the RBUS broker no longer routes the data model here (rtrouted restarted?): reopening the bus");
        let lost = state.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(lost) = lost {
            // librbus may wait for its reader thread's reconnect attempts: off this thread.
            let closed = tokio::task::spawn_blocking(move || {
                // The whole of it (names included) moves here, to live across the close.
                let lost = lost;
                let _in_use = liveness::IN_USE
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // SAFETY: the handle came from rbus_open and is closed once; the names it
                // points to live until after the call.
                unsafe { (api.close)(lost.handle) }
            })
            .await;
            debug!(rc = ?closed.ok(), "closed the lost RBUS handle");
        }
    }
}

/// Opens the bus and registers the data model, retrying until it works; `false` when
/// registering failed for good. Each attempt runs off the TR-181 thread: without a broker,
/// `rbus_open` retries for seconds.
async fn connect(
    api: &'static Api,
    name: &CStr,
    component: &str,
    tree: &SharedTree,
    state: &Mutex<Option<Connected>>,
) -> bool {
    loop {
        let (owned_name, shared_tree) = (name.to_owned(), tree.clone());
        let attempt = tokio::task::spawn_blocking(move || open(api, &owned_name, &shared_tree))
            .await
            .unwrap_or(Err(None));
        match attempt {
            Ok(connected) => {
                info!(component, rows = connected.rows.len(), "serving the TR-181 data model on RBUS");
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                let connected = state.insert(connected);
                // Rows the tree gained while the attempt ran (updates found no connection).
                sync_rows(api, connected, tree);
                return true;
            }
            Err(Some(rc)) => {
                error!(component, rc, "cannot register the data model on RBUS");
                return false;
            }
            Err(None) => warn!(component, retry_in_s = RETRY.as_secs(),
                "RBUS unavailable (is rtrouted running?): the data model is not on RBUS yet, DHCP goes on"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Returns once the broker has not named `component` as the data model's provider for
/// [`MISSES`] checks in a row.
async fn watch(api: &'static Api, component: &str, state: &Arc<Mutex<Option<Connected>>>) {
    let mut misses = 0;
    while misses < MISSES {
        tokio::time::sleep(WATCH).await;
        let (state, component) = (state.clone(), component.to_string());
        // The check goes through the broker (and librbus's reconnect waits): off this thread,
        // without holding the state the TR-181 thread uses.
        let ours = tokio::task::spawn_blocking(move || {
            let _in_use = liveness::IN_USE
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let handle = state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|c| SendHandle(c.handle));
            handle.is_some_and(|h| liveness::registered(api, h.0, &component))
        })
        .await
        .unwrap_or(false);
        misses = if ours { 0 } else { misses + 1 };
        if !ours {
            debug!(
                misses,
                "the RBUS broker did not name us as the data model's provider"
            );
        }
    }
}

/// A handle crossing to a blocking thread.
struct SendHandle(Handle);

// SAFETY: librbus handles are used from any thread (the library locks internally).
unsafe impl Send for SendHandle {}

/// One attempt: opens the bus, registers the data model and the tree's rows. `Err(None)`: the
/// broker did not answer; `Err(Some(rc))`: registering failed.
fn open(api: &Api, name: &CStr, tree: &SharedTree) -> Result<Connected, Option<c_int>> {
    let mut handle: Handle = ptr::null_mut();
    // SAFETY: `handle` is written by rbus_open; `name` lives across the call.
    let rc = unsafe { (api.open)(&mut handle, name.as_ptr()) };
    if rc != ffi::ERROR_SUCCESS {
        debug!(rc, "rbus_open failed");
        return Err(None);
    }
    match register(api, handle, &name.to_string_lossy()) {
        Ok(names) => {
            let mut connected = Connected {
                handle,
                _names: names,
                rows: BTreeSet::new(),
                busy: None,
            };
            sync_rows(api, &mut connected, tree);
            Ok(connected)
        }
        Err(rc) => {
            // SAFETY: the handle came from rbus_open and is closed once.
            unsafe { (api.close)(handle) };
            Err(Some(rc))
        }
    }
}

/// Registers every table, parameter and client `Events` property of the definition, and the
/// component's `GetHealth()` method (what common-library's `CcspBaseIf_getHealth` invokes).
fn register(api: &Api, handle: Handle, component: &str) -> Result<Vec<CString>, c_int> {
    let definition = Definition::builtin().map_err(|_| ffi::ERROR_BUS_ERROR)?;
    let mut names = Vec::new();
    let mut elements = Vec::new();
    let mut add = |name: String, kind: c_int, callbacks: CallbackTable| {
        if let Ok(name) = CString::new(name) {
            elements.push(DataElement {
                name: name.as_ptr(),
                kind,
                callbacks,
            });
            names.push(name);
        }
    };
    add(
        format!("{component}.GetHealth()"),
        ffi::ELEMENT_METHOD,
        CallbackTable {
            method: Some(health_handler),
            ..callbacks()
        },
    );
    add(
        format!("{component}.GetAttributes()"),
        ffi::ELEMENT_METHOD,
        CallbackTable {
            method: Some(get_attributes_handler),
            ..callbacks()
        },
    );
    for object in definition.objects() {
        if object.is_table() {
            let writable = object.writable;
            add(
                object.path.clone(),
                ffi::ELEMENT_TABLE,
                CallbackTable {
                    add_row: writable.then_some(add_row_handler as ffi::AddRowHandler),
                    remove_row: writable.then_some(remove_row_handler as ffi::RemoveRowHandler),
                    ..callbacks()
                },
            );
        }
        if matches!(
            object.path.as_str(),
            "Device.DHCPv4.Client.{i}." | "Device.DHCPv6.Client.{i}."
        ) {
            add(
                format!("{}{EVENTS}", object.path),
                ffi::ELEMENT_PROPERTY,
                CallbackTable {
                    get: Some(get_handler),
                    event_sub: Some(subscribe_handler),
                    ..callbacks()
                },
            );
        }
        for param in &object.params {
            add(
                format!("{}{}", object.path, param.name),
                ffi::ELEMENT_PROPERTY,
                CallbackTable {
                    get: Some(get_handler),
                    set: param.writable.then_some(set_handler as ffi::SetHandler),
                    event_sub: Some(subscribe_handler),
                    ..callbacks()
                },
            );
        }
    }
    let count = c_int::try_from(elements.len()).map_err(|_| ffi::ERROR_OUT_OF_RESOURCES)?;
    // SAFETY: `elements` and the names they point to live across the call (and after it,
    // in the returned Vec).
    let rc = unsafe { (api.reg_data_elements)(handle, count, elements.as_mut_ptr()) };
    if rc != ffi::ERROR_SUCCESS {
        return Err(rc);
    }
    debug!(
        elements = elements.len(),
        "registered the data model on RBUS"
    );
    Ok(names)
}

fn callbacks() -> CallbackTable {
    CallbackTable {
        get: None,
        set: None,
        add_row: None,
        remove_row: None,
        event_sub: None,
        method: None,
    }
}

/// What the TR-181 thread's side of the handlers works with.
struct Served {
    tree: SharedTree,
    writer: Writer,
    state: Arc<Mutex<Option<Connected>>>,
    version: LeaseInfoVersion,
    /// Where the values each write changed go.
    changed: mpsc::UnboundedSender<Changes>,
}

impl Served {
    /// The outcome of a write, its changed values handed on for D-Bus.
    fn note<T>(&self, outcome: Result<(T, Changes), Fault>) -> Result<T, Fault> {
        outcome.map(|(value, changes)| {
            if !changes.is_empty() {
                let _ = self.changed.send(changes);
            }
            value
        })
    }
}

/// The TR-181 thread's side: answers the handlers' requests one at a time.
async fn serve(mut requests: mpsc::Receiver<Request>, served: Served) {
    let Served {
        tree,
        writer,
        state,
        version,
        ..
    } = &served;
    while let Some(request) = requests.recv().await {
        match request {
            Request::Get { name, reply } => {
                let got = tree
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_values(std::slice::from_ref(&name), BootSeconds::now())
                    .and_then(|values| {
                        values
                            .into_iter()
                            .next()
                            .map(|(_, kind, value)| (kind, value))
                            .ok_or_else(|| Fault::no_such_name(&name))
                    });
                let _ = reply.send(got);
            }
            Request::Attributes { names, reply } => {
                let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
                let mut parameters = Vec::new();
                let found = names.iter().try_for_each(|name| {
                    let below = tree.get_names(name, false)?;
                    parameters.extend(below.into_iter().filter(|(n, _)| !n.ends_with('.')));
                    Ok(())
                });
                let _ = reply.send(found.map(|()| parameters));
            }
            Request::GetEvents { name, reply } => {
                let _ = reply.send(current_lease_event(tree, *version, &name));
            }
            Request::Set { values, reply } => {
                info!(?values, "RBUS set");
                let outcome = writer.set_values(&values).await.map(|c| ((), c));
                let _ = reply.send(served.note(outcome));
            }
            Request::AddRow { table, reply } => {
                set_busy(state, Some(&table));
                let added = served.note(writer.add_row(&table).await);
                if let Ok(instance) = &added {
                    info!(table, instance, "RBUS add row");
                    // librbus registers the new row itself; rows below it come with the
                    // next sync.
                    with_connected(state, |c| {
                        c.rows.insert(format!("{table}{instance}."));
                    });
                }
                let _ = reply.send(added);
                set_busy(state, None);
                tokio::spawn(resync_soon(state.clone(), tree.clone()));
            }
            Request::RemoveRow { row, reply } => {
                set_busy(state, Some(&row));
                let removed = served.note(writer.delete_row(&row).await.map(|c| ((), c)));
                if removed.is_ok() {
                    info!(row, "RBUS remove row");
                    // librbus unregisters the row (and what is below it) itself.
                    with_connected(state, |c| c.rows.retain(|r| !r.starts_with(&row)));
                }
                let _ = reply.send(removed);
                set_busy(state, None);
            }
        }
    }
}

fn with_connected(state: &Mutex<Option<Connected>>, f: impl FnOnce(&mut Connected)) {
    if let Some(c) = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        f(c);
    }
}

fn set_busy(state: &Mutex<Option<Connected>>, path: Option<&str>) {
    with_connected(state, |c| c.busy = path.map(str::to_string));
}

/// Syncs the rows once librbus has registered a row an RBUS consumer added (it does so
/// after the handler returns), so the rows below it follow.
async fn resync_soon(state: Arc<Mutex<Option<Connected>>>, tree: SharedTree) {
    tokio::time::sleep(RESYNC_DELAY).await;
    if let Some(api) = BRIDGE.get().map(|b| &b.api) {
        with_connected(&state, |c| sync_rows(api, c, &tree));
    }
}
