//! The TR-181 thread on a private `dbus-daemon`: values and names, Operate and writes reaching
//! the controller's channel, AddObject/DeleteObject on the client table, signals after updates,
//! the uid check on writes, and `dhcpmgrctl` against the same bus. Set DHCPMGR_SKIP_LAB=1 to skip when dbus-daemon is not installed.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dhcpmgr::boottime::BootSeconds;
use dhcpmgr::channels::{
    ClientAction, ClientConfig, CommandError, ControllerCommand, ControllerUpdate,
};
use dhcpmgr::config::{BusChoice, ClientAlias, Config, V4ClientConfig};
use dhcpmgr::model::{
    ClientKey, ClientStatus, DhcpStatus, EventKind, Family, Instance, V4ClientSnapshot,
};
use dhcpmgr::tr181::{self, DataModel1Proxy};
use dhcpmgr::tr181_thread::Tr181Settings;
use dhcpmgr_ipc::V4Lease;
use dhcpmgr_lab::DbusDaemon;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

#[path = "support/tr181_thread.rs"]
mod tr181_thread;

use tr181_thread::{bus_address, bus_dir, Tr181Thread, WAIT};

/// The TR-181 thread serving DHCPv4 client 1 (bound) and client 2 (unbound).
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
    fn start(write_uids: Vec<u32>) -> Option<Self> {
        let lab = Self(Tr181Thread::start(write_uids)?);
        lab.update(ControllerUpdate::V4Client(Box::new(bound(1, "wan"))));
        lab.update(ControllerUpdate::V4Client(Box::new(unbound(2, "backup"))));
        Some(lab)
    }

    /// A client connection, once the service answers with client 1's address.
    async fn client(&self) -> (zbus::Connection, DataModel1Proxy<'static>) {
        client(&self.address).await
    }

    /// The next command, for a DHCPv4 client, answered with `outcome`.
    async fn answer(&mut self, outcome: Result<(), CommandError>) -> (Instance, ClientAction) {
        let (client, action) = self.0.answer(outcome).await;
        let ClientKey::V4(instance) = client else {
            panic!("expected a DHCPv4 client, got {client:?}");
        };
        (instance, action)
    }

    /// Runs `dhcpmgrctl ARGS…` against the bus, optionally as another user.
    fn ctl(&self, args: &[&str], uid: Option<u32>) -> impl Future<Output = Output> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dhcpmgrctl"));
        command.arg("--bus").arg(&self.address).args(args);
        if let Some(uid) = uid {
            command.uid(uid).gid(uid);
        }
        let output = tokio::process::Command::from(command).output();
        async move {
            timeout(WAIT, output)
                .await
                .expect("dhcpmgrctl ends")
                .expect("dhcpmgrctl runs")
        }
    }
}

