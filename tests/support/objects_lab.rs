//! The fixture of the per-object D-Bus tests (`tr181_objects.rs`, `tr181_busctl.rs`): the
//! TR-181 thread alone on a private `dbus-daemon` serving DHCPv4 clients 1 and 2 and DHCPv6
//! client 1, and helpers to read its objects' properties.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use dhcpmgr::boottime::BootSeconds;
use dhcpmgr::channels::{ClientAction, ClientConfig, ControllerUpdate};
use dhcpmgr::config::{Config, V4ClientConfig};
use dhcpmgr::model::DhcpStatus;
use dhcpmgr::model::{ClientStatus, Instance, V4ClientSnapshot, V6ClientSnapshot};
use dhcpmgr::tr181;
use dhcpmgr_ipc::V4Lease;
use tokio::time::timeout;
use zbus::fdo::{ObjectManagerProxy, PropertiesProxy};
use zbus::names::InterfaceName;
use zbus::zvariant::OwnedValue;

use super::tr181_thread::{Tr181Thread, WAIT};

pub const OBJECT1: &str = "org.dhcpmgr.Object1";
pub const CLIENT_1: &str = "/org/dhcpmgr/Device/DHCPv4/Client/1";
pub const CLIENT_2: &str = "/org/dhcpmgr/Device/DHCPv4/Client/2";

/// Whether a missing lab tool may skip the test.
pub fn may_skip() -> bool {
    std::env::var("DHCPMGR_SKIP_LAB").as_deref() == Ok("1")
}

/// The TR-181 thread serving DHCPv4 client 1 (bound, two sent and three requested options),
/// DHCPv4 client 2 (unbound) and DHCPv6 client 1 (two received options).
pub struct Lab(pub Tr181Thread);

impl std::ops::Deref for Lab {
    type Target = Tr181Thread;
    fn deref(&self) -> &Tr181Thread {
        &self.0
    }
}

impl std::ops::DerefMut for Lab {
    fn deref_mut(&mut self) -> &mut Tr181Thread {
        &mut self.0
    }
}

impl Lab {
    pub fn start() -> Option<Self> {
        let lab = Self(Tr181Thread::start(Vec::new())?);
        lab.update(ControllerUpdate::V4Client(Box::new(bound(1, "wan", 2))));
        lab.update(ControllerUpdate::V4Client(Box::new(unbound(2, "backup"))));
        lab.update(ControllerUpdate::V6Client(Box::new(v6(1, "wan6"))));
        Some(lab)
    }

