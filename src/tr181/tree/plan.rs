//! Writes planned against the tree, all checks first: SetParameterValues (each value, then
//! each client as a whole and the keys unique among clients), AddObject/DeleteObject on the
//! client and option tables, and Operate. Each returns what the controller must do, or the
//! fault; nothing is changed here.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::write::{self, WriteError, V4_CLIENT, V6_CLIENT};
use super::Tree;
use crate::channels::{ClientAction, ClientConfig};
use crate::model::Instance;
use crate::model::{ClientKey, Family};
use crate::tr181::definition::{Access, ObjectDef, ParamDef};
use crate::tr181::fault::{Fault, FaultKind};
use crate::tr181::value;

/// What AddObject asks of the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddPlan {
    /// A row of a client's option table: the client's new settings, and the row's number.
    Row {
        /// The owning client's settings with the new row added, for the controller to apply.
        request: ClientRequest,
        /// The instance number of the new (disabled) row: AddObject's answer once the
        /// controller has applied `request`.
        instance: u32,
    },
    /// A new client of this family; the controller gives it its number.
    Client(Family),
}

/// What DeleteObject asks of the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletePlan {
    /// A row of a client's option table: the client's new settings without it.
    Row(ClientRequest),
    /// The client itself.
    Client(ClientKey),
}

/// What a write or a command asks of the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// The client the request is for (family and instance number).
    pub client: ClientKey,
    /// What the controller is to do: apply new settings, or run a command such as `Renew()`.
    pub action: ClientAction,
}

