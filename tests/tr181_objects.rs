//! The per-object D-Bus objects of the TR-181 thread (`org.dhcpmgr.Object1` below
//! `/org/dhcpmgr`, ObjectManager at `/org/dhcpmgr`) on a private `dbus-daemon`, with the thread
//! run alone against a fake controller channel as in `tr181_dbus.rs`: objects for every client
//! and option row, property values equal to GetParameterValues, PropertiesChanged after an
//! update, objects following their rows, and writes through Properties.Set (`busctl` in
//! `tr181_busctl.rs`). Set DHCPMGR_SKIP_LAB=1 to skip when dbus-daemon is not installed.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use dhcpmgr::channels::ControllerUpdate;
use dhcpmgr::model::ClientKey;
use dhcpmgr::model::{ClientStatus, Instance};
use dhcpmgr::tr181::DataModel1Proxy;
use futures_util::StreamExt;
use tokio::time::timeout;
use zbus::zvariant::Value;

#[allow(dead_code)] // Shared with tr181_dbus.rs, which also stops the thread by hand.
#[path = "support/tr181_thread.rs"]
mod tr181_thread;

#[allow(dead_code)] // Each test file uses part of it.
#[path = "support/objects_lab.rs"]
mod objects_lab;

use objects_lab::*;
use tr181_thread::WAIT;

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
            "Device/DHCPv4/Client/1/X_DHCPMGR_Status",
            "Device/DHCPv4/Client/2",
            "Device/DHCPv4/Client/2/Retransmission",
            "Device/DHCPv4/Client/2/Stats",
            "Device/DHCPv4/Client/2/X_DHCPMGR_Status",
            "Device/DHCPv6",
            "Device/DHCPv6/Client/1",
            "Device/DHCPv6/Client/1/ReceivedOption/1",
            "Device/DHCPv6/Client/1/ReceivedOption/2",
            "Device/DHCPv6/Client/1/Retransmission",
            "Device/DHCPv6/Client/1/Stats",
            "Device/DHCPv6/Client/1/X_DHCPMGR_Status",
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
