//! Runs the built plugin the way udhcpc does (clean environment, event in argv\[1\]) against a
//! stand-in daemon socket, a missing daemon, and a daemon that rejects.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output};

use dhcpmgr_ipc::{
    decode_envelope, ClientEvent, Envelope, V4EventKind, PROTOCOL_VERSION, SPOOL_SUFFIX,
};

#[path = "../../ipc/tests/support/mod.rs"]
mod support;

use support::{daemon, setup, spooled, Setup};

const BOUND: &[(&str, &str)] = &[
    ("interface", "veth-c"),
    ("ip", "192.168.50.100"),
    ("mask", "24"),
    ("subnet", "255.255.255.0"),
    ("router", "192.168.50.1"),
    ("dns", "192.168.50.53 192.168.50.54"),
    ("lease", "30"),
    ("opt58", "00000006"),
    ("opt59", "00000014"),
];

fn run(setup: &Setup, arg: Option<&str>, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dhcpmgr-udhcpc-plugin"));
    cmd.env_clear()
        .envs(vars.iter().copied())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env(std::ffi::OsStr::from_bytes(b"junk\xff"), "x")
        .env("DHCPMGR_SOCKET", &setup.socket)
        .env("DHCPMGR_SPOOL_DIR", &setup.spool)
        .env("DHCPMGR_CLIENT", "wan");
    if let Some(arg) = arg {
        cmd.arg(arg);
    }
    cmd.output().unwrap()
}

fn check_bound(envelope: &Envelope) {
    assert_eq!(envelope.version, PROTOCOL_VERSION);
    assert_eq!(envelope.client.as_deref(), Some("wan"));
    // The test process is the plugin's parent, as udhcpc would be.
    assert_eq!(envelope.client_pid, std::process::id());
    assert!(envelope.created_unix_ms > 1_700_000_000_000);
    let ClientEvent::V4(event) = &envelope.event else {
        panic!("expected a DHCPv4 event, got {:?}", envelope.event);
    };
    assert_eq!(event.interface, "veth-c");
    assert_eq!(event.kind, V4EventKind::Bound);
    let lease = event.lease.as_ref().unwrap();
    assert_eq!(lease.address, Ipv4Addr::new(192, 168, 50, 100));
    assert_eq!(lease.prefix_len, 24);
    assert_eq!(lease.routers, [Ipv4Addr::new(192, 168, 50, 1)]);
    assert_eq!(lease.dns_servers.len(), 2);
    assert_eq!(
        (lease.lease_secs, lease.renewal_secs, lease.rebinding_secs),
        (Some(30), Some(6), Some(20))
    );
    assert!(lease.other.is_empty(), "{:?}", lease.other);
}

#[test]
fn delivers_to_the_daemon() {
    let s = setup();
    let daemon = daemon(&s.socket, r#"{"accepted":true,"reason":""}"#);
    let out = run(&s, Some("bound"), BOUND);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    check_bound(&daemon.join().unwrap().expect("plugin never connected"));
    assert!(spooled(&s.spool).is_empty());
}

#[test]
fn spools_when_the_daemon_is_absent() {
    let s = setup();
    let out = run(&s, Some("bound"), BOUND);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spooled"),
        "{out:?}"
    );
    let files = spooled(&s.spool);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(SPOOL_SUFFIX));
    check_bound(&decode_envelope(&fs::read(&files[0]).unwrap()).unwrap());
}

#[test]
fn rejection_is_logged_not_spooled() {
    let s = setup();
    let daemon = daemon(&s.socket, r#"{"accepted":false,"reason":"unknown client"}"#);
    let out = run(&s, Some("bound"), BOUND);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown client") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(daemon.join().unwrap().is_some());
    assert!(spooled(&s.spool).is_empty());
}

#[test]
fn bad_environment_is_logged_and_nothing_is_sent() {
    let s = setup();
    let mut vars = BOUND.to_vec();
    vars.push(("dns", "192.168.50.53 nope"));
    let out = run(&s, Some("bound"), &vars);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`dns`"),
        "{out:?}"
    );
    assert!(spooled(&s.spool).is_empty());
}

#[test]
fn missing_event_argument_is_a_usage_error() {
    let s = setup();
    let out = run(&s, None, BOUND);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(spooled(&s.spool).is_empty());
}
