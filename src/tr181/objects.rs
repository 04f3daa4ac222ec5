//! Per-object D-Bus objects mirroring the tree (issue 4, docs/contracts.md#d-bus): every TR-181 object
//! instance that has parameters (`Device.DHCPv4.`, `Device.DHCPv4.Client.1.`, its
//! `SentOption.2.`, `Device.DHCPv6.Client.1.`, …) is also served at its own path below
//! `/org/dhcpmgr` with interface `org.dhcpmgr.Object1`, whose D-Bus properties are the object's
//! parameters, and `org.freedesktop.DBus.ObjectManager` is served at `/org/dhcpmgr`.
//!
//! This module owns the naming rules, the hand-written zbus [`Interface`] (the parameter set
//! comes from the definition at run time, so the `#[interface]` macro cannot describe it), and
//! keeping the served objects in step with the tree: objects appear and disappear with their
//! rows, and `PropertiesChanged` follows each controller update.
//!
//! Naming (one rule for both, so a name is readable in either form):
//! - **Object path**: `/org/dhcpmgr` then one element per segment of the TR-181 path, every
//!   character outside `[A-Za-z0-9_]` replaced by `_`: `Device.DHCPv4.Client.1.SentOption.2.` →
//!   `/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/2`.
//! - **Property name**: the parameter name with every character outside `[A-Za-z0-9_]`
//!   replaced by `_` (and `_` put before a leading digit): `X_RDKCENTRAL-COM_RcvOption` →
//!   `X_RDKCENTRAL_COM_RcvOption`. Introspection gives each property's exact TR-181 name and
//!   type in the annotations `org.dhcpmgr.Tr181.Name` and `org.dhcpmgr.Tr181.Type`. Should two
//!   names map to one (none in `tr181/dhcpmgr.xml` do), the first is served and the other is
//!   left out with a warning; likewise for object paths.
//! - **`Path`**: a read-only property holding the TR-181 path of the object
//!   (`Device.DHCPv4.Client.1.`), unless the object has a parameter named `Path`.
//!
//! Values are strings in TR-181 string form, read live from the tree, so they are what
//! GetParameterValues returns at the same moment (volatile ones such as `LeaseTimeRemaining`
//! too; they carry `EmitsChangedSignal=false` since they change without a signal). Writable
//! parameters are `readwrite`: `Properties.Set` is a SetParameterValues of that one parameter
//! (same uid check, validation and controller hand-off, see `DataModel::set_values`). The
//! Properties interface only allows the standard error names, so its CWMP faults become
//! `org.freedesktop.DBus.Error.{AccessDenied, Failed, PropertyReadOnly, LimitsExceeded,
//! UnknownProperty, InvalidArgs}`, the message starting with the `org.dhcpmgr.Error.*` name and
//! ending with the fault code.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::{MutexGuard, PoisonError};

use tracing::{debug, info, warn};
use zbus::export::async_trait::async_trait;
use zbus::fdo;
use zbus::message::{Header, Message};
use zbus::names::{InterfaceName, MemberName};
use zbus::object_server::{DispatchResult2, Interface, InterfaceRef, SignalEmitter};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Str, Value};
use zbus::{Connection, DBusError, ObjectServer};

use super::fault::{Fault, FaultKind};
use super::service::{DataModel, Error, SharedTree};
use super::tree::Tree;
use super::OBJECT_PATH;
use crate::boottime::BootSeconds;

/// The interface every mirrored object serves.
pub(crate) const INTERFACE: &str = "org.dhcpmgr.Object1";
/// The read-only property holding the TR-181 object path.
pub(crate) const PATH_PROPERTY: &str = "Path";

/// One object instance of the tree with its parameters ([`Tree::objects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectView {
    /// TR-181 path with the trailing dot: `Device.DHCPv4.Client.1.`.
    pub path: String,
    /// Its own parameters (not those of objects below it), in definition order.
    pub params: Vec<ParamView>,
}

/// One parameter of an [`ObjectView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamView {
    /// Name within the object: `DNSServers`.
    pub name: String,
    /// TR-181 type: `string`, `unsignedInt`, …
    pub type_name: &'static str,
    /// Value in TR-181 string form.
    pub value: String,
    pub writable: bool,
    /// Changes without `ValuesChanged`/`PropertiesChanged` (`LeaseTimeRemaining`).
    pub volatile: bool,
}

