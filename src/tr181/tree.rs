//! The instance tree the TR-181 thread serves: the controller's client snapshots laid out by the
//! definition. It parses request paths, renders values in TR-181 string form, answers
//! GetParameterValues/GetParameterNames with CWMP semantics, diffs renderings into
//! `ValuesChanged` pairs, and turns writes and commands into controller requests.
//! Pure: no I/O, and the time is passed in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpmgr_ipc::V4Lease;

use super::definition::{Access, Definition, ObjectDef, ParamDef};
use super::fault::{Fault, FaultKind};
use super::value;
use crate::boottime::BootSeconds;
use crate::channels::{ClientAction, ClientKey, ControllerUpdate};
use crate::snapshot::{Instance, V4ClientSnapshot, V6ClientSnapshot};

const DHCPV4: &str = "Device.DHCPv4.";
const V4_CLIENT: &str = "Device.DHCPv4.Client.{i}.";
const V4_SENT_OPTION: &str = "Device.DHCPv4.Client.{i}.SentOption.{i}.";
const V4_REQ_OPTION: &str = "Device.DHCPv4.Client.{i}.ReqOption.{i}.";
const DHCPV6: &str = "Device.DHCPv6.";
const V6_CLIENT: &str = "Device.DHCPv6.Client.{i}.";
const V6_RECEIVED_OPTION: &str = "Device.DHCPv6.Client.{i}.ReceivedOption.{i}.";

