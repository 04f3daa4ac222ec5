//! The instance tree the TR-181 thread serves: the controller's client snapshots laid out by the
//! definition. It parses request paths, renders values in TR-181 string form, answers
//! GetParameterValues/GetParameterNames with CWMP semantics, diffs renderings into
//! `ValuesChanged` pairs, and turns writes, AddObject/DeleteObject and commands into controller
//! requests ([`write`] makes the new client settings). Pure: no I/O, and the time is passed in.

mod lookup;
mod map;
mod values;
mod write;

use std::collections::{BTreeMap, HashMap, HashSet};

use super::definition::{Access, Definition, ObjectDef, ParamDef};
use super::fault::{Fault, FaultKind};
use super::value;
use crate::boottime::BootSeconds;
use crate::channels::{ClientAction, ClientConfig, ClientKey, ControllerUpdate};
use crate::snapshot::{Instance, V4ClientSnapshot, V6ClientSnapshot};
use lookup::Scope;
use write::{WriteError, V4_CLIENT, V6_CLIENT};

/// Rows AddObject may grow an option table to, unless configured otherwise.
pub const DEFAULT_TABLE_LIMIT: usize = 32;

/// What a write or a command asks of the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    pub client: ClientKey,
    pub action: ClientAction,
}

impl ClientRequest {
    /// TR-181 path of the client, for messages: `Device.DHCPv4.Client.1`.
    pub fn object_path(&self) -> String {
        self.client.object_path()
    }
}

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
    /// Rows AddObject may grow an option table to.
    table_limit: usize,
}

impl Tree {
    /// An empty tree (no client rows) shaped by `def`.
    pub fn new(def: Definition) -> Self {
        Self {
            def,
            v4_clients: BTreeMap::new(),
            v6_clients: BTreeMap::new(),
            v6_received: BTreeMap::new(),
            table_limit: DEFAULT_TABLE_LIMIT,
        }
    }

    /// Sets the most rows AddObject may grow an option table to.
    pub fn set_table_limit(&mut self, limit: usize) {
        self.table_limit = limit;
    }

    /// Takes in settings the controller accepted, so that reads and the next write see them
    /// before the controller's own update arrives; returns the values that changed, for
    /// `ValuesChanged` (the controller's update will then change nothing more).
    pub fn note_settings(
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

    /// The client's settings as a write starts from them: `Enable` as it reads now (a released
    /// client reads false).
    fn current_settings(&self, client: ClientKey) -> Option<ClientConfig> {
        match client {
            ClientKey::V4(i) => self.v4_clients.get(&i).map(|c| {
                ClientConfig::V4(Box::new(crate::config::V4ClientConfig {
                    enable: c.enable,
                    ..c.settings.clone()
                }))
            }),
            ClientKey::V6(i) => self.v6_clients.get(&i).map(|c| {
                ClientConfig::V6(Box::new(crate::config::V6ClientConfig {
                    enable: c.enable,
                    ..c.settings.clone()
                }))
            }),
        }
    }

    /// Takes in a controller update and returns the `(name, value)` pairs whose values changed,
    /// leaving out volatile parameters (`LeaseTimeRemaining`). Events change nothing here.
    pub fn apply(&mut self, update: &ControllerUpdate, now: BootSeconds) -> Vec<(String, String)> {
        let before = self.render(now);
        match update {
            ControllerUpdate::V4Client(snapshot) => {
                self.v4_clients
                    .insert(snapshot.instance, (**snapshot).clone());
            }
            ControllerUpdate::V4ClientRemoved(instance) => {
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
                self.v6_received.remove(instance);
                self.v6_clients.remove(instance);
            }
            ControllerUpdate::Event { .. } => return Vec::new(),
        }
        changes(&before, &self.render(now))
    }

    /// GetParameterValues: `(name, type, value)` for each full name, and for every parameter
    /// below each partial path (ending in `.`).
    pub fn get_values(
        &self,
        names: &[String],
        now: BootSeconds,
    ) -> Result<Vec<(String, String, String)>, Fault> {
        let nodes = self.render_scope(now, &Scope::Paths(names));
        let mut out = Vec::new();
        for name in names {
            let partial = name.ends_with('.');
            if !nodes.iter().any(|n| n.path() == name) {
                return Err(Fault::no_such_name(name));
            }
            out.extend(nodes.iter().filter_map(|node| match node {
                Node::Param {
                    path,
                    type_name,
                    value,
                    ..
                } if (partial && path.starts_with(name.as_str())) || path == name => {
                    Some((path.clone(), type_name.to_string(), value.clone()))
                }
                _ => None,
            }));
        }
        Ok(out)
    }

    /// GetParameterNames with CWMP semantics: `(name, writable)` of the path itself and
    /// everything below it, or with `next_level` only of its immediate children. An empty path
    /// is the top of the tree.
    pub fn get_names(&self, path: &str, next_level: bool) -> Result<Vec<(String, bool)>, Fault> {
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
        Ok(nodes
            .iter()
            .filter(|n| wanted(n))
            .map(|n| (n.path().to_string(), n.writable()))
            .collect())
    }

    /// SetParameterValues, all or nothing: checks every `(name, value)`, applies the settings
    /// writes to copies of the clients' settings and checks each client as a whole, then
    /// returns what the controller must do (new settings first, then commands), or the first
    /// fault. Nothing is changed here.
    pub fn plan_set(&self, values: &[(String, String)]) -> Result<Vec<ClientRequest>, Fault> {
        let mut seen = HashSet::new();
        let mut edited: BTreeMap<ClientKey, ClientConfig> = BTreeMap::new();
        let mut commands = Vec::new();
        for (name, value) in values {
            if !seen.insert(name.as_str()) {
                return Err(Fault::new(
                    FaultKind::InvalidArguments,
                    format!("{name} is given more than once"),
                ));
            }
            let (object, instances, param) = self.param(name)?;
            let not_writable = || {
                let why = if param.access == Access::ReadOnly {
                    "is read-only"
                } else {
                    "cannot be written in this build"
                };
                Fault::new(FaultKind::NotWritable, format!("{name} {why}"))
            };
            if !param.writable {
                return Err(not_writable());
            }
            let value = value::check(name, &param.syntax, value)?;
            if let Some(fixed) = &param.fixed {
                if value == *fixed {
                    continue;
                }
                return Err(fixed_value(name, param, fixed));
            }
            let client = owner(&object.path, &instances).ok_or_else(not_writable)?;
            if let Some(command) = command_boolean(&param.name) {
                if value == "true" {
                    commands.push(ClientRequest {
                        client,
                        action: command,
                    });
                }
                continue;
            }
            let config = match edited.entry(client) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(
                    self.current_settings(client)
                        .ok_or_else(|| Fault::no_such_name(name))?,
                ),
            };
            let row = instances.get(1).copied();
            write::write(config, &object.path, row, &param.name, &value).map_err(|e| match e {
                WriteError::NotWritable => not_writable(),
                WriteError::NoSuchRow => Fault::no_such_name(name),
                WriteError::Invalid(why) => {
                    Fault::new(FaultKind::InvalidParameterValue, format!("{name}: {why}"))
                }
            })?;
        }
        let mut requests = Vec::new();
        for (client, config) in edited {
            self.check_client(client, &config)?;
            if Some(&config) != self.current_settings(client).as_ref() {
                requests.push(ClientRequest {
                    client,
                    action: ClientAction::Configure(config),
                });
            }
        }
        requests.extend(commands);
        Ok(requests)
    }