/// The D-Bus object path of a TR-181 object path, `None` if it is not a valid one.
pub(crate) fn dbus_path(tr181_path: &str) -> Option<OwnedObjectPath> {
    let mut path = OBJECT_PATH.to_string();
    for segment in tr181_path.split('.').filter(|s| !s.is_empty()) {
        path.push('/');
        path.extend(segment.chars().map(member_char));
    }
    OwnedObjectPath::try_from(path).ok()
}

/// The D-Bus property name of a TR-181 parameter name, `None` if none can be made (empty, or
/// longer than D-Bus allows).
pub(crate) fn member_name(param: &str) -> Option<String> {
    let mut name = String::with_capacity(param.len() + 1);
    if param.starts_with(|c: char| c.is_ascii_digit()) {
        name.push('_');
    }
    name.extend(param.chars().map(member_char));
    MemberName::try_from(name.as_str()).ok()?;
    Some(name)
}

fn member_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' {
        c
    } else {
        '_'
    }
}

/// One D-Bus property of an object: how a parameter is served.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Property {
    /// D-Bus name ([`member_name`]).
    member: String,
    /// TR-181 name within the object.
    name: String,
    type_name: &'static str,
    writable: bool,
    volatile: bool,
}

/// The properties serving the parameters of `object`; names that cannot be mapped, or that
/// map onto an earlier one, are left out with a warning.
fn properties(object: &ObjectView) -> Vec<Property> {
    let mut seen = HashSet::new();
    object
        .params
        .iter()
        .filter_map(|param| {
            let member = member_name(&param.name).filter(|m| seen.insert(m.clone()));
            if member.is_none() {
                warn!(
                    object = object.path,
                    param = param.name,
                    "no D-Bus property name of its own; served by DataModel1 only"
                );
            }
            Some(Property {
                member: member?,
                name: param.name.clone(),
                type_name: param.type_name,
                writable: param.writable,
                volatile: param.volatile,
            })
        })
        .collect()
}

fn string_value(text: impl Into<String>) -> OwnedValue {
    OwnedValue::from(Str::from(text.into()))
}

/// The D-Bus error for a fault of `Properties.Set`/`Get` (see the module documentation).
fn fault_error(fault: Fault) -> fdo::Error {
    let message = format!("{}: {fault}", Error::from(fault.clone()).name());
    match fault.kind {
        FaultKind::RequestDenied => fdo::Error::AccessDenied(message),
        FaultKind::InternalError => fdo::Error::Failed(message),
        FaultKind::NotWritable => fdo::Error::PropertyReadOnly(message),
        FaultKind::ResourcesExceeded => fdo::Error::LimitsExceeded(message),
        FaultKind::InvalidParameterName => fdo::Error::UnknownProperty(message),
        FaultKind::InvalidArguments
        | FaultKind::InvalidParameterType
        | FaultKind::InvalidParameterValue => fdo::Error::InvalidArgs(message),
    }
}

/// `org.dhcpmgr.Object1` on one TR-181 object.
struct Object1 {
    /// TR-181 path with the trailing dot.
    path: String,
    properties: Vec<Property>,
    tree: SharedTree,
    /// The data model served at `/org/dhcpmgr`, which carries out writes (one instance, so
    /// that its writes stay one after another); `None` if it could not be found.
    model: Option<InterfaceRef<DataModel>>,
}

impl Object1 {
    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the `Path` property is served (no parameter takes its name).
    fn has_path(&self) -> bool {
        !self.properties.iter().any(|p| p.member == PATH_PROPERTY)
    }

    /// `(D-Bus name, value)` of every parameter, read from the tree now: the object's own
    /// parameters by full name, so nothing below it is rendered.
    fn values(&self) -> Result<Vec<(&str, String)>, Fault> {
        let values = self.tree().object_values(&self.path, BootSeconds::now())?;
        let by_name: HashMap<&str, String> = values
            .into_iter()
            .filter_map(|(param, value)| {
                let property = self.properties.iter().find(|p| p.name == *param)?;
                Some((property.name.as_str(), value))
            })
            .collect();
        Ok(self
            .properties
            .iter()
            .filter_map(|p| Some((p.member.as_str(), by_name.get(p.name.as_str())?.clone())))
            .collect())
    }

