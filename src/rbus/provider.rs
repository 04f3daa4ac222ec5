//! The RBUS provider: opens the bus as the configured component, registers every object and
//! parameter of the data model's definition (tables with add/remove-row handlers, properties
//! with get/set and value-change subscription, and each client's `Events` property), keeps the
//! registered table rows in step with the tree and publishes lease events. librbus calls the
//! handlers on its own threads: they hand each request to the TR-181 thread (which owns the
//! tree and shares one write path, [`Writer`], with the D-Bus front end) and wait for its answer.

use std::collections::{BTreeSet, HashMap};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::{mpsc as std_mpsc, Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::ffi::{self, Api, CallbackTable, DataElement, Handle, Property};
use super::lease_info::{self, V6Lease};
use super::settings::{LeaseInfoVersion, RbusSettings};
use crate::boottime::BootSeconds;
use crate::channels::{ControllerUpdate, EventKind};
use crate::snapshot::Instance;
use crate::tr181::definition::Definition;
use crate::tr181::fault::{Fault, FaultKind};
use crate::tr181::service::{SharedTree, Writer};

/// How long a handler waits for the TR-181 thread: longer than a write may take the
/// controller (8 s), shorter than an RBUS consumer's default timeout (15 s).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(12);
/// Wait between attempts to reach the broker.
const RETRY: Duration = Duration::from_secs(2);
/// How long after an RBUS add-row the rows below the new row are registered.
const RESYNC_DELAY: Duration = Duration::from_millis(200);
/// Requests waiting for the TR-181 thread.
const QUEUE: usize = 32;

/// The last segment of a client's event property.
const EVENTS: &str = "Events";

/// A lease event as `Device.DHCPvN.Client.{i}.Events` carries it.
struct LeaseEvent {
    if_name: String,
    msg_type: u32,
    lease_info: Option<Vec<u8>>,
}

/// What a handler asks of the TR-181 thread.
enum Request {
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
}

/// What the handlers share: the loaded library, the way to the TR-181 thread, and the values
/// of multi-parameter sets waiting for their commit.
struct Bridge {
    api: Api,
    requests: mpsc::Sender<Request>,
    sessions: Mutex<HashMap<u32, Vec<(String, String)>>>,
}

static BRIDGE: OnceLock<Bridge> = OnceLock::new();

/// The open bus: the handle, the registered element names (librbus keeps pointers to them)
/// and the table rows registered so far.
struct Connected {
    handle: Handle,
    _names: Vec<CString>,
    rows: BTreeSet<String>,
    /// A row (`….2.`) or table (`….Client.`) an RBUS consumer is adding or removing: librbus
    /// registers or unregisters that row itself once the handler returns, so the sync leaves
    /// rows below this path alone meanwhile.
    busy: Option<String>,
}

// SAFETY: librbus handles are used from any thread (the library locks internally).
unsafe impl Send for Connected {}

/// Values an RBUS write changed, for the D-Bus front end's `ValuesChanged`.
type Changes = Vec<(String, String)>;

/// The RBUS front end as the TR-181 thread holds it.
pub struct Frontend {
    state: Arc<Mutex<Option<Connected>>>,
    tree: SharedTree,
    lease_info: LeaseInfoVersion,
    changes: mpsc::UnboundedReceiver<Changes>,
}

impl Frontend {
    /// Starts the front end if `[rbus] enable`: loads librbus, then opens the bus in the
    /// background, retrying until the broker answers (DHCP goes on meanwhile). Must run on the
    /// TR-181 thread's runtime.
    pub fn start(settings: &RbusSettings, tree: SharedTree, writer: Writer) -> Option<Self> {
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
        tokio::spawn(connect(
            settings.component.clone(),
            tree,
            frontend.state.clone(),
        ));
        Some(frontend)
    }

    /// The values the next RBUS write changes (D-Bus signals them too).
    pub async fn changed(&mut self) -> Changes {
        match self.changes.recv().await {
            Some(changes) => changes,
            None => std::future::pending().await,
        }
    }

    /// Follows a controller update the tree has taken in: table rows, lease events.
    pub fn on_update(&self, update: &ControllerUpdate) {
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
                let event = lease_event(&self.tree, self.lease_info, object_path, *kind, data);
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
            // SAFETY: the handle came from rbus_open and is closed once.
            unsafe { (bridge.api.close)(connected.handle) };
            info!("closed the RBUS connection");
        }
    }
}