    /// AddObject on an option table (`Device.DHCPv4.Client.1.SentOption.`): the client's new
    /// settings with a disabled row added, and that row's instance number.
    pub fn plan_add(&self, path: &str) -> Result<(ClientRequest, u32), Fault> {
        let (table, instances) = self.locate_table(path)?;
        let client = owner(&table.path, &instances).ok_or_else(|| cannot_change_rows(path))?;
        let mut config = self
            .current_settings(client)
            .ok_or_else(|| Fault::no_such_name(path))?;
        let instance =
            write::add_row(&mut config, &table.path, self.table_limit).map_err(|e| match e {
                WriteError::Invalid(why) => {
                    Fault::new(FaultKind::ResourcesExceeded, format!("{path}: {why}"))
                }
                WriteError::NotWritable | WriteError::NoSuchRow => cannot_change_rows(path),
            })?;
        let action = ClientAction::Configure(config);
        Ok((ClientRequest { client, action }, instance))
    }

    /// DeleteObject on an option-table row (`Device.DHCPv4.Client.1.SentOption.2.`): the
    /// client's new settings without it.
    pub fn plan_delete(&self, path: &str) -> Result<ClientRequest, Fault> {
        let not_a_row = || {
            Fault::new(
                FaultKind::InvalidParameterName,
                format!("{path}: not a table row (e.g. Device.DHCPv4.Client.1.SentOption.2.)"),
            )
        };
        let (object, instances) = self.locate(path).ok_or_else(not_a_row)?;
        if !object.is_table() {
            return Err(not_a_row());
        }
        if !object.writable {
            return Err(cannot_change_rows(path));
        }
        let client = owner(&object.path, &instances).ok_or_else(|| cannot_change_rows(path))?;
        let mut config = self
            .current_settings(client)
            .ok_or_else(|| Fault::no_such_name(path))?;
        let row = instances
            .get(1)
            .copied()
            .ok_or_else(|| cannot_change_rows(path))?;
        write::delete_row(&mut config, &object.path, row).map_err(|e| match e {
            WriteError::NoSuchRow => Fault::no_such_name(path),
            _ => cannot_change_rows(path),
        })?;
        let action = ClientAction::Configure(config);
        Ok(ClientRequest { client, action })
    }