    /// A client connection, once client 1's object answers with its address.
    pub async fn client(&self) -> zbus::Connection {
        let conn = zbus::connection::Builder::address(self.address.as_str())
            .expect("address")
            .build()
            .await
            .expect("client connects");
        let ready = async {
            loop {
                match get(&conn, CLIENT_1, "IPAddress").await {
                    Ok(address) if address == "192.0.2.10" => break,
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        };
        timeout(WAIT, ready)
            .await
            .expect("client 1's object comes up");
        conn
    }
}

/// The settings of DHCPv4 client `alias` on `wan{instance}` with the first `sent` of three
/// sent options and three requested ones, as the configuration file gives them.
pub fn v4_settings(instance: u32, alias: &str, sent: usize) -> V4ClientConfig {
    let sent_options: Vec<String> = [
        (60, "64736c666f72756d2e6f7267"),
        (77, "72646b"),
        (125, "00"),
    ]
    .into_iter()
    .take(sent)
    .map(|(tag, hex)| format!("{{ tag = {tag}, value = \"{hex}\" }}"))
    .collect();
    let requested = if sent > 0 { "[1, 3, 6]" } else { "[]" };
    let config = format!(
        "[[dhcpv4.client]]\nalias = \"{alias}\"\ninterface = \"wan{instance}\"\n\
         request_options = {requested}\nsent_options = [{}]\n",
        sent_options.join(", ")
    );
    Config::parse(&config).expect("config").dhcpv4_clients[0].clone()
}

pub fn unbound(instance: u32, alias: &str) -> V4ClientSnapshot {
    V4ClientSnapshot {
        instance: Instance(instance),
        settings: v4_settings(instance, alias, 0),
        enable: true,
        status: ClientStatus::Enabled,
        dhcp_status: DhcpStatus::Selecting,
        lease: None,
        lease_expires: None,
        stats: Default::default(),
        waiting: None,
    }
}

/// A bound client with `sent` sent options and three requested ones.
pub fn bound(instance: u32, alias: &str, sent: usize) -> V4ClientSnapshot {
    let mut lease = V4Lease::new(Ipv4Addr::new(192, 0, 2, 10), 24);
    lease.routers = vec![Ipv4Addr::new(192, 0, 2, 1)];
    lease.dns_servers = vec![Ipv4Addr::new(198, 51, 100, 53)];
    lease.server_id = Some(Ipv4Addr::new(192, 0, 2, 254));
    lease.lease_secs = Some(3600);
    V4ClientSnapshot {
        settings: v4_settings(instance, alias, sent),
        dhcp_status: DhcpStatus::Bound,
        lease: Some(lease),
        lease_expires: Some(BootSeconds::now().after(3600)),
        ..unbound(instance, alias)
    }
}

pub fn v6(instance: u32, alias: &str) -> V6ClientSnapshot {
    let config = format!(
        "[[dhcpv6.client]]\nalias = \"{alias}\"\ninterface = \"erouter0\"\n\
         requested_options = [23, 24]\n"
    );
    V6ClientSnapshot {
        instance: Instance(instance),
        settings: Config::parse(&config).expect("config").dhcpv6_clients[0].clone(),
        enable: true,
        status: ClientStatus::Enabled,
        duid: "000300010a0027000001".into(),
        received_options: BTreeMap::from([
            (23, "2001:db8::53".to_string()),
            (24, "example.com".to_string()),
        ]),
        map: None,
        addresses: Vec::new(),
        prefixes: Vec::new(),
        stats: Default::default(),
        waiting: None,
    }
}

/// The `Enable` a write asks the controller for.
pub fn enable_in(action: &ClientAction) -> Option<bool> {
    match action {
        ClientAction::Configure(ClientConfig::V4(settings)) => Some(settings.enable),
        _ => None,
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub async fn properties(conn: &zbus::Connection, path: &str) -> PropertiesProxy<'static> {
    PropertiesProxy::builder(conn)
        .destination(tr181::BUS_NAME)
        .expect("bus name")
        .path(path.to_string())
        .expect("object path")
        .build()
        .await
        .expect("properties proxy")
}

pub async fn object_manager(conn: &zbus::Connection) -> ObjectManagerProxy<'static> {
    ObjectManagerProxy::builder(conn)
        .destination(tr181::BUS_NAME)
        .expect("bus name")
        .path(tr181::OBJECT_PATH)
        .expect("object path")
        .build()
        .await
        .expect("object manager proxy")
}

pub fn object1() -> InterfaceName<'static> {
    InterfaceName::from_static_str_unchecked(OBJECT1)
}

/// One property of `org.dhcpmgr.Object1` at `path`.
pub async fn get(conn: &zbus::Connection, path: &str, property: &str) -> zbus::Result<String> {
    let value = properties(conn, path)
        .await
        .get(object1(), property)
        .await?;
    Ok(text(value))
}

pub fn text(value: OwnedValue) -> String {
    String::try_from(value).expect("a string property")
}

/// The D-Bus error name of a failed call.
pub fn error_name<T: std::fmt::Debug>(result: Result<T, zbus::fdo::Error>) -> (String, String) {
    match result {
        Err(e) => {
            let name = zbus::DBusError::name(&e).to_string();
            let message = zbus::DBusError::description(&e).unwrap_or("").to_string();
            (name, message)
        }
        Ok(v) => panic!("expected a D-Bus error, got {v:?}"),
    }
}

/// The paths ObjectManager lists with `org.dhcpmgr.Object1` (zbus lists the nodes between
/// them too, with the standard interfaces only).
pub async fn managed_paths(conn: &zbus::Connection) -> BTreeSet<String> {
    object_manager(conn)
        .await
        .get_managed_objects()
        .await
        .expect("GetManagedObjects")
        .into_iter()
        .filter(|(_, interfaces)| interfaces.keys().any(|i| i.as_str() == OBJECT1))
        .map(|(path, _)| path.to_string())
        .collect()
}
