//! The instance tree the TR-181 thread serves: the controller's client snapshots laid out by the
//! definition. It parses request paths, renders values in TR-181 string form, answers
//! GetParameterValues/GetParameterNames with CWMP semantics, diffs renderings into
//! `ValuesChanged` pairs, and turns writes, AddObject/DeleteObject and commands into controller
//! requests ([`write`] makes the new client settings). Pure: no I/O, and the time is passed in.

pub mod limits;
mod lookup;
mod map;
mod plan;
mod values;
mod write;

use std::collections::{BTreeMap, HashMap, HashSet};

use super::definition::{Definition, ObjectDef, ParamDef};
use super::fault::{Fault, FaultKind};
use crate::boottime::BootSeconds;
use crate::channels::{ClientConfig, ControllerUpdate};
use crate::model::ClientKey;
use crate::model::{Instance, V4ClientSnapshot, V6ClientSnapshot};
use lookup::Scope;
pub use plan::{AddPlan, ClientRequest, DeletePlan};

/// One rendered object or parameter, with its full path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Object {
        path: String,
        writable: bool,
    },
    Param {
        path: String,
        type_name: &'static str,
        value: String,
        writable: bool,
        volatile: bool,
    },
}

impl Node {
    fn path(&self) -> &str {
        match self {
            Node::Object { path, .. } | Node::Param { path, .. } => path,
        }
    }

    fn writable(&self) -> bool {
        match self {
            Node::Object { writable, .. } | Node::Param { writable, .. } => *writable,
        }
    }
}

/// The data model's current state.
#[derive(Debug)]
pub struct Tree {
    def: Definition,
    v4_clients: BTreeMap<Instance, V4ClientSnapshot>,
    v6_clients: BTreeMap<Instance, V6ClientSnapshot>,
    /// Each DHCPv6 client's `ReceivedOption` rows (tag, option data in hex), converted from
    /// dibbler's rendering once per update rather than on every read.
    v6_received: BTreeMap<Instance, Vec<(u16, String)>>,
    /// Rows AddObject may grow a table to.
    table_limit: usize,
    /// Clients that were deleted: instance numbers are never reused, so a late picture of one
    /// of these is stale and ignored.
    removed: HashSet<ClientKey>,
}

impl Tree {
    /// An empty tree (no client rows) shaped by `def`.
    pub fn new(def: Definition) -> Self {
        Self {
            def,
            v4_clients: BTreeMap::new(),
            v6_clients: BTreeMap::new(),
            v6_received: BTreeMap::new(),
            table_limit: crate::config::DEFAULT_TABLE_LIMIT,
            removed: HashSet::new(),
        }
    }

    /// Sets the most rows AddObject may grow a table to.
    pub(crate) fn set_table_limit(&mut self, limit: usize) {
        self.table_limit = limit;
    }

    /// Takes in settings the controller accepted, so that reads and the next write see them
    /// before the controller's own update arrives; returns the values that changed, for
    /// `ValuesChanged` (the controller's update will then change nothing more).
    pub(crate) fn note_settings(
        &mut self,
        client: ClientKey,
        config: &ClientConfig,
        now: BootSeconds,
    ) -> Vec<(String, String)> {
        // Settings show below the client's own object, and in the MAP domain's Alias.
        let scope = [
            format!("{}.", client.object_path()),
            "Device.MAP.".to_string(),
        ];
        let scope = Scope::Paths(&scope);
        let before = self.render_scope(now, &scope);
        match (client, config) {
            (ClientKey::V4(i), ClientConfig::V4(settings)) => {
                if let Some(c) = self.v4_clients.get_mut(&i) {
                    c.settings = (**settings).clone();
                    c.enable = settings.enable;
                }
            }
            (ClientKey::V6(i), ClientConfig::V6(settings)) => {
                if let Some(c) = self.v6_clients.get_mut(&i) {
                    c.settings = (**settings).clone();
                    c.enable = settings.enable;
                }
            }
            _ => {}
        }
        changes(&before, &self.render_scope(now, &scope))
    }

    /// Takes in a controller update and returns the `(name, value)` pairs whose values changed,
    /// leaving out volatile parameters (`LeaseTimeRemaining`). Events change nothing here.
    pub(crate) fn apply(
        &mut self,
        update: &ControllerUpdate,
        now: BootSeconds,
    ) -> Vec<(String, String)> {
        let gone = |key| self.removed.contains(&key);
        match update {
            ControllerUpdate::V4Client(s) if gone(ClientKey::V4(s.instance)) => return Vec::new(),
            ControllerUpdate::V6Client(s) if gone(ClientKey::V6(s.instance)) => return Vec::new(),
            ControllerUpdate::Event { .. } => return Vec::new(),
            _ => {}
        }
        let before = self.render(now);
        match update {
            ControllerUpdate::V4Client(snapshot) => {
                self.v4_clients
                    .insert(snapshot.instance, (**snapshot).clone());
            }
            ControllerUpdate::V4ClientRemoved(instance) => {
                self.removed.insert(ClientKey::V4(*instance));
                self.v4_clients.remove(instance);
            }
            ControllerUpdate::V6Client(snapshot) => {
                self.v6_received.insert(
                    snapshot.instance,
                    values::received_options(&snapshot.received_options),
                );
                self.v6_clients
                    .insert(snapshot.instance, (**snapshot).clone());
            }
            ControllerUpdate::V6ClientRemoved(instance) => {
                self.removed.insert(ClientKey::V6(*instance));
                self.v6_received.remove(instance);
                self.v6_clients.remove(instance);
            }
            ControllerUpdate::Event { .. } => {}
        }
        changes(&before, &self.render(now))
    }