/// Opens the bus and registers the data model, retrying until it works.
async fn connect(component: String, tree: SharedTree, state: Arc<Mutex<Option<Connected>>>) {
    let Some(api) = BRIDGE.get().map(|b| &b.api) else {
        return;
    };
    let Ok(name) = CString::new(component.clone()) else {
        error!(component, "the RBUS component name has a NUL byte");
        return;
    };
    loop {
        match open(api, &name, &tree) {
            Ok(connected) => {
                info!(component, rows = connected.rows.len(), "serving the TR-181 data model on RBUS");
                *state.lock().unwrap_or_else(PoisonError::into_inner) = Some(connected);
                return;
            }
            Err(Some(rc)) => {
                error!(component, rc, "cannot register the data model on RBUS");
                return;
            }
            Err(None) => warn!(component, retry_in_s = RETRY.as_secs(),
                "RBUS unavailable (is rtrouted running?): the data model is not on RBUS yet, DHCP goes on"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

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

/// The table rows the tree has now: `Device.DHCPv4.Client.1.`, `….1.SentOption.2.`, ….
fn tree_rows(tree: &SharedTree) -> BTreeSet<String> {
    let names = tree
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_names("", false)
        .unwrap_or_default();
    names
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| row_parts(name).is_some())
        .collect()
}

/// `Device.DHCPv4.Client.1.` → (`Device.DHCPv4.Client.`, 1).
fn row_parts(row: &str) -> Option<(&str, u32)> {
    let trimmed = row.strip_suffix('.')?;
    let (table, instance) = trimmed.rsplit_once('.')?;
    let instance = instance.parse().ok()?;
    Some((&row[..table.len() + 1], instance))
}

/// Registers the rows the tree has gained and unregisters those it lost.
fn sync_rows(api: &Api, connected: &mut Connected, tree: &SharedTree) {
    let busy = connected.busy.clone();
    let left_to_librbus = |row: &str| busy.as_deref().is_some_and(|b| row.starts_with(b));
    let wanted: BTreeSet<String> = tree_rows(tree)
        .into_iter()
        .filter(|row| !left_to_librbus(row) || connected.rows.contains(row))
        .collect();
    let gone: Vec<String> = connected.rows.difference(&wanted).cloned().collect();
    for row in gone.iter().rev() {
        if left_to_librbus(row) {
            connected.rows.remove(row);
            continue;
        }
        if let Ok(name) = CString::new(row.as_str()) {
            // SAFETY: valid handle and NUL-terminated name.
            let rc = unsafe { (api.unregister_row)(connected.handle, name.as_ptr()) };
            debug!(row, rc, "unregistered RBUS table row");
        }
        connected.rows.remove(row);
    }
    let new: Vec<String> = wanted.difference(&connected.rows).cloned().collect();
    for row in new {
        let Some((table, instance)) = row_parts(&row) else {
            continue;
        };
        let Ok(table) = CString::new(table) else {
            continue;
        };
        // SAFETY: valid handle and NUL-terminated table name; no alias.
        let rc =
            unsafe { (api.register_row)(connected.handle, table.as_ptr(), instance, ptr::null()) };
        if rc != ffi::ERROR_SUCCESS {
            warn!(row, rc, "cannot register RBUS table row");
        }
        connected.rows.insert(row);
    }
}

/// `Device.DHCPv4.Client.3` → (v4?, 3).
fn client_of(object_path: &str) -> Option<(bool, Instance)> {
    let (family, instance) = object_path
        .strip_prefix("Device.DHCPv4.Client.")
        .map(|i| (true, i))
        .or_else(|| {
            object_path
                .strip_prefix("Device.DHCPv6.Client.")
                .map(|i| (false, i))
        })?;
    Some((
        family,
        Instance(instance.trim_end_matches('.').parse().ok()?),
    ))
}

/// WAN Manager's `DHCP_MESSAGE_TYPE` for an event kind.
fn msg_type(kind: EventKind) -> u32 {
    match kind {
        EventKind::ClientStarted => 0,
        EventKind::ClientStopped => 1,
        EventKind::ClientFailed => 2,
        EventKind::LeaseUpdated => 3,
        EventKind::LeaseDeleted => 4,
        EventKind::LeaseRenewed => 5,
    }
}

/// The event for a controller `Event` update, with `LeaseInfo` on a lease update.
fn lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    object_path: &str,
    kind: EventKind,
    data: &std::collections::BTreeMap<String, String>,
) -> LeaseEvent {
    // Start/stop reports carry no data: the C manager sends the configured interface.
    let if_name = data
        .get("interface")
        .cloned()
        .or_else(|| client_of(object_path).and_then(|(v4, i)| configured_interface(tree, v4, i)))
        .unwrap_or_default();
    let lease_info = match (kind, client_of(object_path)) {
        (EventKind::LeaseUpdated, Some((v4, instance))) => {
            lease_bytes(tree, version, v4, instance, &if_name, data)
        }
        _ => None,
    };
    LeaseEvent {
        if_name,
        msg_type: msg_type(kind),
        lease_info,
    }
}

/// The Linux interface client `instance` is configured on.
fn configured_interface(tree: &SharedTree, v4: bool, instance: Instance) -> Option<String> {
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    let interface = match v4 {
        true => tree.v4_client(instance)?.settings.interface.as_ref(),
        false => tree.v6_client(instance)?.settings.interface.as_ref(),
    };
    interface.map(ToString::to_string)
}

fn lease_bytes(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    v4: bool,
    instance: Instance,
    if_name: &str,
    data: &std::collections::BTreeMap<String, String>,
) -> Option<Vec<u8>> {
    let LeaseInfoVersion::V1 = version;
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    if v4 {
        let lease = tree.v4_client(instance)?.lease.as_ref()?;
        Some(lease_info::encode_v4(if_name, lease))
    } else {
        let client = tree.v6_client(instance)?;
        let lease = V6Lease {
            address: data.get("address").cloned(),
            prefix: data.get("prefix").cloned(),
            ..V6Lease::default()
        };
        Some(lease_info::encode_v6(if_name, &lease, client.map.as_ref()))
    }
}

/// The current lease of the client whose `Events` property is `name`, as a lease update (what
/// the C manager answers a get of `Events` with); `None` without a lease.
fn current_lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    name: &str,
) -> Option<LeaseEvent> {
    let object_path = name.strip_suffix(EVENTS)?.strip_suffix('.')?;
    let (v4, instance) = client_of(object_path)?;
    let if_name = {
        let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
        if v4 {
            let client = tree.v4_client(instance)?;
            client.lease.as_ref()?;
            client.settings.interface.as_ref()?.to_string()
        } else {
            return None;
        }
    };
    let lease_info = lease_bytes(tree, version, v4, instance, &if_name, &Default::default());
    Some(LeaseEvent {
        if_name,
        msg_type: msg_type(EventKind::LeaseUpdated),
        lease_info,
    })
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

/// Publishes `event` as an RBUS general event named `name`.
fn publish(api: &Api, handle: Handle, name: &str, event: &LeaseEvent) {
    let Ok(event_name) = CString::new(name) else {
        return;
    };
    let object = event_object(api, event);
    let mut raw = ffi::Event {
        name: event_name.as_ptr(),
        kind: ffi::EVENT_GENERAL,
        data: object,
    };
    // SAFETY: valid handle; `raw` and the object live across the call.
    let rc = unsafe { (api.publish)(handle, &mut raw) };
    // SAFETY: the object was made by event_object and is released once.
    unsafe { (api.object_release)(object) };
    match rc {
        ffi::ERROR_SUCCESS => debug!(
            event = name,
            msg_type = event.msg_type,
            "RBUS event published"
        ),
        ffi::ERROR_NOSUBSCRIBERS => debug!(event = name, "RBUS event: no subscribers"),
        rc => warn!(event = name, rc, "cannot publish RBUS event"),
    }
}

/// The event's object: `IfName`, `MsgType` and, with a lease, `LeaseInfo`. The caller
/// releases it.
fn event_object(api: &Api, event: &LeaseEvent) -> ffi::Object {
    let mut object: ffi::Object = ptr::null_mut();
    // SAFETY: rbusObject_Init writes the new object; each value is released after
    // rbusObject_SetValue took its own reference.
    unsafe {
        (api.object_init)(&mut object, ptr::null());
        let if_name = CString::new(event.if_name.as_str()).unwrap_or_default();
        set_member(api, object, c"IfName", |v| {
            (api.value_set_string)(v, if_name.as_ptr())
        });
        set_member(api, object, c"MsgType", |v| {
            (api.value_set_uint32)(v, event.msg_type)
        });
        if let Some(bytes) = &event.lease_info {
            let len = c_int::try_from(bytes.len()).unwrap_or(0);
            set_member(api, object, c"LeaseInfo", |v| {
                (api.value_set_bytes)(v, bytes.as_ptr(), len)
            });
        }
    }
    object
}

/// # Safety
/// `object` must be a live rbus object.
unsafe fn set_member(api: &Api, object: ffi::Object, name: &CStr, fill: impl FnOnce(ffi::Value)) {
    let mut value: ffi::Value = ptr::null_mut();
    (api.value_init)(&mut value);
    fill(value);
    (api.object_set_value)(object, name.as_ptr(), value);
    (api.value_release)(value);
}

/// Hands `request` to the TR-181 thread and waits for the answer.
fn ask<T>(make: impl FnOnce(std_mpsc::SyncSender<T>) -> Request) -> Option<T> {
    let bridge = BRIDGE.get()?;
    let (reply, answer) = std_mpsc::sync_channel(1);
    bridge.requests.blocking_send(make(reply)).ok()?;
    answer.recv_timeout(HANDLER_TIMEOUT).ok()
}

/// The RBUS error for a data-model fault.
fn rbus_error(fault: &Fault) -> ffi::RbusError {
    match fault.kind {
        FaultKind::RequestDenied => ffi::ERROR_ACCESS_NOT_ALLOWED,
        FaultKind::InvalidArguments => ffi::ERROR_INVALID_INPUT,
        FaultKind::ResourcesExceeded => ffi::ERROR_OUT_OF_RESOURCES,
        FaultKind::InvalidParameterName => ffi::ERROR_ELEMENT_DOES_NOT_EXIST,
        FaultKind::InvalidParameterType => ffi::ERROR_INVALID_PARAMETER_TYPE,
        FaultKind::InvalidParameterValue => ffi::ERROR_INVALID_PARAMETER_VALUE,
        FaultKind::NotWritable => ffi::ERROR_NOT_WRITABLE,
    }
}

/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn text(s: *const c_char) -> Option<String> {
    (!s.is_null()).then(|| CStr::from_ptr(s).to_string_lossy().into_owned())
}

unsafe extern "C" fn get_handler(_: Handle, property: Property, _: *mut c_void) -> ffi::RbusError {
    let Some(bridge) = BRIDGE.get() else {
        return ffi::ERROR_BUS_ERROR;
    };
    let api = &bridge.api;
    let Some(name) = text((api.property_name)(property)) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    let mut value: ffi::Value = ptr::null_mut();
    if name.ends_with(EVENTS) {
        let Some(event) = ask(|reply| Request::GetEvents { name, reply }) else {
            return ffi::ERROR_TIMEOUT;
        };
        // Without a lease the property has no value, as with the C manager.
        if let Some(event) = event {
            let object = event_object(api, &event);
            (api.value_init)(&mut value);
            (api.value_set_object)(value, object);
            (api.object_release)(object);
            (api.property_set_value)(property, value);
            (api.value_release)(value);
        }
        return ffi::ERROR_SUCCESS;
    }
    let got = match ask(|reply| Request::Get { name, reply }) {
        Some(Ok(got)) => got,
        Some(Err(fault)) => return rbus_error(&fault),
        None => return ffi::ERROR_TIMEOUT,
    };
    (api.value_init)(&mut value);
    set_typed(api, value, &got.0, &got.1);
    (api.property_set_value)(property, value);
    (api.value_release)(value);
    ffi::ERROR_SUCCESS
}

/// Sets `value` to the TR-181 `text` as the RBUS type matching `type_name`.
///
/// # Safety
/// `value` must be a live rbus value.
unsafe fn set_typed(api: &Api, value: ffi::Value, type_name: &str, text: &str) {
    match type_name {
        "boolean" => (api.value_set_boolean)(value, matches!(text, "true" | "1")),
        "int" => match text.parse() {
            Ok(n) => (api.value_set_int32)(value, n),
            Err(_) => set_string(api, value, text),
        },
        "unsignedInt" => match text.parse() {
            Ok(n) => (api.value_set_uint32)(value, n),
            Err(_) => set_string(api, value, text),
        },
        "unsignedLong" => match text.parse() {
            Ok(n) => (api.value_set_uint64)(value, n),
            Err(_) => set_string(api, value, text),
        },
        _ => set_string(api, value, text),
    }
}

unsafe fn set_string(api: &Api, value: ffi::Value, text: &str) {
    let text = CString::new(text).unwrap_or_default();
    (api.value_set_string)(value, text.as_ptr());
}

unsafe extern "C" fn set_handler(
    _: Handle,
    property: Property,
    options: *mut ffi::SetHandlerOptions,
) -> ffi::RbusError {
    let Some(bridge) = BRIDGE.get() else {
        return ffi::ERROR_BUS_ERROR;
    };
    let api = &bridge.api;
    let Some(name) = text((api.property_name)(property)) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    let raw = (api.value_to_string)((api.property_value)(property), ptr::null_mut(), 0);
    let Some(value) = text(raw) else {
        return ffi::ERROR_INVALID_PARAMETER_VALUE;
    };
    nix::libc::free(raw.cast());
    let (commit, session) = match options.as_ref() {
        Some(o) => (o.commit, o.session_id),
        None => (true, 0),
    };
    // A multi-parameter set arrives one property at a time; all are written together, all
    // or nothing, when the last one (commit) arrives.
    let values = {
        let mut sessions = bridge
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = sessions.entry(session).or_default();
        pending.push((name, value));
        if !commit {
            return ffi::ERROR_SUCCESS;
        }
        sessions.remove(&session).unwrap_or_default()
    };
    match ask(|reply| Request::Set { values, reply }) {
        Some(Ok(())) => ffi::ERROR_SUCCESS,
        Some(Err(fault)) => {
            info!(error = %fault, "RBUS set refused");
            rbus_error(&fault)
        }
        None => ffi::ERROR_TIMEOUT,
    }
}

unsafe extern "C" fn add_row_handler(
    _: Handle,
    table: *const c_char,
    _alias: *const c_char,
    instance: *mut u32,
) -> ffi::RbusError {
    let Some(table) = text(table) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    match ask(|reply| Request::AddRow { table, reply }) {
        Some(Ok(n)) => {
            if !instance.is_null() {
                *instance = n;
            }
            ffi::ERROR_SUCCESS
        }
        Some(Err(fault)) => rbus_error(&fault),
        None => ffi::ERROR_TIMEOUT,
    }
}

unsafe extern "C" fn remove_row_handler(_: Handle, row: *const c_char) -> ffi::RbusError {
    let Some(mut row) = text(row) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    if !row.ends_with('.') {
        row.push('.');
    }
    match ask(|reply| Request::RemoveRow { row, reply }) {
        Some(Ok(())) => ffi::ERROR_SUCCESS,
        Some(Err(fault)) => rbus_error(&fault),
        None => ffi::ERROR_TIMEOUT,
    }
}

/// `CCSP_COMMON_COMPONENT_HEALTH_Green`: what `waitConditionReady` waits for.
const HEALTH_GREEN: i32 = 3;

unsafe extern "C" fn health_handler(
    _: Handle,
    _method: *const c_char,
    _in: ffi::Object,
    out: ffi::Object,
    _async: *mut c_void,
) -> ffi::RbusError {
    let Some(bridge) = BRIDGE.get() else {
        return ffi::ERROR_BUS_ERROR;
    };
    if !out.is_null() {
        let api = &bridge.api;
        set_member(api, out, c"status", |v| {
            (api.value_set_int32)(v, HEALTH_GREEN)
        });
    }
    ffi::ERROR_SUCCESS
}

unsafe extern "C" fn subscribe_handler(
    _: Handle,
    action: c_int,
    event: *const c_char,
    _filter: *mut c_void,
    _interval: i32,
    auto_publish: *mut bool,
) -> ffi::RbusError {
    let name = text(event).unwrap_or_default();
    // Parameters: librbus polls the get handler and publishes value changes itself. Events:
    // published by the daemon when the controller reports them.
    if !auto_publish.is_null() {
        *auto_publish = !name.ends_with(EVENTS);
    }
    let subscribed = action == ffi::ACTION_SUBSCRIBE;
    info!(event = name, subscribed, "RBUS subscription");
    ffi::ERROR_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_clients_are_read_from_paths() {
        assert_eq!(
            row_parts("Device.DHCPv4.Client.12."),
            Some(("Device.DHCPv4.Client.", 12))
        );
        assert_eq!(
            row_parts("Device.DHCPv4.Client.1.SentOption.2."),
            Some(("Device.DHCPv4.Client.1.SentOption.", 2))
        );
        assert_eq!(row_parts("Device.DHCPv4.Client.1.Stats."), None);
        assert_eq!(row_parts("Device.DHCPv4.Client.1.Enable"), None);
        assert_eq!(
            client_of("Device.DHCPv4.Client.3"),
            Some((true, Instance(3)))
        );
        assert_eq!(
            client_of("Device.DHCPv6.Client.1"),
            Some((false, Instance(1)))
        );
        assert_eq!(client_of("Device.MAP."), None);
    }

    #[test]
    fn message_types_follow_wan_managers_enum() {
        let kinds = [
            EventKind::ClientStarted,
            EventKind::ClientStopped,
            EventKind::ClientFailed,
            EventKind::LeaseUpdated,
            EventKind::LeaseDeleted,
            EventKind::LeaseRenewed,
        ];
        let types: Vec<u32> = kinds.into_iter().map(msg_type).collect();
        assert_eq!(types, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn faults_map_to_rbus_errors() {
        let e = |kind| rbus_error(&Fault::new(kind, "x"));
        assert_eq!(e(FaultKind::NotWritable), ffi::ERROR_NOT_WRITABLE);
        assert_eq!(
            e(FaultKind::InvalidParameterName),
            ffi::ERROR_ELEMENT_DOES_NOT_EXIST
        );
        assert_eq!(
            e(FaultKind::InvalidParameterValue),
            ffi::ERROR_INVALID_PARAMETER_VALUE
        );
    }
}
