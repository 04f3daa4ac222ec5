//! The per-object D-Bus objects of the TR-181 thread (`org.dhcpmgr.Object1` below
//! `/org/dhcpmgr`, ObjectManager at `/org/dhcpmgr`) on a private `dbus-daemon`, with the thread
//! run alone against a fake controller channel as in `tr181_dbus.rs`: objects for every client
//! and option row, property values equal to GetParameterValues, PropertiesChanged after an
//! update, objects following their rows, writes through Properties.Set, and `busctl` as a user
//! would run it. Set DHCPMGR_SKIP_LAB=1 to skip when dbus-daemon or busctl is not installed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use dhcpmgr::boottime::BootSeconds;
use dhcpmgr::channels::{ClientAction, ClientConfig, ClientKey, ControllerUpdate};
use dhcpmgr::config::{Config, V4ClientConfig};
use dhcpmgr::snapshot::{ClientStatus, DhcpStatus, Instance, V4ClientSnapshot, V6ClientSnapshot};
use dhcpmgr::tr181::{self, DataModel1Proxy};
use dhcpmgr_ipc::V4Lease;
use futures_util::StreamExt;
use tokio::time::timeout;
use zbus::fdo::{ObjectManagerProxy, PropertiesProxy};
use zbus::names::InterfaceName;
use zbus::zvariant::{OwnedValue, Value};

const OBJECT1: &str = "org.dhcpmgr.Object1";
const CLIENT_1: &str = "/org/dhcpmgr/Device/DHCPv4/Client/1";
const CLIENT_2: &str = "/org/dhcpmgr/Device/DHCPv4/Client/2";

/// Whether a missing lab tool may skip the test.
fn may_skip() -> bool {
    std::env::var("DHCPMGR_SKIP_LAB").as_deref() == Ok("1")
}

#[allow(dead_code)] // Shared with tr181_dbus.rs, which also stops the thread by hand.
#[path = "support/tr181_thread.rs"]
mod tr181_thread;

use tr181_thread::{Tr181Thread, WAIT};