    fn read_only(&self, member: &str) -> DispatchResult2<'static> {
        let message = format!("{}{member} is read-only", self.path);
        DispatchResult2::Async(Box::pin(async move {
            Err(fdo::Error::PropertyReadOnly(message))
        }))
    }
}

#[async_trait]
impl Interface for Object1 {
    fn name() -> InterfaceName<'static> {
        InterfaceName::from_static_str_unchecked(INTERFACE)
    }

    async fn get(
        &self,
        property_name: &str,
        _server: &ObjectServer,
        _connection: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> Option<fdo::Result<OwnedValue>> {
        if property_name == PATH_PROPERTY && self.has_path() {
            return Some(Ok(string_value(self.path.as_str())));
        }
        let property = self.properties.iter().find(|p| p.member == property_name)?;
        let name = format!("{}{}", self.path, property.name);
        let values = self.tree().get_values(&[name], BootSeconds::now());
        Some(match values {
            Ok(values) => values
                .into_iter()
                .next()
                .map(|(_, _, value)| string_value(value))
                .ok_or_else(|| fdo::Error::UnknownProperty(property_name.to_string())),
            Err(fault) => Err(fault_error(fault)),
        })
    }

    async fn get_all(
        &self,
        _server: &ObjectServer,
        _connection: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> fdo::Result<HashMap<String, OwnedValue>> {
        let mut all: HashMap<String, OwnedValue> = self
            .values()
            .map_err(fault_error)?
            .into_iter()
            .map(|(member, value)| (member.to_string(), string_value(value)))
            .collect();
        if self.has_path() {
            all.insert(PATH_PROPERTY.into(), string_value(self.path.as_str()));
        }
        Ok(all)
    }

    fn set<'call>(
        &'call self,
        property_name: &'call str,
        value: &'call Value<'_>,
        _server: &'call ObjectServer,
        connection: &'call Connection,
        header: Option<&'call Header<'_>>,
        _emitter: &'call SignalEmitter<'_>,
    ) -> DispatchResult2<'call> {
        if property_name == PATH_PROPERTY && self.has_path() {
            return self.read_only(property_name);
        }
        let Some(property) = self.properties.iter().find(|p| p.member == property_name) else {
            return DispatchResult2::NotFound;
        };
        if !property.writable {
            return self.read_only(&property.name);
        }
        let name = format!("{}{}", self.path, property.name);
        DispatchResult2::Async(Box::pin(async move {
            let Value::Str(text) = value else {
                return Err(fdo::Error::InvalidArgs(format!(
                    "{name}: the value must be a string (D-Bus type s) in TR-181 form, not {}",
                    value.value_signature()
                )));
            };
            let header = header.ok_or_else(|| {
                fdo::Error::AccessDenied(format!("{name}: the request has no caller"))
            })?;
            let model = self.model.as_ref().ok_or_else(|| {
                fdo::Error::Failed(format!("{name}: writes are unavailable; use DataModel1"))
            })?;
            debug!(name, value = text.as_str(), "Properties.Set");
            model
                .get()
                .await
                .set_values(connection, header, &[(name, text.to_string())])
                .await
                .map_err(fault_error)
        }))
    }

    async fn set_mut(
        &mut self,
        _property_name: &str,
        _value: &Value<'_>,
        _server: &ObjectServer,
        _connection: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> Option<fdo::Result<()>> {
        // `set` never asks for the exclusive path.
        None
    }

    fn call<'call>(
        &'call self,
        _server: &'call ObjectServer,
        _connection: &'call Connection,
        _msg: &'call Message,
        _name: MemberName<'call>,
    ) -> DispatchResult2<'call> {
        DispatchResult2::NotFound
    }

    fn call_mut<'call>(
        &'call mut self,
        _server: &'call ObjectServer,
        _connection: &'call Connection,
        _msg: &'call Message,
        _name: MemberName<'call>,
    ) -> DispatchResult2<'call> {
        DispatchResult2::NotFound
    }

    fn introspect_to_writer(&self, writer: &mut dyn Write, level: usize) {
        // Writing to the introspection buffer cannot fail; a failure would only shorten it.
        let _ = introspect(self, writer, level);
    }
}