    /// The definition of the table at `path` (`Device.DHCPv4.Client.1.SentOption.`) and the
    /// instance numbers of the rows above it.
    fn locate_table(&self, path: &str) -> Result<(&ObjectDef, Vec<u32>), Fault> {
        self.def
            .objects()
            .iter()
            .filter(|o| o.is_table())
            .find_map(|o| {
                self.expand(o.path.trim_end_matches("{i}."))
                    .into_iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, instances)| (o, instances))
            })
            .ok_or_else(|| {
                Fault::new(
                    FaultKind::InvalidParameterName,
                    format!(
                        "{path}: not a table (a table path ends in '.', e.g. Device.DHCPv4.Client.1.SentOption.)"
                    ),
                )
            })
            .and_then(|(o, instances)| match o.writable {
                true => Ok((o, instances)),
                false => Err(cannot_change_rows(path)),
            })
    }

    /// A client's settings after writes, checked as a whole: its tables, and its `Alias` unique
    /// among the clients of its family.
    fn check_client(&self, client: ClientKey, config: &ClientConfig) -> Result<(), Fault> {
        let path = client.object_path();
        write::check(config).map_err(|(param, why)| {
            Fault::new(
                FaultKind::InvalidParameterValue,
                format!("{path}.{param}: {why}"),
            )
        })?;
        let taken = match (client, config) {
            (ClientKey::V4(i), ClientConfig::V4(c)) => self
                .v4_clients
                .values()
                .any(|o| o.instance != i && o.settings.tr181_alias() == c.tr181_alias()),
            (ClientKey::V6(i), ClientConfig::V6(c)) => self
                .v6_clients
                .values()
                .any(|o| o.instance != i && o.settings.tr181_alias() == c.tr181_alias()),
            _ => false,
        };
        if taken {
            return Err(Fault::new(
                FaultKind::InvalidParameterValue,
                format!("{path}.Alias: another client already has this Alias"),
            ));
        }
        Ok(())
    }

    /// Operate: resolves `command` (`Device.DHCPv4.Client.1.Renew()`) into a controller
    /// request. None of the commands takes arguments.
    pub fn plan_operate(
        &self,
        command: &str,
        args: &HashMap<String, String>,
    ) -> Result<ClientRequest, Fault> {
        let (object_path, name) = command
            .rsplit_once('.')
            .filter(|(_, name)| name.ends_with("()"))
            .ok_or_else(|| Fault::no_such_name(command))?;
        let (object, instances) = self
            .locate(&format!("{object_path}."))
            .filter(|(object, _)| object.commands.iter().any(|c| c == name))
            .ok_or_else(|| Fault::no_such_name(command))?;
        if let Some(arg) = args.keys().next() {
            return Err(Fault::new(
                FaultKind::InvalidArguments,
                format!("{command} takes no argument {arg:?}"),
            ));
        }
        let action = match name {
            "Renew()" => ClientAction::Renew,
            "X_RDK_Release()" => ClientAction::Release,
            "X_RDK_Restart()" => ClientAction::Restart,
            _ => {
                return Err(Fault::new(
                    FaultKind::RequestDenied,
                    format!("{command} is not supported by this build"),
                ))
            }
        };
        match instances[..] {
            [_] => owner(&object.path, &instances)
                .map(|client| ClientRequest { client, action })
                .ok_or_else(|| {
                    Fault::new(
                        FaultKind::RequestDenied,
                        format!("{command} is not supported by this build"),
                    )
                }),
            _ => Err(Fault::no_such_name(command)),
        }
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

    /// Every object instance that has parameters, each with its parameters in definition
    /// order, for the per-object D-Bus objects (`super::objects`); tables themselves
    /// (`Device.DHCPv4.Client.`) are left out.
    pub fn objects(&self, now: BootSeconds) -> Vec<super::objects::ObjectView> {
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

/// The client a parameter or row of the object `object_path` (a definition path) with instance
/// numbers `instances` belongs to.
fn owner(object_path: &str, instances: &[u32]) -> Option<ClientKey> {
    let first = Instance(*instances.first()?);
    if object_path.starts_with(V4_CLIENT) {
        Some(ClientKey::V4(first))
    } else if object_path.starts_with(V6_CLIENT) {
        Some(ClientKey::V6(first))
    } else {
        None
    }
}

/// The command a command-style boolean (`Renew`, `X_RDK_Release`, `X_RDK_Restart`) carries out
/// when set to true.
fn command_boolean(param: &str) -> Option<ClientAction> {
    match param {
        "Renew" => Some(ClientAction::Renew),
        "X_RDK_Release" => Some(ClientAction::Release),
        "X_RDK_Restart" => Some(ClientAction::Restart),
        _ => None,
    }
}

/// A write of another value than the one a `dhcpmgr:fixed` parameter can have.
fn fixed_value(name: &str, param: &ParamDef, fixed: &str) -> Fault {
    let why = param
        .fixed_reason
        .as_deref()
        .unwrap_or("the DHCP client cannot change it");
    Fault::new(
        FaultKind::InvalidParameterValue,
        format!("{name}: {why}; {} is fixed at {fixed:?}", param.name),
    )
}

/// AddObject/DeleteObject on a table whose rows this build does not add or delete.
fn cannot_change_rows(path: &str) -> Fault {
    Fault::new(
        FaultKind::RequestDenied,
        format!("{path}: rows of this table come from the configuration file; this build cannot add or delete them"),
    )
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
