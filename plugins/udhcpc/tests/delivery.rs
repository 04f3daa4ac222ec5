//! Runs the built plugin the way udhcpc does (clean environment, event in argv\[1\]) against a
//! stand-in daemon socket, a missing daemon, and a daemon that rejects.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use dhcpmgr_ipc::{
    decode_envelope, read_frame, write_frame, ClientEvent, Envelope, V4EventKind, PROTOCOL_VERSION,
    SPOOL_SUFFIX,
};

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

struct Setup {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    spool: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    Setup {
        socket: dir.path().join("ipc.sock"),
        spool: dir.path().join("spool"),
        _dir: dir,
    }
}

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

/// A one-shot daemon: accepts one connection (or gives up after 10 s), decodes the envelope and
/// answers with `reply` (raw JSON, to pin the wire format).
fn daemon(socket: &Path, reply: &'static str) -> JoinHandle<Option<Envelope>> {
    let listener = UnixListener::bind(socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return None,
            }
        };
        stream.set_nonblocking(false).unwrap();
        let envelope = decode_envelope(&read_frame(&stream).unwrap()).unwrap();
        write_frame(&stream, reply.as_bytes()).unwrap();
        Some(envelope)
    })
}

fn spooled(spool: &Path) -> Vec<PathBuf> {
    match fs::read_dir(spool) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{e}"),
    }
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