fn introspect(object: &Object1, w: &mut dyn Write, level: usize) -> std::fmt::Result {
    let (l1, l2) = (level + 2, level + 4);
    writeln!(w, "{:level$}<interface name=\"{INTERFACE}\">", "")?;
    if object.has_path() {
        writeln!(
            w,
            "{:l1$}<property name=\"{PATH_PROPERTY}\" type=\"s\" access=\"read\">",
            ""
        )?;
        writeln!(
            w,
            "{:l2$}<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" \
             value=\"const\"/>",
            ""
        )?;
        writeln!(w, "{:l1$}</property>", "")?;
    }
    for p in &object.properties {
        let access = if p.writable { "readwrite" } else { "read" };
        writeln!(
            w,
            "{:l1$}<property name=\"{}\" type=\"s\" access=\"{access}\">",
            "", p.member
        )?;
        let annotation = |w: &mut dyn Write, name: &str, value: &str| {
            writeln!(
                w,
                "{:l2$}<annotation name=\"{name}\" value=\"{}\"/>",
                "",
                xml_escape(value)
            )
        };
        annotation(w, "org.dhcpmgr.Tr181.Name", &p.name)?;
        annotation(w, "org.dhcpmgr.Tr181.Type", p.type_name)?;
        if p.volatile {
            annotation(
                w,
                "org.freedesktop.DBus.Property.EmitsChangedSignal",
                "false",
            )?;
        }
        writeln!(w, "{:l1$}</property>", "")?;
    }
    writeln!(w, "{:level$}</interface>", "")
}

fn xml_escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A served object: where, with which properties (a change of either re-registers it), and
/// the values last published for it.
#[derive(Debug)]
struct Served {
    dbus_path: OwnedObjectPath,
    properties: Vec<Property>,
    /// By TR-181 parameter name; volatile parameters left out.
    values: HashMap<String, String>,
}

/// The values of `view` to compare between updates (volatile ones left out).
fn published(view: &ObjectView) -> HashMap<String, String> {
    view.params
        .iter()
        .filter(|p| !p.volatile)
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect()
}

/// `(D-Bus name, value)` of each property whose value in `view` differs from `before`.
fn changed<'p, 'v>(
    properties: &'p [Property],
    before: &HashMap<String, String>,
    view: &'v ObjectView,
) -> Vec<(&'p str, &'v str)> {
    properties
        .iter()
        .filter(|p| !p.volatile)
        .filter_map(|p| {
            let now = view.params.iter().find(|v| v.name == p.name)?;
            (before.get(&p.name) != Some(&now.value))
                .then_some((p.member.as_str(), now.value.as_str()))
        })
        .collect()
}

/// The mirrored objects on one connection.
pub(crate) struct Objects {
    conn: Connection,
    tree: SharedTree,
    model: Option<InterfaceRef<DataModel>>,
    /// By TR-181 path.
    served: BTreeMap<String, Served>,
}

impl Objects {
    /// Serves ObjectManager at `/org/dhcpmgr` and an object for every object instance of the
    /// tree. `Properties.Set` goes to the [`DataModel`] already served at `/org/dhcpmgr`.
    pub(crate) async fn serve(conn: &Connection, tree: SharedTree) -> Self {
        let server = conn.object_server();
        if let Err(e) = server.at(OBJECT_PATH, fdo::ObjectManager).await {
            warn!(path = OBJECT_PATH, error = %e, "cannot serve ObjectManager");
        }
        let model = match server.interface::<_, DataModel>(OBJECT_PATH).await {
            Ok(model) => Some(model),
            Err(e) => {
                warn!(path = OBJECT_PATH, error = %e,
                    "no data model to write through; the object properties are read-only");
                None
            }
        };
        let mut objects = Self {
            conn: conn.clone(),
            tree,
            model,
            served: BTreeMap::new(),
        };
        objects.update().await;
        info!(
            count = objects.served.len(),
            interface = INTERFACE,
            "serving the per-object D-Bus objects"
        );
        objects
    }