/// A client connection to `address`, once the service answers with client 1's address.
async fn client(address: &str) -> (zbus::Connection, DataModel1Proxy<'static>) {
    let conn = zbus::connection::Builder::address(address)
        .expect("address")
        .build()
        .await
        .expect("client connects");
    let proxy = DataModel1Proxy::new(&conn).await.expect("proxy");
    let ready = async {
        loop {
            let names = ["Device.DHCPv4.Client.1.IPAddress"];
            match proxy.get_parameter_values(&names).await {
                Ok(v) if v.first().map(|v| v.2.as_str()) == Some("192.0.2.10") => break,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    timeout(WAIT, ready).await.expect("service comes up");
    (conn, proxy)
}

fn unbound(instance: u32, alias: &str) -> V4ClientSnapshot {
    let config = format!("[[dhcpv4.client]]\nalias = \"{alias}\"\ninterface = \"wan{instance}\"\n");
    V4ClientSnapshot {
        instance: Instance(instance),
        settings: Config::parse(&config).expect("config").dhcpv4_clients[0].clone(),
        enable: true,
        status: ClientStatus::Enabled,
        dhcp_status: DhcpStatus::Selecting,
        lease: None,
        lease_expires: None,
        stats: Default::default(),
        waiting: None,
    }
}

fn bound(instance: u32, alias: &str) -> V4ClientSnapshot {
    let mut lease = V4Lease::new(Ipv4Addr::new(192, 0, 2, 10), 24);
    lease.routers = vec![Ipv4Addr::new(192, 0, 2, 1)];
    lease.dns_servers = vec![Ipv4Addr::new(198, 51, 100, 53)];
    lease.server_id = Some(Ipv4Addr::new(192, 0, 2, 254));
    lease.lease_secs = Some(3600);
    V4ClientSnapshot {
        dhcp_status: DhcpStatus::Bound,
        lease: Some(lease),
        lease_expires: Some(BootSeconds::now().after(3600)),
        ..unbound(instance, alias)
    }
}

/// The `Enable` a DHCPv4 `Configure` carries.
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

/// The D-Bus error name of a failed call.
fn error_name<T: std::fmt::Debug>(result: zbus::Result<T>) -> String {
    match result {
        Err(zbus::Error::MethodError(name, _, _)) => name.to_string(),
        other => panic!("expected a D-Bus error, got {other:?}"),
    }
}

#[test]
fn values_and_names() {
    let Some(mut lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let (conn, proxy) = lab.client().await;
        let values = proxy
            .get_parameter_values(&[
                "Device.DHCPv4.Client.1.DNSServers",
                "Device.DHCPv4.Client.1.Enable",
                "Device.DHCPv4.Client.1.LeaseTimeRemaining",
            ])
            .await
            .expect("values");
        let (dns, enable, lease) = (&values[0], &values[1], &values[2]);
        assert_eq!(
            (dns.1.as_str(), dns.2.as_str()),
            ("string", "198.51.100.53")
        );
        assert_eq!((enable.1.as_str(), enable.2.as_str()), ("boolean", "true"));
        let left: i64 = lease.2.parse().expect("a number");
        assert_eq!(lease.1, "int");
        assert!((3590..=3600).contains(&left), "{left}");

        let all = proxy
            .get_parameter_values(&["Device.DHCPv4."])
            .await
            .expect("partial path");
        let names = proxy
            .get_parameter_names("Device.DHCPv4.", false)
            .await
            .expect("names");
        let parameters = names.iter().filter(|(n, _)| !n.ends_with('.')).count();
        assert_eq!(all.len(), parameters, "a value for every parameter name");
        let client_1 = all
            .iter()
            .filter(|(n, ..)| n.starts_with("Device.DHCPv4.Client.1."))
            .count();
        assert!(client_1 > 17, "client 1 with its option rows: {client_1}");
        assert_eq!(
            all[0],
            (
                "Device.DHCPv4.ClientNumberOfEntries".into(),
                "unsignedInt".into(),
                "2".into()
            )
        );

        let unknown = proxy
            .get_parameter_values(&["Device.DHCPv4.Client.3.IPAddress"])
            .await;
        assert_eq!(
            error_name(unknown),
            "org.dhcpmgr.Error.InvalidParameterName"
        );

        let names = proxy
            .get_parameter_names("Device.DHCPv4.Client.", true)
            .await
            .expect("names");
        // Writable: DeleteObject takes client rows.
        assert_eq!(
            names,
            [
                ("Device.DHCPv4.Client.1.".to_string(), true),
                ("Device.DHCPv4.Client.2.".to_string(), true)
            ]
        );
        let row = proxy
            .get_parameter_names("Device.DHCPv4.Client.1.", true)
            .await
            .expect("names");
        // 21 parameters, the SentOption and ReqOption tables, Retransmission., Stats. and
        // X_DHCPMGR_Status.
        assert_eq!(row.len(), 26);
        assert!(row.contains(&("Device.DHCPv4.Client.1.Enable".into(), true)));
        assert!(row.contains(&("Device.DHCPv4.Client.1.Status".into(), false)));
        // Nobody answers for the controller: a valid request the daemon failed at.
        let refused = proxy.add_object("Device.DHCPv4.Client.").await;
        assert_eq!(error_name(refused), "org.dhcpmgr.Error.InternalError");

        lab.stop();
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("bus proxy");
        let name = tr181::BUS_NAME.try_into().expect("bus name");
        let owned = dbus.name_has_owner(name).await.expect("NameHasOwner");
        assert!(!owned, "the name is released at shutdown");
    });
}

#[test]
fn operate_and_writes_reach_the_controller() {
    let Some(mut lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let (_conn, proxy) = lab.client().await;
        let renew = proxy.operate("Device.DHCPv4.Client.1.Renew()", HashMap::new());
        let (result, command) = tokio::join!(renew, lab.answer(Ok(())));
        assert_eq!(result.expect("Renew() returns"), HashMap::new());
        assert_eq!(command, (Instance(1), ClientAction::Renew));

        let release = proxy.operate("Device.DHCPv4.Client.2.X_RDK_Release()", HashMap::new());
        let (result, command) = tokio::join!(
            release,
            lab.answer(Err(CommandError::Refused {
                reason: "client is stopped".into(),
            }))
        );
        assert_eq!(command, (Instance(2), ClientAction::Release));
        match result {
            Err(zbus::Error::MethodError(name, Some(message), _)) => {
                assert_eq!(name.as_str(), "org.dhcpmgr.Error.RequestDenied");
                assert!(
                    message.contains("Device.DHCPv4.Client.2: client is stopped"),
                    "{message}"
                );
            }
            other => panic!("expected RequestDenied, got {other:?}"),
        }

        let mixed = proxy
            .set_parameter_values(&[
                ("Device.DHCPv4.Client.1.Enable", "false"),
                ("Device.DHCPv4.Client.2.Enable", "maybe"),
            ])
            .await;
        assert_eq!(error_name(mixed), "org.dhcpmgr.Error.InvalidParameterType");
        let read_only = proxy
            .set_parameter_values(&[("Device.DHCPv4.Client.1.IPAddress", "192.0.2.99")])
            .await;
        assert_eq!(error_name(read_only), "org.dhcpmgr.Error.NotWritable");
        assert!(
            lab.commands.try_recv().is_err(),
            "a refused write sends nothing"
        );

        let disable = proxy.set_parameter_values(&[("Device.DHCPv4.Client.1.Enable", "0")]);
        let (result, command) = tokio::join!(disable, lab.answer(Ok(())));
        result.expect("Enable written");
        assert_eq!(command.0, Instance(1));
        assert_eq!(enable_in(&command.1), Some(false), "{command:?}");

        // RDK's command booleans: true does what the command does, false nothing.
        let release =
            proxy.set_parameter_values(&[("Device.DHCPv4.Client.2.X_RDK_Release", "true")]);
        let (result, command) = tokio::join!(release, lab.answer(Ok(())));
        result.expect("X_RDK_Release written");
        assert_eq!(command, (Instance(2), ClientAction::Release));
        proxy
            .set_parameter_values(&[("Device.DHCPv4.Client.2.X_RDK_Restart", "false")])
            .await
            .expect("false is accepted");
        assert!(
            lab.commands.try_recv().is_err(),
            "writing false sends nothing"
        );
        let read_back = proxy
            .get_parameter_values(&["Device.DHCPv4.Client.2.X_RDK_Release"])
            .await
            .expect("value");
        assert_eq!(read_back[0].1, "boolean");
        assert_eq!(read_back[0].2, "false");
    });
}

#[test]
fn client_rows_are_added_and_deleted_through_the_controller() {
    let Some(mut lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let (_conn, proxy) = lab.client().await;
        let mut changes = proxy.receive_values_changed().await.expect("subscribe");

        let add = proxy.add_object("Device.DHCPv4.Client.");
        let controller = async {
            let ControllerCommand::AddClient {
                family: Family::V4,
                reply,
            } = lab.next_command().await
            else {
                panic!("expected AddClient for DHCPv4");
            };
            let alias = ClientAlias::new("cpe-3").expect("alias");
            let added = V4ClientSnapshot {
                settings: V4ClientConfig::added(alias),
                enable: false,
                status: ClientStatus::Disabled,
                dhcp_status: DhcpStatus::Init,
                ..unbound(3, "unused")
            };
            let _ = reply.send(Ok(ControllerUpdate::V4Client(Box::new(added))));
        };
        let (instance, ()) = tokio::join!(add, controller);
        assert_eq!(instance.expect("AddObject"), 3);
        // The new row is readable as soon as AddObject returns, before any controller update.
        let values = proxy
            .get_parameter_values(&[
                "Device.DHCPv4.ClientNumberOfEntries",
                "Device.DHCPv4.Client.3.Alias",
                "Device.DHCPv4.Client.3.X_RDK_LinuxInterface",
            ])
            .await
            .expect("values");
        let values: Vec<&str> = values.iter().map(|(_, _, v)| v.as_str()).collect();
        assert_eq!(values, ["3", "cpe-3", ""]);
        let changed = timeout(WAIT, changes.next())
            .await
            .expect("ValuesChanged in time")
            .expect("signal");
        let args = changed.args().expect("args").changes;
        assert!(
            args.contains(&("Device.DHCPv4.ClientNumberOfEntries".into(), "3".into())),
            "{args:?}"
        );

        // Enabling it without an interface is refused before the controller hears of it.
        let enable = proxy
            .set_parameter_values(&[("Device.DHCPv4.Client.3.Enable", "true")])
            .await;
        assert_eq!(
            error_name(enable),
            "org.dhcpmgr.Error.InvalidParameterValue"
        );

        let delete = proxy.delete_object("Device.DHCPv4.Client.3.");
        let controller = async {
            let ControllerCommand::DeleteClient { client, reply } = lab.next_command().await else {
                panic!("expected DeleteClient");
            };
            assert_eq!(client, ClientKey::V4(Instance(3)));
            let _ = reply.send(Ok(()));
        };
        let (deleted, ()) = tokio::join!(delete, controller);
        deleted.expect("DeleteObject");
        let gone = proxy
            .get_parameter_values(&["Device.DHCPv4.Client.3."])
            .await;
        assert_eq!(error_name(gone), "org.dhcpmgr.Error.InvalidParameterName");

        // A controller that cannot carry it out: RequestDenied with its reason, nothing added.
        let add = proxy.add_object("Device.DHCPv4.Client.");
        let controller = async {
            let ControllerCommand::AddClient { reply, .. } = lab.next_command().await else {
                panic!("expected AddClient");
            };
            let _ = reply.send(Err(CommandError::Refused {
                reason: "state_dir is read-only".into(),
            }));
        };
        let (refused, ()) = tokio::join!(add, controller);
        match refused {
            Err(zbus::Error::MethodError(name, Some(message), _)) => {
                assert_eq!(name.as_str(), "org.dhcpmgr.Error.RequestDenied");
                assert!(message.contains("state_dir is read-only"), "{message}");
            }
            other => panic!("expected RequestDenied, got {other:?}"),
        }
        let count = proxy
            .get_parameter_values(&["Device.DHCPv4.ClientNumberOfEntries"])
            .await
            .expect("count");
        assert_eq!(count[0].2, "2");
    });
}