impl Tree {
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
    /// SetParameterValues, all or nothing: checks every `(name, value)`, applies the settings
    /// writes to copies of the clients' settings and checks each client as a whole, then
    /// returns what the controller must do (new settings first, then commands), or the first
    /// fault. Nothing is changed here.
    pub fn plan_set(&self, values: &[(String, String)]) -> Result<Vec<ClientRequest>, Fault> {
        super::limits::check_count(values.len())?;
        let mut seen = HashSet::new();
        let mut edited: BTreeMap<ClientKey, ClientConfig> = BTreeMap::new();
        let mut commands = Vec::new();
        // `Interface` and `X_RDK_LinuxInterface` are one setting: one value per client.
        let mut interfaces: HashMap<ClientKey, String> = HashMap::new();
        for (name, value) in values {
            super::limits::check_name(name)?;
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
            let is_interface = matches!(param.name.as_str(), "Interface" | "X_RDK_LinuxInterface");
            if is_interface && object.path.ends_with(".Client.{i}.") {
                if let Some(other) = interfaces.insert(client, value.clone()) {
                    if other != value {
                        return Err(Fault::new(
                            FaultKind::InvalidArguments,
                            format!(
                                "{name}: Interface and X_RDK_LinuxInterface are one setting, \
                                 given two values ({other:?}, {value:?})"
                            ),
                        ));
                    }
                }
            }
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
        self.check_clients(&edited)?;
        let mut requests = Vec::new();
        for (client, config) in edited {
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

    /// AddObject on a client table (`Device.DHCPv4.Client.`) or an option table
    /// (`Device.DHCPv4.Client.1.SentOption.`), up to the table limit.
    pub(crate) fn plan_add(&self, path: &str) -> Result<AddPlan, Fault> {
        let (table, instances) = self.locate_table(path)?;
        let full = |rows: usize| {
            Fault::new(
                FaultKind::ResourcesExceeded,
                format!("{path}: the table already has the most rows allowed ({rows})"),
            )
        };
        if let Some(family) = client_family(&table.path) {
            if self.client_count(family) >= self.table_limit {
                return Err(full(self.table_limit));
            }
            return Ok(AddPlan::Client(family));
        }
        let client = owner(&table.path, &instances).ok_or_else(|| cannot_change_rows(path))?;
        let mut config = self
            .current_settings(client)
            .ok_or_else(|| Fault::no_such_name(path))?;
        let instance =
            write::add_row(&mut config, &table.path, self.table_limit).map_err(|e| match e {
                WriteError::Invalid(_) => full(self.table_limit),
                WriteError::NotWritable | WriteError::NoSuchRow => cannot_change_rows(path),
            })?;
        let action = ClientAction::Configure(config);
        Ok(AddPlan::Row {
            request: ClientRequest { client, action },
            instance,
        })
    }

    /// DeleteObject on a client (`Device.DHCPv4.Client.2.`), down to the table's
    /// `minEntries`, or on an option-table row (`Device.DHCPv4.Client.1.SentOption.2.`).
    pub(crate) fn plan_delete(&self, path: &str) -> Result<DeletePlan, Fault> {
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
        if let Some(family) = client_family(&object.path) {
            if self.client_count(family) <= object.min_entries {
                return Err(Fault::new(
                    FaultKind::RequestDenied,
                    format!(
                        "{path}: the table keeps at least {} row(s) (minEntries)",
                        object.min_entries
                    ),
                ));
            }
            return Ok(DeletePlan::Client(client));
        }
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
        Ok(DeletePlan::Row(ClientRequest { client, action }))
    }

    /// Every client of both families.
    fn client_keys(&self) -> impl Iterator<Item = ClientKey> + '_ {
        let v4 = self.v4_clients.keys().map(|&i| ClientKey::V4(i));
        v4.chain(self.v6_clients.keys().map(|&i| ClientKey::V6(i)))
    }

    /// How many clients of `family` there are.
    fn client_count(&self, family: Family) -> usize {
        match family {
            Family::V4 => self.v4_clients.len(),
            Family::V6 => self.v6_clients.len(),
        }
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

    /// The clients' settings after writes (`edited`), each checked as a whole, then the keys
    /// unique among the clients of a family: `Alias`, and `X_RDK_LinuxInterface` among the
    /// enabled ones (two DHCP clients cannot share an interface).
    fn check_clients(&self, edited: &BTreeMap<ClientKey, ClientConfig>) -> Result<(), Fault> {
        let invalid = |client: ClientKey, param: &str, why: &str| {
            Fault::new(
                FaultKind::InvalidParameterValue,
                format!("{}.{param}: {why}", client.object_path()),
            )
        };
        for (&client, config) in edited {
            write::check(config).map_err(|(param, why)| invalid(client, &param, &why))?;
        }
        let clients: Vec<(ClientKey, ClientConfig)> = self
            .client_keys()
            .filter_map(|key| {
                let config = edited
                    .get(&key)
                    .cloned()
                    .or_else(|| self.current_settings(key));
                config.map(|config| (key, config))
            })
            .collect();
        for (client, config) in clients.iter().filter(|(c, _)| edited.contains_key(c)) {
            let others = clients
                .iter()
                .filter(|(other, _)| other != client && other.family() == client.family());
            for (_, other) in others {
                if other.tr181_alias() == config.tr181_alias() {
                    return Err(invalid(
                        *client,
                        "Alias",
                        "another client already has this Alias",
                    ));
                }
                let shared =
                    config.interface().is_some() && config.interface() == other.interface();
                if shared && config.enable() && other.enable() {
                    return Err(invalid(
                        *client,
                        "X_RDK_LinuxInterface",
                        "another enabled client already runs on this interface",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Operate: resolves `command` (`Device.DHCPv4.Client.1.Renew()`) into a controller
    /// request. None of the commands takes arguments.
    pub(crate) fn plan_operate(
        &self,
        command: &str,
        args: &HashMap<String, String>,
    ) -> Result<ClientRequest, Fault> {
        super::limits::check_name(command)?;
        super::limits::check_count(args.len())?;
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

/// The family of the client table whose rows have the definition path `object_path`.
fn client_family(object_path: &str) -> Option<Family> {
    match object_path {
        V4_CLIENT => Some(Family::V4),
        V6_CLIENT => Some(Family::V6),
        _ => None,
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

/// AddObject/DeleteObject on a table whose rows this build does not add or delete (`Device.MAP.Domain.`, whose rows DHCPv6 gives).
fn cannot_change_rows(path: &str) -> Fault {
    Fault::new(
        FaultKind::RequestDenied,
        format!("{path}: this build cannot add or delete rows of this table"),
    )
}