    /// The picture of DHCPv4 client `instance`, if it is in the tree (the RBUS lease events'
    /// `LeaseInfo` is built from it).
    pub(crate) fn v4_client(&self, instance: Instance) -> Option<&V4ClientSnapshot> {
        self.v4_clients.get(&instance)
    }

    /// The picture of DHCPv6 client `instance`, if it is in the tree.
    pub(crate) fn v6_client(&self, instance: Instance) -> Option<&V6ClientSnapshot> {
        self.v6_clients.get(&instance)
    }

    /// GetParameterValues: `(name, type, value)` for each full name, and for every parameter
    /// below each partial path (ending in `.`).
    pub fn get_values(
        &self,
        names: &[String],
        now: BootSeconds,
    ) -> Result<Vec<(String, String, String)>, Fault> {
        let names = limits::unique_names(names)?;
        let bound = self.values_upper_bound(&names, limits::MAX_REPLY_ENTRIES);
        limits::check_entries(bound, "values")?;
        let nodes = self.render_scope(now, &Scope::Paths(&names));
        let by_path: HashMap<&str, &Node> = nodes.iter().map(|n| (n.path(), n)).collect();
        let mut out = Vec::new();
        let mut bytes = limits::ReplyBytes::default();
        for name in &names {
            let Some(named) = by_path.get(name.as_str()) else {
                return Err(Fault::no_such_name(name));
            };
            let below: &mut dyn Iterator<Item = &Node> = if name.ends_with('.') {
                &mut nodes.iter().filter(|n| n.path().starts_with(name.as_str()))
            } else {
                &mut std::iter::once(*named)
            };
            for node in below {
                if let Node::Param {
                    path,
                    type_name,
                    value,
                    ..
                } = node
                {
                    bytes.add(&[path, type_name, value])?;
                    out.push((path.clone(), type_name.to_string(), value.clone()));
                }
            }
        }
        Ok(out)
    }

    /// GetParameterNames with CWMP semantics: `(name, writable)` of the path itself and
    /// everything below it, or with `next_level` only of its immediate children. An empty path
    /// is the top of the tree.
    pub fn get_names(&self, path: &str, next_level: bool) -> Result<Vec<(String, bool)>, Fault> {
        limits::check_name(path)?;
        if !next_level {
            let bound = self.names_upper_bound(path, limits::MAX_REPLY_ENTRIES);
            limits::check_entries(bound, "names")?;
        }
        // Only names are wanted, so the time the values are rendered at does not matter.
        let scope = [path.to_string()];
        let nodes = match path.is_empty() {
            true => self.render(BootSeconds(0)),
            false => self.render_scope(BootSeconds(0), &Scope::Paths(&scope)),
        };
        if !path.is_empty() && !nodes.iter().any(|n| n.path() == path) {
            return Err(Fault::no_such_name(path));
        }
        let object = path.is_empty() || path.ends_with('.');
        if next_level && !object {
            return Err(Fault::new(
                FaultKind::InvalidArguments,
                format!("{path}: NextLevel must be false for a parameter"),
            ));
        }
        let wanted = |node: &Node| {
            let Some(rest) = node.path().strip_prefix(path) else {
                return false;
            };
            if !object || !next_level {
                return object || rest.is_empty();
            }
            match node {
                Node::Param { .. } => !rest.is_empty() && !rest.contains('.'),
                Node::Object { .. } => rest.find('.').is_some_and(|dot| dot + 1 == rest.len()),
            }
        };
        let mut bytes = limits::ReplyBytes::default();
        let mut out = Vec::new();
        for node in nodes.iter().filter(|n| wanted(n)) {
            bytes.add(&[node.path()])?;
            out.push((node.path().to_string(), node.writable()));
        }
        Ok(out)
    }

    /// Every object (tables included) and parameter, in definition order.
    fn render(&self, now: BootSeconds) -> Vec<Node> {
        self.render_scope(now, &Scope::Everything)
    }