#[test]
fn signals_follow_updates() {
    let Some(lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let (_conn, proxy) = lab.client().await;
        let mut changes = proxy.receive_values_changed().await.expect("subscribe");
        let mut events = proxy.receive_event().await.expect("subscribe");

        let mut renewed = bound(1, "wan");
        if let Some(lease) = renewed.lease.as_mut() {
            lease.dns_servers.push(Ipv4Addr::new(198, 51, 100, 54));
        }
        lab.update(ControllerUpdate::V4Client(Box::new(renewed)));
        lab.update(ControllerUpdate::Event {
            object_path: "Device.DHCPv4.Client.1".into(),
            kind: EventKind::LeaseRenewed,
            data: BTreeMap::from([("dns".to_string(), "198.51.100.54".to_string())]),
        });

        let changed = timeout(WAIT, changes.next())
            .await
            .expect("ValuesChanged in time");
        let args = changed.expect("signal").args().expect("args").changes;
        assert_eq!(
            args,
            [(
                "Device.DHCPv4.Client.1.DNSServers".to_string(),
                "198.51.100.53,198.51.100.54".to_string()
            )]
        );
        let event = timeout(WAIT, events.next()).await.expect("Event in time");
        let signal = event.expect("signal");
        let args = signal.args().expect("args");
        assert_eq!(args.object_path, "Device.DHCPv4.Client.1");
        assert_eq!(args.kind, "LeaseRenewed");
        assert_eq!(
            args.data.get("dns").map(String::as_str),
            Some("198.51.100.54")
        );
    });
}