/// The TR-181 thread serving DHCPv4 client 1 (bound, two sent and three requested options),
/// DHCPv4 client 2 (unbound) and DHCPv6 client 1 (two received options).
struct Lab(Tr181Thread);

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
    fn start() -> Option<Self> {
        let lab = Self(Tr181Thread::start(Vec::new())?);
        lab.update(ControllerUpdate::V4Client(Box::new(bound(1, "wan", 2))));
        lab.update(ControllerUpdate::V4Client(Box::new(unbound(2, "backup"))));
        lab.update(ControllerUpdate::V6Client(Box::new(v6(1, "wan6"))));
        Some(lab)
    }

    /// A client connection, once client 1's object answers with its address.
    async fn client(&self) -> zbus::Connection {
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
fn v4_settings(instance: u32, alias: &str, sent: usize) -> V4ClientConfig {
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

fn unbound(instance: u32, alias: &str) -> V4ClientSnapshot {
    V4ClientSnapshot {
        instance: Instance(instance),
        settings: v4_settings(instance, alias, 0),
        enable: true,
        status: ClientStatus::Enabled,
        dhcp_status: DhcpStatus::Selecting,
        lease: None,
        lease_expires: None,
        stats: Default::default(),
    }
}

/// A bound client with `sent` sent options and three requested ones.
fn bound(instance: u32, alias: &str, sent: usize) -> V4ClientSnapshot {
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

fn v6(instance: u32, alias: &str) -> V6ClientSnapshot {
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
        stats: Default::default(),
    }
}

/// The `Enable` a write asks the controller for.
fn enable_in(action: &ClientAction) -> Option<bool> {
    match action {
        ClientAction::Configure(ClientConfig::V4(settings)) => Some(settings.enable),
        _ => None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn properties(conn: &zbus::Connection, path: &str) -> PropertiesProxy<'static> {
    PropertiesProxy::builder(conn)
        .destination(tr181::BUS_NAME)
        .expect("bus name")
        .path(path.to_string())
        .expect("object path")
        .build()
        .await
        .expect("properties proxy")
}

async fn object_manager(conn: &zbus::Connection) -> ObjectManagerProxy<'static> {
    ObjectManagerProxy::builder(conn)
        .destination(tr181::BUS_NAME)
        .expect("bus name")
        .path(tr181::OBJECT_PATH)
        .expect("object path")
        .build()
        .await
        .expect("object manager proxy")
}

fn object1() -> InterfaceName<'static> {
    InterfaceName::from_static_str_unchecked(OBJECT1)
}

/// One property of `org.dhcpmgr.Object1` at `path`.
async fn get(conn: &zbus::Connection, path: &str, property: &str) -> zbus::Result<String> {
    let value = properties(conn, path)
        .await
        .get(object1(), property)
        .await?;
    Ok(text(value))
}

fn text(value: OwnedValue) -> String {
    String::try_from(value).expect("a string property")
}

/// The D-Bus error name of a failed call.
fn error_name<T: std::fmt::Debug>(result: Result<T, zbus::fdo::Error>) -> (String, String) {
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
async fn managed_paths(conn: &zbus::Connection) -> BTreeSet<String> {
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

#[test]
fn an_object_per_row_with_the_values_of_get_parameter_values() {
    let Some(lab) = Lab::start() else {
        return;
    };
    runtime().block_on(async {
        let conn = lab.client().await;
        let mut managed = object_manager(&conn)
            .await
            .get_managed_objects()
            .await
            .expect("GetManagedObjects");
        managed.retain(|_, interfaces| interfaces.keys().any(|i| i.as_str() == OBJECT1));
        let paths: BTreeSet<String> = managed.keys().map(|p| p.to_string()).collect();
        let expected: BTreeSet<String> = [
            "Device/DHCPv4",
            "Device/DHCPv4/Client/1",
            "Device/DHCPv4/Client/1/SentOption/1",
            "Device/DHCPv4/Client/1/SentOption/2",
            "Device/DHCPv4/Client/1/ReqOption/1",
            "Device/DHCPv4/Client/1/ReqOption/2",
            "Device/DHCPv4/Client/1/ReqOption/3",
            "Device/DHCPv4/Client/1/Retransmission",
            "Device/DHCPv4/Client/1/Stats",
            "Device/DHCPv4/Client/2",
            "Device/DHCPv4/Client/2/Retransmission",
            "Device/DHCPv4/Client/2/Stats",
            "Device/DHCPv6",
            "Device/DHCPv6/Client/1",
            "Device/DHCPv6/Client/1/ReceivedOption/1",
            "Device/DHCPv6/Client/1/ReceivedOption/2",
            "Device/DHCPv6/Client/1/Retransmission",
            "Device/DHCPv6/Client/1/Stats",
            "Device/DHCPv6/Client/1/X_RDKCENTRAL_COM_RcvOption",
            "Device/MAP",
        ]
        .iter()
        .map(|p| format!("/org/dhcpmgr/{p}"))
        .collect();
        assert_eq!(paths, expected);

        let model = DataModel1Proxy::new(&conn).await.expect("proxy");
        for (path, interfaces) in &managed {
            let props = interfaces
                .iter()
                .find(|(name, _)| name.as_str() == OBJECT1)
                .map(|(_, props)| props)
                .unwrap_or_else(|| panic!("{path} serves {OBJECT1}"));
            let tr181_path = text(props["Path"].try_clone().expect("clone"));
            assert_eq!(
                path.as_str(),
                format!("/org/dhcpmgr/{}", tr181_path.trim_end_matches('.'))
                    .replace('.', "/")
                    .replace('-', "_"),
            );
            // What GetAll says now, and what GetParameterValues says right after.
            let all = properties(&conn, path.as_str())
                .await
                .get_all(object1())
                .await
                .expect("GetAll");
            let values = model
                .get_parameter_values(&[tr181_path.as_str()])
                .await
                .expect("GetParameterValues");
            let own: BTreeMap<String, String> = values
                .into_iter()
                .filter_map(|(name, _, value)| {
                    let param = name.strip_prefix(tr181_path.as_str())?;
                    (!param.contains('.')).then(|| (param.replace('-', "_"), value))
                })
                .collect();
            assert_eq!(all.len(), own.len() + 1, "{path}: parameters and Path");
            for (member, value) in own {
                let served = all
                    .get(&member)
                    .map(|v| text(v.try_clone().expect("clone")))
                    .unwrap_or_else(|| panic!("{path} has property {member}"));
                if member == "LeaseTimeRemaining" {
                    let (a, b): (i64, i64) = (
                        served.parse().expect("a number"),
                        value.parse().expect("a number"),
                    );
                    assert!((a - b).abs() <= 2, "{path}.{member}: {a} vs {b}");
                } else {
                    assert_eq!(served, value, "{path}.{member}");
                }
            }
        }
        assert_eq!(
            get(
                &conn,
                "/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/2",
                "Tag"
            )
            .await
            .expect("Tag"),
            "77"
        );
        assert_eq!(
            get(&conn, "/org/dhcpmgr/Device/DHCPv4", "ClientNumberOfEntries")
                .await
                .expect("ClientNumberOfEntries"),
            "2"
        );
    });
}

#[test]
fn properties_changed_after_an_update() {
    let Some(lab) = Lab::start() else {
        return;
    };
    runtime().block_on(async {
        let conn = lab.client().await;
        let client_1 = properties(&conn, CLIENT_1).await;
        let mut changes = client_1
            .receive_properties_changed()
            .await
            .expect("subscribe");

        let mut renewed = bound(1, "wan", 2);
        if let Some(lease) = renewed.lease.as_mut() {
            lease.dns_servers.push(Ipv4Addr::new(198, 51, 100, 54));
        }
        lab.update(ControllerUpdate::V4Client(Box::new(renewed)));

        let signal = timeout(WAIT, changes.next())
            .await
            .expect("PropertiesChanged in time")
            .expect("signal");
        let args = signal.args().expect("args");
        assert_eq!(args.interface_name.as_str(), OBJECT1);
        let changed: BTreeMap<&str, String> = args
            .changed_properties
            .iter()
            .map(|(name, value)| {
                let Value::Str(s) = value else {
                    panic!("{name} is not a string: {value:?}");
                };
                (*name, s.to_string())
            })
            .collect();
        assert_eq!(
            changed,
            BTreeMap::from([("DNSServers", "198.51.100.53,198.51.100.54".to_string())])
        );
        assert_eq!(
            get(&conn, CLIENT_1, "DNSServers")
                .await
                .expect("DNSServers"),
            "198.51.100.53,198.51.100.54"
        );
    });
}

#[test]
fn objects_come_and_go_with_their_rows() {
    let Some(lab) = Lab::start() else {
        return;
    };
    runtime().block_on(async {
        let conn = lab.client().await;
        let manager = object_manager(&conn).await;
        let mut added = manager.receive_interfaces_added().await.expect("subscribe");
        let mut removed = manager
            .receive_interfaces_removed()
            .await
            .expect("subscribe");

        lab.update(ControllerUpdate::V4ClientRemoved(Instance(2)));
        // The row's Retransmission. and Stats. objects go too, each with its own signal.
        loop {
            let signal = timeout(WAIT, removed.next())
                .await
                .expect("InterfacesRemoved in time")
                .expect("signal");
            let args = signal.args().expect("args");
            assert!(args.object_path.as_str().starts_with(CLIENT_2));
            assert!(args.interfaces.iter().any(|i| i.as_str() == OBJECT1));
            if args.object_path.as_str() == CLIENT_2 {
                break;
            }
        }
        assert!(!managed_paths(&conn).await.contains(CLIENT_2));
        let gone = properties(&conn, CLIENT_2)
            .await
            .get(object1(), "Enable")
            .await;
        assert!(gone.is_err(), "client 2's object is gone: {gone:?}");

        // A third sent option: a row object appears with its values.
        lab.update(ControllerUpdate::V4Client(Box::new(bound(1, "wan", 3))));
        let signal = timeout(WAIT, added.next())
            .await
            .expect("InterfacesAdded in time")
            .expect("signal");
        let args = signal.args().expect("args");
        assert_eq!(
            args.object_path.as_str(),
            "/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/3"
        );
        let props = args
            .interfaces_and_properties
            .get(OBJECT1)
            .expect("Object1 added");
        assert_eq!(
            props.get("Tag").map(ToString::to_string).as_deref(),
            Some("\"125\"")
        );

        // Removing client 1 takes its option rows along.
        lab.update(ControllerUpdate::V4ClientRemoved(Instance(1)));
        let left = timeout(WAIT, async {
            loop {
                let paths = managed_paths(&conn).await;
                if !paths.iter().any(|p| p.starts_with(CLIENT_1)) {
                    break paths;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("client 1's objects go");
        assert!(
            left.contains("/org/dhcpmgr/Device/DHCPv6/Client/1"),
            "{left:?}"
        );
        assert_eq!(
            get(&conn, "/org/dhcpmgr/Device/DHCPv4", "ClientNumberOfEntries")
                .await
                .expect("ClientNumberOfEntries"),
            "0"
        );
    });
}

#[test]
fn writable_properties_are_set_parameter_values() {
    let Some(mut lab) = Lab::start() else {
        return;
    };
    runtime().block_on(async {
        let conn = lab.client().await;
        let client_1 = properties(&conn, CLIENT_1).await;
        let mut changes = client_1
            .receive_properties_changed()
            .await
            .expect("subscribe");

        let disable = client_1.set(object1(), "Enable", Value::from("false"));
        let (result, command) = tokio::join!(disable, lab.answer(Ok(())));
        result.expect("Enable written");
        assert_eq!(command.0, ClientKey::V4(Instance(1)));
        assert_eq!(enable_in(&command.1), Some(false), "{command:?}");
        assert_eq!(
            get(&conn, CLIENT_1, "Enable").await.expect("Enable"),
            "false"
        );

        // The tree took the setting in at once; the controller's next update still brings
        // the PropertiesChanged.
        let mut stopped = bound(1, "wan", 2);
        stopped.settings.enable = false;
        stopped.enable = false;
        stopped.status = ClientStatus::Disabled;
        lab.update(ControllerUpdate::V4Client(Box::new(stopped)));
        let signal = timeout(WAIT, changes.next())
            .await
            .expect("PropertiesChanged in time")
            .expect("signal");
        let args = signal.args().expect("args");
        let enable = args
            .changed_properties
            .get("Enable")
            .map(ToString::to_string);
        assert_eq!(enable.as_deref(), Some("\"false\""), "{args:?}");

        let (name, message) = error_name(
            client_1
                .set(object1(), "IPAddress", Value::from("192.0.2.99"))
                .await,
        );
        assert_eq!(name, "org.freedesktop.DBus.Error.PropertyReadOnly");
        assert!(
            message.contains("Device.DHCPv4.Client.1.IPAddress"),
            "{message}"
        );
        let (name, message) = error_name(
            client_1
                .set(object1(), "Enable", Value::from("maybe"))
                .await,
        );
        assert_eq!(name, "org.freedesktop.DBus.Error.InvalidArgs");
        assert!(
            message.starts_with("org.dhcpmgr.Error.InvalidParameterType: ")
                && message.contains("Device.DHCPv4.Client.1.Enable"),
            "{message}"
        );
        let (name, _) = error_name(client_1.set(object1(), "Enable", Value::from(true)).await);
        assert_eq!(name, "org.freedesktop.DBus.Error.InvalidArgs");
        let (name, _) = error_name(client_1.set(object1(), "Path", Value::from("x")).await);
        assert_eq!(name, "org.freedesktop.DBus.Error.PropertyReadOnly");
        assert!(
            lab.commands.try_recv().is_err(),
            "a refused write sends nothing"
        );
    });
}

/// Whether `busctl` runs; without it the test fails saying how to get it, unless
/// DHCPMGR_SKIP_LAB=1.
fn have_busctl() -> bool {
    match Command::new("busctl").arg("--version").output() {
        Ok(output) if output.status.success() => true,
        other if may_skip() => {
            println!("skipped: cannot run busctl ({other:?}) and DHCPMGR_SKIP_LAB=1");
            false
        }
        other => panic!(
            "this test needs busctl (apt-get install systemd), \
             or DHCPMGR_SKIP_LAB=1 to skip it: {other:?}"
        ),
    }
}

/// `busctl ARGS…` against the lab's bus, as `uid` if given.
fn busctl_command(address: &str, uid: Option<u32>, args: &[&str]) -> Command {
    let mut command = Command::new("busctl");
    command
        .arg(format!("--address={address}"))
        .args(["--timeout=10", "--no-pager"])
        .args(args);
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    command
}

/// The output of `busctl ARGS…`, which must succeed.
fn busctl(address: &str, args: &[&str]) -> String {
    let output = busctl_command(address, None, args)
        .output()
        .expect("busctl runs");
    assert!(
        output.status.success(),
        "busctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `busctl introspect` row of member `name`, split into columns.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&name))
        .unwrap_or_else(|| panic!("no {name} in:\n{table}"))
}

#[test]
fn busctl_as_a_user_would() {
    if !have_busctl() {
        return;
    }
    let Some(lab) = Lab::start() else {
        return;
    };
    let address = lab.address.clone();
    drop(runtime().block_on(lab.client()));

    let table = busctl(&address, &["introspect", tr181::BUS_NAME, CLIENT_1]);
    assert_eq!(
        row(&table, OBJECT1)[..2],
        ["org.dhcpmgr.Object1", "interface"]
    );
    let address_row = row(&table, ".IPAddress");
    assert_eq!(address_row[1..4], ["property", "s", "\"192.0.2.10\""]);
    assert!(!address_row.contains(&"writable"), "{address_row:?}");
    let enable = row(&table, ".Enable");
    assert_eq!(enable[1..4], ["property", "s", "\"true\""]);
    assert!(enable.contains(&"writable"), "{enable:?}");
    assert_eq!(
        row(&table, ".Path")[1..4],
        ["property", "s", "\"Device.DHCPv4.Client.1.\""]
    );
    assert_eq!(row(&table, ".X_RDK_LinuxInterface")[3], "\"wan1\"");

    let value = busctl(
        &address,
        &[
            "get-property",
            tr181::BUS_NAME,
            CLIENT_1,
            OBJECT1,
            "IPAddress",
        ],
    );
    assert_eq!(value, "s \"192.0.2.10\"\n");
    let tag = busctl(
        &address,
        &[
            "get-property",
            tr181::BUS_NAME,
            "/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/1",
            OBJECT1,
            "Tag",
            "Value",
        ],
    );
    assert_eq!(tag, "s \"60\"\ns \"64736c666f72756d2e6f7267\"\n");

    let tree = busctl(&address, &["tree", tr181::BUS_NAME]);
    for path in [
        "/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/2",
        "/org/dhcpmgr/Device/DHCPv4/Client/2",
        "/org/dhcpmgr/Device/DHCPv6/Client/1/ReceivedOption/1",
    ] {
        assert!(tree.contains(path), "busctl tree lists {path}:\n{tree}");
    }
    drop(lab);
}

/// A user that exists on Debian (dbus-daemon refuses uids without a passwd entry).
const NOBODY_UID: u32 = 65534;

#[test]
fn busctl_set_property_needs_a_writer() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: running busctl as another uid needs root");
        return;
    }
    if !have_busctl() {
        return;
    }
    let Some(mut lab) = Lab::start() else {
        return;
    };
    runtime().block_on(async {
        let _conn = lab.client().await;
        let address = lab.address.clone();
        let set = |uid| {
            let command = busctl_command(
                &address,
                uid,
                &[
                    "set-property",
                    tr181::BUS_NAME,
                    CLIENT_1,
                    OBJECT1,
                    "Enable",
                    "s",
                    "false",
                ],
            );
            let output = tokio::process::Command::from(command).output();
            async move {
                timeout(WAIT, output)
                    .await
                    .expect("busctl ends")
                    .expect("busctl runs")
            }
        };
        let denied = set(Some(NOBODY_UID)).await;
        assert!(!denied.status.success(), "{denied:?}");
        let stderr = String::from_utf8_lossy(&denied.stderr);
        // busctl shows the errno of org.freedesktop.DBus.Error.AccessDenied, not the message.
        assert!(stderr.contains("Access denied"), "{stderr}");
        assert!(lab.commands.try_recv().is_err(), "nothing was sent");

        let (allowed, (client, action)) = tokio::join!(set(None), lab.answer(Ok(())));
        assert!(allowed.status.success(), "{allowed:?}");
        assert_eq!(client, ClientKey::V4(Instance(1)));
        assert_eq!(enable_in(&action), Some(false), "{action:?}");
    });
}