    /// [`Self::render`] of the objects `scope` reaches: an object out of scope (neither at or
    /// below a scope path nor on the way to one) is left out with its parameters, so a request
    /// for a few names does not render the whole tree.
    fn render_scope(&self, now: BootSeconds, scope: &Scope<'_>) -> Vec<Node> {
        let mut nodes = Vec::new();
        for object in self.def.objects() {
            if object.is_table() {
                for (path, _) in self.expand(object.path.trim_end_matches("{i}.")) {
                    if scope.reaches(&path) {
                        nodes.push(Node::Object {
                            path,
                            writable: object.writable,
                        });
                    }
                }
            }
            for (path, instances) in self.expand(&object.path) {
                if !scope.reaches(&path) {
                    continue;
                }
                nodes.push(Node::Object {
                    path: path.clone(),
                    writable: object.is_table() && object.writable,
                });
                for param in &object.params {
                    let value = self.value(object, &instances, &param.name, now);
                    if let Some(value) = value.or_else(|| param.fixed.clone()) {
                        nodes.push(Node::Param {
                            path: format!("{path}{}", param.name),
                            type_name: param.syntax.base.as_str(),
                            value,
                            writable: param.writable,
                            volatile: param.volatile,
                        });
                    }
                }
            }
        }
        nodes
    }

    /// The concrete paths of a definition path, each with its instance numbers:
    /// `Device.DHCPv4.Client.{i}.` → `(Device.DHCPv4.Client.1., [1])`, …
    fn expand(&self, def_path: &str) -> Vec<(String, Vec<u32>)> {
        let mut out = vec![(String::new(), Vec::new())];
        let mut done = 0;
        for (at, marker) in def_path.match_indices("{i}.") {
            let table = &def_path[..at + marker.len()];
            let segment = &def_path[done..at];
            out = out
                .into_iter()
                .flat_map(|(path, instances)| {
                    self.rows(table, &instances).into_iter().map(move |row| {
                        let mut instances = instances.clone();
                        instances.push(row);
                        (format!("{path}{segment}{row}."), instances)
                    })
                })
                .collect();
            done = at + marker.len();
        }
        for (path, _) in &mut out {
            path.push_str(&def_path[done..]);
        }
        out
    }

    /// The definition and instance numbers of a concrete object path such as
    /// `Device.DHCPv4.Client.1.`; `None` unless that row exists.
    fn locate(&self, path: &str) -> Option<(&ObjectDef, Vec<u32>)> {
        self.def.objects().iter().find_map(|object| {
            self.expand(&object.path)
                .into_iter()
                .find(|(p, _)| p == path)
                .map(|(_, instances)| (object, instances))
        })
    }

    /// The object, instance numbers and definition of the parameter with full name `name`.
    fn param(&self, name: &str) -> Result<(&ObjectDef, Vec<u32>, &ParamDef), Fault> {
        let (object_path, param) = name
            .rsplit_once('.')
            .ok_or_else(|| Fault::no_such_name(name))?;
        let (object, instances) = self
            .locate(&format!("{object_path}."))
            .ok_or_else(|| Fault::no_such_name(name))?;
        let param = object
            .param(param)
            .ok_or_else(|| Fault::no_such_name(name))?;
        Ok((object, instances, param))
    }

    /// The `(name, value)` of each parameter of the object instance at `path` (ending in
    /// `.`), in definition order; nothing below it is rendered.
    pub(crate) fn object_values(
        &self,
        path: &str,
        now: BootSeconds,
    ) -> Result<Vec<(String, String)>, Fault> {
        limits::check_name(path)?;
        let (object, instances) = self.locate(path).ok_or_else(|| Fault::no_such_name(path))?;
        Ok(object
            .params
            .iter()
            .filter_map(|param| {
                let value = self.value(object, &instances, &param.name, now);
                Some((param.name.clone(), value.or_else(|| param.fixed.clone())?))
            })
            .collect())
    }

    /// Every object instance that has parameters, each with its parameters in definition
    /// order, for the per-object D-Bus objects (`super::objects`); tables themselves
    /// (`Device.DHCPv4.Client.`) are left out.
    pub(crate) fn objects(&self, now: BootSeconds) -> Vec<super::objects::ObjectView> {
        let mut out: Vec<super::objects::ObjectView> = Vec::new();
        for node in self.render(now) {
            match node {
                Node::Object { path, .. } => out.push(super::objects::ObjectView {
                    path,
                    params: Vec::new(),
                }),
                Node::Param {
                    path,
                    type_name,
                    value,
                    writable,
                    volatile,
                } => {
                    let Some(object) = out.last_mut() else {
                        continue;
                    };
                    if let Some(name) = path.strip_prefix(object.path.as_str()) {
                        if !name.contains('.') {
                            object.params.push(super::objects::ParamView {
                                name: name.to_string(),
                                type_name,
                                value,
                                writable,
                                volatile,
                            });
                        }
                    }
                }
            }
        }
        out.retain(|object| !object.params.is_empty());
        out
    }
}

/// Parameters of `after` whose value is new or differs from `before`, volatile ones left out.
fn changes(before: &[Node], after: &[Node]) -> Vec<(String, String)> {
    let old: HashMap<&str, &str> = before
        .iter()
        .filter_map(|n| match n {
            Node::Param { path, value, .. } => Some((path.as_str(), value.as_str())),
            Node::Object { .. } => None,
        })
        .collect();
    after
        .iter()
        .filter_map(|n| match n {
            Node::Param {
                path,
                value,
                volatile: false,
                ..
            } if old.get(path.as_str()) != Some(&value.as_str()) => {
                Some((path.clone(), value.clone()))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