#[test]
fn dhcpmgrctl_against_the_bus() {
    let Some(mut lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let _client = lab.client().await;
        let status = lab.ctl(&["status", "--json"], None).await;
        assert!(status.status.success(), "{status:?}");
        let rows: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
        assert_eq!(rows[0]["client"], "Device.DHCPv4.Client.1");
        assert_eq!(rows[0]["address"], "192.0.2.10");
        assert_eq!(rows[0]["prefix_len"], 24);
        assert_eq!(rows[1]["alias"], "backup");

        let table = lab.ctl(&["status"], None).await;
        let text = String::from_utf8_lossy(&table.stdout);
        assert!(text.contains("192.0.2.10/24"), "{text}");

        let renew = lab.ctl(&["renew", "backup"], None);
        let (renew, command) = tokio::join!(renew, lab.answer(Ok(())));
        assert!(renew.status.success(), "{renew:?}");
        assert_eq!(command, (Instance(2), ClientAction::Renew));

        let get = lab
            .ctl(&["get", "Device.DHCPv4.Client.1.IPRouters"], None)
            .await;
        assert_eq!(
            String::from_utf8_lossy(&get.stdout),
            "Device.DHCPv4.Client.1.IPRouters string 192.0.2.1\n"
        );

        let unknown = lab.ctl(&["get", "Device.Nope"], None).await;
        assert_eq!(unknown.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&unknown.stderr);
        assert!(
            stderr.starts_with("org.dhcpmgr.Error.InvalidParameterName: Device.Nope"),
            "{stderr}"
        );
        let usage = lab.ctl(&["frobnicate"], None).await;
        assert_eq!(usage.status.code(), Some(2));
    });
}