/// What a write or a command asks of the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The client a client-table definition path and its instance number stand for.
fn client_key(table: &str, instance: u32) -> Option<ClientKey> {
    match table {
        V4_CLIENT => Some(ClientKey::V4(Instance(instance))),
        V6_CLIENT => Some(ClientKey::V6(Instance(instance))),
        _ => None,
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
}

impl Tree {
    /// An empty tree (no client rows) shaped by `def`.
    pub fn new(def: Definition) -> Self {
        Self {
            def,
            v4_clients: BTreeMap::new(),
            v6_clients: BTreeMap::new(),
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
                self.v6_clients
                    .insert(snapshot.instance, (**snapshot).clone());
            }
            ControllerUpdate::V6ClientRemoved(instance) => {
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
        let nodes = self.render(now);
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
        let nodes = self.render(BootSeconds(0));
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

    /// SetParameterValues, all or nothing: checks every `(name, value)` and returns what the
    /// controller must do, or the first fault. Nothing is changed here.
    pub fn plan_set(&self, values: &[(String, String)]) -> Result<Vec<ClientRequest>, Fault> {
        let mut seen = HashSet::new();
        let mut requests = Vec::with_capacity(values.len());
        for (name, value) in values {
            if !seen.insert(name.as_str()) {
                return Err(Fault::new(
                    FaultKind::InvalidArguments,
                    format!("{name} is given more than once"),
                ));
            }
            let (object, instances, param) = self.param(name)?;
            if !param.writable {
                let why = if param.access == Access::ReadOnly {
                    "is read-only"
                } else {
                    "cannot be written in this build"
                };
                return Err(Fault::new(FaultKind::NotWritable, format!("{name} {why}")));
            }
            let value = value::check(name, &param.syntax, value)?;
            let client = match &instances[..] {
                [i] => client_key(&object.path, *i),
                _ => None,
            };
            match (client, write_action(&param.name, &value)) {
                (Some(client), Some(Some(action))) => {
                    requests.push(ClientRequest { client, action })
                }
                (Some(_), Some(None)) => {}
                _ => {
                    return Err(Fault::new(
                        FaultKind::NotWritable,
                        format!("{name} cannot be written in this build"),
                    ))
                }
            }
        }
        Ok(requests)
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
            [i] => client_key(&object.path, i)
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

    /// Why AddObject on `path` fails: client rows come from the configuration in this build.
    pub fn add_object(&self, path: &str) -> Fault {
        let is_table = self.def.objects().iter().any(|o| {
            o.is_table()
                && self
                    .expand(o.path.trim_end_matches("{i}."))
                    .iter()
                    .any(|(p, _)| p == path)
        });
        if is_table {
            Fault::new(
                FaultKind::RequestDenied,
                format!(
                    "{path}: rows come from the configuration file; this build cannot add them"
                ),
            )
        } else {
            Fault::new(
                FaultKind::InvalidParameterName,
                format!(
                    "{path}: not a table (a table path ends in '.', e.g. Device.DHCPv4.Client.)"
                ),
            )
        }
    }

    /// Why DeleteObject on `path` fails: client rows come from the configuration in this build.
    pub fn delete_object(&self, path: &str) -> Fault {
        match self.locate(path) {
            Some((object, _)) if object.is_table() => Fault::new(
                FaultKind::RequestDenied,
                format!(
                    "{path}: rows come from the configuration file; this build cannot delete them"
                ),
            ),
            _ => Fault::new(
                FaultKind::InvalidParameterName,
                format!("{path}: not a table row (e.g. Device.DHCPv4.Client.1.)"),
            ),
        }
    }

    /// Every object (tables included) and parameter, in definition order.
    fn render(&self, now: BootSeconds) -> Vec<Node> {
        let mut nodes = Vec::new();
        for object in self.def.objects() {
            if object.is_table() {
                for (path, _) in self.expand(object.path.trim_end_matches("{i}.")) {
                    nodes.push(Node::Object {
                        path,
                        writable: object.writable,
                    });
                }
            }
            for (path, instances) in self.expand(&object.path) {
                nodes.push(Node::Object {
                    path: path.clone(),
                    writable: object.is_table() && object.writable,
                });
                for param in &object.params {
                    if let Some(value) = self.value(object, &instances, &param.name, now) {
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

    /// Instance numbers of the rows of `table` (a definition path) under the parent rows
    /// `parent`.
    fn rows(&self, table: &str, parent: &[u32]) -> Vec<u32> {
        match (table, parent) {
            (V4_CLIENT, []) => self.v4_clients.keys().map(|i| i.0).collect(),
            (V6_CLIENT, []) => self.v6_clients.keys().map(|i| i.0).collect(),
            (V4_SENT_OPTION, [c]) => self
                .v4_clients
                .get(&Instance(*c))
                .map_or_else(Vec::new, |client| row_numbers(client.sent_options.len())),
            (V4_REQ_OPTION, [c]) => self
                .v4_clients
                .get(&Instance(*c))
                .map_or_else(Vec::new, |client| row_numbers(client.request_options.len())),
            (V6_RECEIVED_OPTION, [c]) => self
                .v6_clients
                .get(&Instance(*c))
                .map_or_else(Vec::new, |client| {
                    row_numbers(received_options(&client.received_options).len())
                }),
            _ => Vec::new(),
        }
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

    /// The value of `param` of the object `object` with instance numbers `instances`.
    fn value(
        &self,
        object: &ObjectDef,
        instances: &[u32],
        param: &str,
        now: BootSeconds,
    ) -> Option<String> {
        match (object.path.as_str(), instances, param) {
            (DHCPV4, [], "ClientNumberOfEntries") => Some(self.v4_clients.len().to_string()),
            (V4_CLIENT, [i], _) => v4_client_value(self.v4_clients.get(&Instance(*i))?, param, now),
            (DHCPV6, [], "ClientNumberOfEntries") => Some(self.v6_clients.len().to_string()),
            (V6_CLIENT, [i], _) => v6_client_value(self.v6_clients.get(&Instance(*i))?, param),
            (V4_SENT_OPTION, [c, row], _) => {
                let client = self.v4_clients.get(&Instance(*c))?;
                sent_option_value(client.sent_options.get(row_index(*row)?)?, param)
            }
            (V4_REQ_OPTION, [c, row], _) => {
                let client = self.v4_clients.get(&Instance(*c))?;
                let tag = *client.request_options.get(row_index(*row)?)?;
                req_option_value(tag, *row, client.lease.as_ref(), param)
            }
            (V6_RECEIVED_OPTION, [c, row], _) => {
                let client = self.v6_clients.get(&Instance(*c))?;
                let options = received_options(&client.received_options);
                let (tag, hex) = options.get(row_index(*row)?)?;
                Some(match param {
                    "Tag" => tag.to_string(),
                    "Value" => hex.clone(),
                    // A reference to the Server table, which this build does not model.
                    "Server" => String::new(),
                    _ => return None,
                })
            }
            _ => None,
        }
    }
}

/// The `ReceivedOption` rows of the options dibbler-client rendered: `(code, data as lowercase
/// hex)` in code order, leaving out options whose rendering cannot be read back.
fn received_options(rendered: &BTreeMap<u16, String>) -> Vec<(u16, String)> {
    rendered
        .iter()
        .filter_map(|(code, text)| Some((*code, option_data(*code, text)?)))
        .collect()
}

/// The data of DHCPv6 option `code` as lowercase hex, from dibbler-client's rendering:
/// space-separated IPv6 addresses for address-list options, space-separated names for
/// domain-list options (RFC 1035 wire form), colon-separated hex octets for the rest.
fn option_data(code: u16, text: &str) -> Option<String> {
    // SIP servers, DNS servers, NIS servers, NIS+ servers, SNTP servers.
    const ADDRESS_LISTS: [u16; 5] = [22, 23, 27, 28, 31];
    // SIP domains, domain search list, NIS domain, NIS+ domain, AFTR name.
    const DOMAIN_LISTS: [u16; 5] = [21, 24, 29, 30, 64];
    let bytes = if ADDRESS_LISTS.contains(&code) {
        address_list(text).or_else(|| crate::s46::parse_colon_hex(text).ok())?
    } else if DOMAIN_LISTS.contains(&code) {
        domain_list(text).or_else(|| crate::s46::parse_colon_hex(text).ok())?
    } else {
        crate::s46::parse_colon_hex(text).ok()?
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Space-separated IPv6 addresses as their 16-byte forms one after another.
fn address_list(text: &str) -> Option<Vec<u8>> {
    let addresses = text
        .split_ascii_whitespace()
        .map(|a| a.parse::<Ipv6Addr>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some(addresses.iter().flat_map(|a| a.octets()).collect())
}

/// Space-separated domain names in RFC 1035 wire form (labels of 1 to 63 octets, each name
/// ending with the root label).
fn domain_list(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for name in text.split_ascii_whitespace() {
        let name = name.strip_suffix('.').unwrap_or(name);
        for label in name.split('.') {
            let len = u8::try_from(label.len())
                .ok()
                .filter(|l| (1..=63).contains(l))?;
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }
    (!out.is_empty()).then_some(out)
}

/// What writing `value` (already checked) to the client parameter `param` asks of the
/// controller: `None` if the parameter cannot be written, `Some(None)` if the write does nothing
/// (a command-style boolean set to false).
fn write_action(param: &str, value: &str) -> Option<Option<ClientAction>> {
    let on = value == "true";
    let command = match param {
        "Enable" => return Some(Some(ClientAction::SetEnable(on))),
        "Renew" => ClientAction::Renew,
        "X_RDK_Release" => ClientAction::Release,
        "X_RDK_Restart" => ClientAction::Restart,
        _ => return None,
    };
    Some(on.then_some(command))
}

/// Instance numbers 1..=`len` of rows made from a list.
fn row_numbers(len: usize) -> Vec<u32> {
    (1..=len).filter_map(|n| u32::try_from(n).ok()).collect()
}

/// The list index of row instance `row` (instance numbers start at 1).
fn row_index(row: u32) -> Option<usize> {
    usize::try_from(row).ok()?.checked_sub(1)
}

/// The value of a `Device.DHCPv4.Client.{i}.SentOption.{i}.` parameter of the configured
/// option `(tag, hex)`.
fn sent_option_value((tag, hex): &(u8, String), param: &str) -> Option<String> {
    Some(match param {
        "Enable" => "true".to_string(),
        "Tag" => tag.to_string(),
        "Value" => hex.to_ascii_lowercase(),
        _ => return None,
    })
}

/// The value of a `Device.DHCPv4.Client.{i}.ReqOption.{i}.` parameter of the requested option
/// `tag` in position `order`; `Value` is what the lease carries for it (udhcpc passes as hex the
/// options it has no name for), or empty.
fn req_option_value(tag: u8, order: u32, lease: Option<&V4Lease>, param: &str) -> Option<String> {
    Some(match param {
        "Enable" => "true".to_string(),
        "Order" => order.to_string(),
        "Tag" => tag.to_string(),
        "Value" => lease
            .and_then(|l| l.raw_options.get(&tag))
            .map(|hex| hex.to_ascii_lowercase())
            .unwrap_or_default(),
        _ => return None,
    })
}

/// The value of a `Device.DHCPv4.Client.{i}.` parameter.
fn v4_client_value(client: &V4ClientSnapshot, param: &str, now: BootSeconds) -> Option<String> {
    let lease = client.lease.as_ref();
    let addresses = |list: Option<&Vec<Ipv4Addr>>| {
        list.map(|l| {
            l.iter()
                .map(Ipv4Addr::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
    };
    Some(match param {
        "Enable" => client.enable.to_string(),
        "Alias" => client.alias.clone(),
        // A reference to Device.IP.Interface.{i}., which this build does not model.
        "Interface" => String::new(),
        "Status" => client.status.as_tr181().to_string(),
        "DHCPStatus" => client.dhcp_status.as_tr181().to_string(),
        // Command-style booleans read back false.
        "Renew" | "X_RDK_Release" | "X_RDK_Restart" => "false".to_string(),
        "IPAddress" => lease.map(|l| l.address.to_string()).unwrap_or_default(),
        "SubnetMask" => lease
            .map(|l| subnet_mask(l.prefix_len).to_string())
            .unwrap_or_default(),
        "IPRouters" => addresses(lease.map(|l| &l.routers)),
        "DNSServers" => addresses(lease.map(|l| &l.dns_servers)),
        "LeaseTimeRemaining" => client.lease_time_remaining(now).to_string(),
        "DHCPServer" => lease
            .and_then(|l| l.server_id)
            .map(|a| a.to_string())
            .unwrap_or_default(),
        "SentOptionNumberOfEntries" => client.sent_options.len().to_string(),
        "ReqOptionNumberOfEntries" => client.request_options.len().to_string(),
        "X_RDK_LinuxInterface" => client.interface.clone(),
        _ => return None,
    })
}

/// The value of a `Device.DHCPv6.Client.{i}.` parameter.
fn v6_client_value(client: &V6ClientSnapshot, param: &str) -> Option<String> {
    let suggested = |t: Option<u32>| t.map_or_else(|| "-1".to_string(), |t| t.to_string());
    Some(match param {
        "Enable" => client.enable.to_string(),
        "Alias" => client.alias.clone(),
        // A reference to Device.IP.Interface.{i}., which this build does not model.
        "Interface" => String::new(),
        "Status" => client.status.as_tr181().to_string(),
        "DUID" => client.duid.clone(),
        "RequestAddresses" => client.request_addresses.to_string(),
        "RequestPrefixes" => client.request_prefixes.to_string(),
        "RapidCommit" => client.rapid_commit.to_string(),
        // Command-style booleans read back false.
        "Renew" | "X_RDK_Release" | "X_RDK_Restart" => "false".to_string(),
        "SuggestedT1" => suggested(client.suggested_t1),
        "SuggestedT2" => suggested(client.suggested_t2),
        "ReceivedOptionNumberOfEntries" => {
            received_options(&client.received_options).len().to_string()
        }
        "RequestedOptions" => client
            .requested_options
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
        "X_RDK_LinuxInterface" => client.interface.clone(),
        _ => return None,
    })
}

/// The netmask of a prefix length (lengths over 32 count as 32).
fn subnet_mask(prefix_len: u8) -> Ipv4Addr {
    let len = u32::from(prefix_len.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - len).unwrap_or(0))
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
