//! Runs the built plugin the way dibbler-client does (environment built from scratch, event in
//! argv\[1\]) against a stand-in daemon socket, a missing daemon, and a daemon that rejects; and
//! once behind the generated `#!/bin/sh` wrapper that supplies the `DHCPMGR_*` variables.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use dhcpmgr_ipc::{
    decode_envelope, ClientEvent, Envelope, V6Address, V6EventKind, V6Prefix, PROTOCOL_VERSION,
    SPOOL_SUFFIX,
};

#[path = "../../ipc/tests/support/mod.rs"]
mod support;

use support::{daemon, setup, spooled, Setup};

const PLUGIN: &str = env!("CARGO_BIN_EXE_dhcpmgr-dibbler-plugin");

/// The observed `add` dump (dibbler-client 1.0.1 against Kea 2.2), minus `PATH`, which `run`
/// sets like dibbler does.
const ADD: &[(&str, &str)] = &[
    ("ADDR1", "2001:db8:1::100"),
    ("ADDR1PREF", "3000"),
    ("ADDR1VALID", "4000"),
    ("CLNT_MESSAGE", "REQUEST"),
    ("CLNT_OPTION6", "[generic]"),
    ("CLNT_OPTION8", "0"),
    ("DOWNLINK_PREFIX_IFACES", ""),
    ("IFACE", "erouter0"),
    ("IFINDEX", "2"),
    ("PREFIX1", "2001:db8:12::"),
    ("PREFIX1LEN", "56"),
    ("PREFIX1PREF", "3000"),
    ("PREFIX1VALID", "4000"),
    ("REMOTE_ADDR", "ff02::1:2"),
    ("SRV_MESSAGE", "REPLY"),
    ("SRV_OPTION1", "00:01:00:01:32:98:17:4e:a6:40:dc:44:09:b3"),
    ("SRV_OPTION23", "2001:db8:1::53 "),
    ("SRV_OPTION24", "lab.example "),
    ("SRV_OPTION2", "00:01:00:01:32:98:17:4a:86:06:d3:e2:cd:f7"),
];

/// Runs `program` with only `vars`, dibbler's `PATH` and a non-UTF-8 stray variable.
fn run_with(program: &Path, arg: Option<&str>, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .envs(vars.iter().copied())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env(std::ffi::OsStr::from_bytes(b"junk\xff"), "x");
    if let Some(arg) = arg {
        cmd.arg(arg);
    }
    cmd.output().unwrap()
}

/// Runs the plugin directly, with the `DHCPMGR_*` variables the wrapper would set.
fn run(setup: &Setup, arg: Option<&str>, vars: &[(&str, &str)]) -> Output {
    let mut vars = vars.to_vec();
    let socket = setup.socket.to_str().unwrap();
    let spool = setup.spool.to_str().unwrap();
    vars.extend([
        ("DHCPMGR_SOCKET", socket),
        ("DHCPMGR_SPOOL_DIR", spool),
        ("DHCPMGR_CLIENT", "wan"),
    ]);
    run_with(Path::new(PLUGIN), arg, &vars)
}

fn check_add(envelope: &Envelope) {
    assert_eq!(envelope.version, PROTOCOL_VERSION);
    assert_eq!(envelope.client.as_deref(), Some("wan"));
    // The test process is the plugin's parent, as dibbler would be (the wrapper `exec`s).
    assert_eq!(envelope.client_pid, std::process::id());
    assert!(envelope.created_unix_ms > 1_700_000_000_000);
    let ClientEvent::V6(event) = &envelope.event else {
        panic!("expected a v6 event, got {:?}", envelope.event);
    };
    assert_eq!(event.interface, "erouter0");
    assert_eq!(event.kind, V6EventKind::Add);
    assert_eq!(
        event.addresses,
        [V6Address {
            address: "2001:db8:1::100".parse().unwrap(),
            preferred: 3000,
            valid: 4000,
        }]
    );
    assert_eq!(
        event.prefixes,
        [V6Prefix {
            prefix: "2001:db8:12::".parse().unwrap(),
            length: 56,
            preferred: 3000,
            valid: 4000,
        }]
    );
    assert_eq!(
        event.server_options.keys().copied().collect::<Vec<_>>(),
        [1, 2, 23, 24]
    );
    assert_eq!(event.server_options[&23], "2001:db8:1::53");
    assert_eq!(event.remote_addr, Some("ff02::1:2".parse().unwrap()));
    assert_eq!(event.client_message.as_deref(), Some("REQUEST"));
    assert_eq!(event.server_message.as_deref(), Some("REPLY"));
}