#[test]
fn dhcpmgrctl_events_prints_signals() {
    let Some(lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let _client = lab.client().await;
        let mut events = tokio::process::Command::new(env!("CARGO_BIN_EXE_dhcpmgrctl"))
            .args(["--bus", &lab.address, "events"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("dhcpmgrctl events runs");
        let stdout = events.stdout.take().expect("stdout");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        // It subscribes some time after starting: send events until one is printed.
        let line = timeout(WAIT, async {
            loop {
                lab.update(ControllerUpdate::Event {
                    object_path: "Device.DHCPv4.Client.1".into(),
                    kind: EventKind::LeaseUpdated,
                    data: BTreeMap::from([("address".to_string(), "192.0.2.10".to_string())]),
                });
                let next = timeout(Duration::from_millis(200), lines.next_line()).await;
                if let Ok(line) = next {
                    break line.expect("read").expect("a line");
                }
            }
        })
        .await
        .expect("an event line in time");
        // The controller's data, and the lease event's named values (docs/rbus.md).
        assert_eq!(
            line,
            "Event Device.DHCPv4.Client.1 LeaseUpdated IfName=wan1 \
             LeaseInfo.address=192.0.2.10 LeaseInfo.dnsServer=198.51.100.53 \
             LeaseInfo.dnsServer1= LeaseInfo.downstreamCurrRate=0 LeaseInfo.gateway=192.0.2.1 \
             LeaseInfo.ifname=wan1 LeaseInfo.isTimeOffsetAssigned=0 LeaseInfo.mtuSize=0 \
             LeaseInfo.netmask=255.255.255.0 LeaseInfo.timeOffset=0 LeaseInfo.timeZone= \
             LeaseInfo.upstreamCurrRate=0 MsgType=3 address=192.0.2.10"
        );
    });
}

/// Users that exist on Debian (dbus-daemon refuses uids without a passwd entry).
const DAEMON_UID: u32 = 1;
const NOBODY_UID: u32 = 65534;

#[test]
fn writes_need_root_or_a_configured_uid() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: running another uid's dhcpmgrctl needs root");
        return;
    }
    let Some(mut lab) = Lab::start(vec![DAEMON_UID]) else {
        return;
    };
    runtime().block_on(async {
        let _client = lab.client().await;
        let denied = lab.ctl(&["disable", "wan"], Some(NOBODY_UID)).await;
        assert_eq!(denied.status.code(), Some(1), "{denied:?}");
        let stderr = String::from_utf8_lossy(&denied.stderr);
        assert!(
            stderr.starts_with("org.dhcpmgr.Error.RequestDenied: uid 65534 may not write"),
            "{stderr}"
        );
        let status = lab.ctl(&["status"], Some(NOBODY_UID)).await;
        assert!(status.status.success(), "anyone may read: {status:?}");
        assert!(lab.commands.try_recv().is_err(), "nothing was sent");

        let allowed = lab.ctl(&["disable", "wan"], Some(DAEMON_UID));
        let (allowed, command) = tokio::join!(allowed, lab.answer(Ok(())));
        assert!(allowed.status.success(), "{allowed:?}");
        assert_eq!(command.0, Instance(1));
        assert_eq!(enable_in(&command.1), Some(false), "{command:?}");
    });
}

