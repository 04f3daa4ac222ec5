//! `busctl` against the per-object D-Bus objects of the TR-181 thread, as a user would run it:
//! introspection, properties, the object tree, and a write refused to a user who may not
//! write. The thread runs alone against a fake controller channel (see `tr181_objects.rs`).
//! Set DHCPMGR_SKIP_LAB=1 to skip when dbus-daemon or busctl is not installed.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use dhcpmgr::model::ClientKey;
use dhcpmgr::model::Instance;
use dhcpmgr::tr181;
use tokio::time::timeout;

#[allow(dead_code)] // Shared with tr181_dbus.rs, which also stops the thread by hand.
#[path = "support/tr181_thread.rs"]
mod tr181_thread;

#[allow(dead_code)] // Each test file uses part of it.
#[path = "support/objects_lab.rs"]
mod objects_lab;

use objects_lab::{enable_in, may_skip, runtime, Lab, CLIENT_1, OBJECT1};
use tr181_thread::WAIT;

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