#[test]
fn delivers_to_the_daemon() {
    let s = setup();
    let daemon = daemon(&s.socket, r#"{"accepted":true,"reason":""}"#);
    let out = run(&s, Some("add"), ADD);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    check_add(&daemon.join().unwrap().expect("plugin never connected"));
    assert!(spooled(&s.spool).is_empty());
}

#[test]
fn works_behind_the_generated_wrapper() {
    let s = setup();
    let wrapper = s.dir.path().join("dibbler-script");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nDHCPMGR_SOCKET='{}' DHCPMGR_SPOOL_DIR='{}' DHCPMGR_CLIENT='wan' exec {PLUGIN} \"$@\"\n",
            s.socket.display(),
            s.spool.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = daemon(&s.socket, r#"{"accepted":true,"reason":""}"#);
    // dibbler's environment has no DHCPMGR_* at all.
    let out = run_with(&wrapper, Some("add"), ADD);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    check_add(&daemon.join().unwrap().expect("plugin never connected"));
    assert!(spooled(&s.spool).is_empty());
}

#[test]
fn spools_when_the_daemon_is_absent() {
    let s = setup();
    let out = run(&s, Some("add"), ADD);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spooled"),
        "{out:?}"
    );
    let files = spooled(&s.spool);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(SPOOL_SUFFIX));
    check_add(&decode_envelope(&fs::read(&files[0]).unwrap()).unwrap());
}

#[test]
fn a_reply_asking_for_a_retry_spools_the_event() {
    let s = setup();
    let daemon = daemon(
        &s.socket,
        r#"{"accepted":false,"reason":"cannot persist client state","retry":true}"#,
    );
    let out = run(&s, Some("add"), ADD);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not apply it yet") && stderr.contains("spooled"),
        "{stderr}"
    );
    assert!(daemon.join().unwrap().is_some());
    let spooled = spooled(&s.spool);
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    check_add(&decode_envelope(&fs::read(&spooled[0]).unwrap()).unwrap());
}

#[test]
fn rejection_is_logged_not_spooled() {
    let s = setup();
    let daemon = daemon(&s.socket, r#"{"accepted":false,"reason":"unknown client"}"#);
    let out = run(&s, Some("add"), ADD);
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
    let mut vars = ADD.to_vec();
    vars.push(("ADDR1PREF", "soon"));
    let out = run(&s, Some("add"), &vars);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`ADDR1PREF`") && stderr.lines().count() == 1,
        "{stderr}"
    );
    let out = run(&s, Some("release"), ADD);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"release\""),
        "{out:?}"
    );
    assert!(spooled(&s.spool).is_empty());
}

/// RDK's patched dibbler-client runs the script as `expire` and `del`, with the server's IAIDs
/// and timers in the environment: both are delivered, with those values.
#[test]
fn rdk_expire_and_del_calls_are_delivered_with_ia_parameters() {
    for (arg, kind) in [
        ("expire", V6EventKind::Expire),
        ("del", V6EventKind::Delete),
    ] {
        let s = setup();
        let daemon = daemon(&s.socket, r#"{"accepted":true,"reason":""}"#);
        let mut vars = ADD.to_vec();
        vars.extend([
            ("ADDR1IAID", "5"),
            ("ADDR1T1", "2000"),
            ("PREFIX1IAID", "6"),
        ]);
        let out = run(&s, Some(arg), &vars);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{arg}: {out:?}"
        );
        let envelope = daemon.join().unwrap().expect("plugin never connected");
        let ClientEvent::V6(event) = &envelope.event else {
            panic!("expected a v6 event, got {:?}", envelope.event);
        };
        assert_eq!(event.kind, kind);
        assert_eq!(
            (
                event.ia_na.and_then(|p| p.iaid),
                event.ia_na.and_then(|p| p.t1)
            ),
            (Some(5), Some(2000))
        );
        assert_eq!(event.ia_pd.and_then(|p| p.iaid), Some(6));
        assert_eq!(event.prefixes.len(), 1);
    }
}

#[test]
fn missing_event_argument_is_a_usage_error() {
    let s = setup();
    let out = run(&s, None, ADD);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("usage"),
        "{out:?}"
    );
    assert!(spooled(&s.spool).is_empty());
}