#[test]
fn serves_once_the_bus_comes_up_and_again_after_it_restarts() {
    let dir = bus_dir();
    let address = bus_address(dir.path());
    let (updates, updates_rx) = mpsc::unbounded_channel();
    let (commands, _commands_rx) = mpsc::channel(4);
    let shutdown = CancellationToken::new();
    let settings = Tr181Settings {
        bus: BusChoice::Address(address.clone()),
        write_uids: Vec::new(),
        table_limit: dhcpmgr::config::DEFAULT_TABLE_LIMIT,
        rbus: Default::default(),
    };
    let thread = dhcpmgr::tr181_thread::spawn(settings, updates_rx, commands, shutdown.clone())
        .expect("spawn");
    // Taken in while the bus is away.
    updates
        .send(ControllerUpdate::V4Client(Box::new(bound(1, "wan"))))
        .expect("send");
    std::thread::sleep(Duration::from_millis(1500));
    let served = DbusDaemon::start_or_skip(dir.path()).map(|bus| {
        drop(runtime().block_on(client(&address)));
        drop(bus);
        let again = DbusDaemon::start_or_skip(dir.path());
        drop(runtime().block_on(client(&address)));
        again
    });
    shutdown.cancel();
    thread.join().expect("TR-181 thread ends cleanly");
    drop(served);
}

/// Any bus user may read, so one request must stay bounded: 10,000 names are refused with
/// ResourcesExceeded (9004) at once, a name repeated is answered once, an over-long name is
/// no such name, and the service answers the next request as before.
#[test]
fn over_limit_requests_are_refused_before_the_work() {
    let Some(lab) = Lab::start(Vec::new()) else {
        return;
    };
    runtime().block_on(async {
        let (_conn, proxy) = lab.client().await;
        let flood = vec!["Device."; 10_000];
        let refused = proxy.get_parameter_values(&flood).await;
        let Err(zbus::Error::MethodError(name, Some(message), _)) = refused else {
            panic!("expected a D-Bus error, got {refused:?}");
        };
        assert_eq!(name.as_str(), "org.dhcpmgr.Error.ResourcesExceeded");
        assert!(message.ends_with("(CWMP fault 9004)"), "{message}");
        let once = proxy
            .get_parameter_values(&["Device."])
            .await
            .expect("Device.");
        let repeated = proxy
            .get_parameter_values(&vec!["Device."; 1000])
            .await
            .expect("1000 × Device.");
        assert_eq!(repeated, once, "a repeated name is answered once");
        let long = format!("Device.{}", "x".repeat(300));
        assert_eq!(
            error_name(proxy.get_parameter_names(&long, false).await),
            "org.dhcpmgr.Error.InvalidParameterName"
        );
        let values: Vec<(String, String)> = (0..2000)
            .map(|i| (format!("Device.DHCPv4.Client.{i}.Alias"), "x".to_string()))
            .collect();
        let values: Vec<(&str, &str)> = values
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            error_name(proxy.set_parameter_values(&values).await),
            "org.dhcpmgr.Error.ResourcesExceeded"
        );
        let address = proxy
            .get_parameter_values(&["Device.DHCPv4.Client.1.IPAddress"])
            .await
            .expect("answers afterwards");
        assert_eq!(address[0].2, "192.0.2.10");
    });
}