    /// Brings the objects in line with the tree, after a controller update: adds objects for
    /// new rows, removes those of rows gone, and emits `PropertiesChanged` on the others for
    /// every value that differs from what was last published. (Diffing here rather than
    /// taking `Tree::apply`'s changes also catches values the tree took in between updates,
    /// such as settings noted after a write.)
    pub(crate) async fn update(&mut self) {
        let views = self
            .tree
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .objects(BootSeconds::now());
        let wanted: HashMap<&str, Vec<Property>> = views
            .iter()
            .map(|v| (v.path.as_str(), properties(v)))
            .collect();

        // Gone, or changed shape: removed, children first.
        let stale: Vec<String> = self
            .served
            .iter()
            .rev()
            .filter(|(path, served)| wanted.get(path.as_str()) != Some(&served.properties))
            .map(|(path, _)| path.clone())
            .collect();
        for path in stale {
            if let Some(served) = self.served.remove(&path) {
                self.unregister(&path, &served.dbus_path).await;
            }
        }

        // New ones added, parents first: InterfacesAdded and GetAll give their values. The
        // others get PropertiesChanged.
        for view in &views {
            let Some(served) = self.served.get_mut(&view.path) else {
                if let Some(properties) = wanted.get(view.path.as_str()) {
                    self.register(view, properties.clone()).await;
                }
                continue;
            };
            let values: Vec<(String, &str)> = changed(&served.properties, &served.values, view)
                .into_iter()
                .map(|(member, value)| (member.to_string(), value))
                .collect();
            if values.is_empty() {
                continue;
            }
            served.values = published(view);
            let dbus_path = served.dbus_path.clone();
            self.properties_changed(&view.path, &dbus_path, &values)
                .await;
        }
    }

    async fn register(&mut self, view: &ObjectView, properties: Vec<Property>) {
        let path = view.path.as_str();
        let Some(dbus_path) = dbus_path(path) else {
            warn!(
                object = path,
                "no D-Bus object path for this object; not mirrored"
            );
            return;
        };
        if let Some((other, _)) = self.served.iter().find(|(_, s)| s.dbus_path == dbus_path) {
            warn!(object = path, other, dbus_path = %dbus_path,
                "two objects map to one D-Bus path; only the first is mirrored");
            return;
        }
        let object = Object1 {
            path: path.to_string(),
            properties: properties.clone(),
            tree: self.tree.clone(),
            model: self.model.clone(),
        };
        match self.conn.object_server().at(&dbus_path, object).await {
            Ok(true) => {
                debug!(object = path, dbus_path = %dbus_path, "object added");
                let values = published(view);
                self.served.insert(
                    path.to_string(),
                    Served {
                        dbus_path,
                        properties,
                        values,
                    },
                );
            }
            Ok(false) => warn!(object = path, dbus_path = %dbus_path, "already served there"),
            Err(e) => {
                warn!(object = path, dbus_path = %dbus_path, error = %e, "cannot serve the object")
            }
        }
    }

    async fn unregister(&self, path: &str, dbus_path: &ObjectPath<'_>) {
        match self
            .conn
            .object_server()
            .remove::<Object1, _>(dbus_path)
            .await
        {
            Ok(_) => debug!(object = path, dbus_path = %dbus_path, "object removed"),
            Err(e) => warn!(object = path, dbus_path = %dbus_path, error = %e,
                "cannot remove the object"),
        }
    }

    /// Emits `PropertiesChanged` with `values` (`(D-Bus name, value)`) on one object.
    async fn properties_changed(
        &self,
        path: &str,
        dbus_path: &ObjectPath<'_>,
        values: &[(String, &str)],
    ) {
        let changed: HashMap<&str, Value<'_>> = values
            .iter()
            .map(|(member, value)| (member.as_str(), Value::from(*value)))
            .collect();
        let sent = match SignalEmitter::new(&self.conn, dbus_path) {
            Ok(emitter) => {
                fdo::Properties::properties_changed(
                    &emitter,
                    <Object1 as Interface>::name(),
                    changed,
                    Cow::Borrowed(&[]),
                )
                .await
            }
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => debug!(object = path, count = values.len(), "PropertiesChanged"),
            Err(e) => warn!(object = path, error = %e, "cannot emit PropertiesChanged"),
        }
    }
}

#[cfg(test)]
mod tests;
