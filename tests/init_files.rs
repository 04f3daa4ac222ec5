//! The files an integrator installs from `init/`, checked with the tools that will read them:
//!
//! - `dhcpmgr.service`: `systemd-analyze verify` with ExecStart pointing at the built daemon
//!   (any diagnostic fails; a broken copy must produce one), `systemd-analyze security` exposure,
//!   and its directories, type, kill mode and capabilities against the daemon's defaults;
//! - the daemon's side of `Type=notify`: READY, STATUS, WATCHDOG and STOPPING from the real
//!   binary, journal-style lines when `$JOURNAL_STREAM` names its stderr, and the log level
//!   changed by SIGHUP, the start-only keys a SIGHUP cannot apply named in STATUS=, and a part
//!   failing at start reported in STATUS= and the exit code;
//! - `org.dhcpmgr.conf`: included by a private `dbus-daemon` with the system bus's default
//!   policy, which must then let root own `org.dhcpmgr`, let another user read but not write or
//!   own; a malformed copy must make the bus refuse to start;
//! - `dhcpmgr.init`: `sh -n`, busybox `sh -n`, `shellcheck`, then start/status/reload/stop of
//!   the built daemon through it;
//! - `dhcpmgr.toml`: `dhcpmgr --validate` accepts it.
//!
//! Needs root (another uid for the policy test) and systemd, dbus-daemon, dbus-send, busybox,
//! shellcheck and start-stop-daemon (scripts/install-deps.sh installs them); a missing tool
//! fails the test that needs it, naming the package.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DAEMON: &str = env!("CARGO_BIN_EXE_dhcpmgr");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Deadlines (never timings) for things that happen at once when they work.
const DEADLINE: Duration = Duration::from_secs(20);

fn init_file(name: &str) -> PathBuf {
    Path::new(ROOT).join("init").join(name)
}

/// `tool` on PATH (or in /usr/sbin, /sbin), else a failure naming the Debian package.
fn require(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{tool} not found: install the Debian package {package} \
                 (bash scripts/install-deps.sh does)"
            )
        })
}

fn require_root(why: &str) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root: {why}"
    );
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `[Section]` → key → values (a key may repeat), comments and blank lines dropped.
fn parse_unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut unit: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not KEY=VALUE in the unit: {line}"));
        unit.entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    unit
}

/// The unit with its binaries pointing at the built daemon, written into `dir`.
fn unit_for_built_daemon(dir: &Path) -> PathBuf {
    let unit = fs::read_to_string(init_file("dhcpmgr.service")).unwrap();
    assert!(
        unit.contains("/usr/bin/dhcpmgr "),
        "unit runs /usr/bin/dhcpmgr"
    );
    let path = dir.join("dhcpmgr.service");
    fs::write(
        &path,
        unit.replace("/usr/bin/dhcpmgr ", &format!("{DAEMON} ")),
    )
    .unwrap();
    path
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let analyze = require("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_built_daemon(dir.path());
    let out = run(Command::new(&analyze).arg("verify").arg(&unit));
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify must pass without a diagnostic:\n{}",
        text(&out)
    );

    // The check is sensitive: an unknown key and a missing binary are reported.
    let broken = fs::read_to_string(&unit).unwrap().replace(
        "[Install]",
        "WatchdogSecs=30\nExecStartPost=/nonexistent/dhcpmgr-hook\n[Install]",
    );
    fs::write(&unit, broken).unwrap();
    let out = run(Command::new(&analyze).arg("verify").arg(&unit));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("WatchdogSecs"),
        "a broken unit must be reported:\n{}",
        text(&out)
    );
}

#[test]
fn unit_hardening_keeps_exposure_low() {
    let analyze = require("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_built_daemon(dir.path());
    // systemd's exposure scale is 0.0 (locked down) to 10.0; the unit scores 3.2 on systemd
    // 252. A hardening line dropped by accident pushes it over 3.5.
    let out = run(Command::new(&analyze)
        .args(["security", "--offline=true", "--threshold=35", "--no-pager"])
        .arg(&unit));
    assert!(out.status.success(), "exposure above 3.5:\n{}", text(&out));
}

#[test]
fn unit_matches_the_daemon_and_its_default_config() {
    let unit = parse_unit(&fs::read_to_string(init_file("dhcpmgr.service")).unwrap());
    let service = &unit["Service"];
    let one = |key: &str| -> &str {
        match service.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("[Service] {key}= must be set once, is {other:?}"),
        }
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("NotifyAccess"), "main");
    assert!(one("WatchdogSec").ends_with('s'));
    assert_eq!(one("Restart"), "on-failure");
    assert_eq!(one("KillMode"), "mixed");
    assert_eq!(
        one("ExecStart"),
        format!(
            "/usr/bin/dhcpmgr --config {}",
            dhcpmgr::daemon::DEFAULT_CONFIG
        )
    );
    assert_eq!(
        service["ExecStartPre"].first().map(String::as_str),
        Some(
            format!(
                "/usr/bin/dhcpmgr --validate --config {}",
                dhcpmgr::daemon::DEFAULT_CONFIG
            )
            .as_str()
        ),
        "the configuration is validated first"
    );
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    let mut caps: Vec<&str> = one("CapabilityBoundingSet").split_whitespace().collect();
    caps.sort_unstable();
    assert_eq!(
        caps,
        [
            "CAP_KILL",
            "CAP_NET_ADMIN",
            "CAP_NET_BIND_SERVICE",
            "CAP_NET_RAW"
        ]
    );
    assert!(
        !service.contains_key("AmbientCapabilities"),
        "runs as root: ambient capabilities would only widen what children get"
    );
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
    ] {
        assert_eq!(one(key), value, "{key}");
    }

    // The directories systemd creates are the ones the shipped config uses.
    let config = dhcpmgr::config::Config::load(&init_file("dhcpmgr.toml")).unwrap();
    assert_eq!(
        config.run_dir,
        Path::new("/run").join(one("RuntimeDirectory"))
    );
    assert_eq!(
        config.state_dir,
        Path::new("/var/lib").join(one("StateDirectory"))
    );
}

#[test]
fn shipped_config_validates() {
    let out = run(Command::new(DAEMON)
        .args(["--validate", "--config"])
        .arg(init_file("dhcpmgr.toml")));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn shipped_config_examples_validate_when_uncommented() {
    let shipped = fs::read_to_string(init_file("dhcpmgr.toml")).unwrap();
    let mut uncommented = 0;
    let all: String = shipped
        .lines()
        .map(|line| {
            let example = line.strip_prefix("# ").filter(|rest| {
                let table =
                    rest.starts_with("[[") || rest.starts_with("[shield") || *rest == "[rbus]";
                table
                    || rest.split_once(" = ").is_some_and(|(key, _)| {
                        !key.is_empty()
                            && key
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            });
            if example.is_some() {
                uncommented += 1;
            }
            format!("{}\n", example.unwrap_or(line))
        })
        .collect();
    assert!(
        uncommented >= 8,
        "only {uncommented} commented-out settings found"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.toml");
    fs::write(&path, &all).unwrap();
    let out = run(Command::new(DAEMON)
        .args(["--validate", "--config"])
        .arg(&path));
    assert!(out.status.success(), "{}\n{all}", text(&out));
}

/// A config for a daemon with no clients, everything under `dir`, no bus to reach.
fn scratch_config(dir: &Path, log_level: &str) -> PathBuf {
    let path = dir.join("dhcpmgr.toml");
    fs::write(
        &path,
        format!(
            "[daemon]\nstate_dir = \"{d}/state\"\nrun_dir = \"{d}/run\"\nlog_level = \"{log_level}\"\n\
             [dbus]\nbus = \"unix:path={d}/no-bus\"\n[sysevent]\ncommand = \"\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    path
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The next sd_notify datagram the daemon sent to `manager`.
fn notification(manager: &UnixDatagram) -> String {
    let mut buf = [0u8; 1024];
    let n = manager
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification from the daemon: {e}"));
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Kills the child if the test ends early.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn daemon_speaks_sd_notify_and_journal_lines() {
    let dir = tempfile::tempdir().unwrap();
    let config = scratch_config(dir.path(), "warn");
    let socket_path = dir.path().join("notify");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager.set_read_timeout(Some(DEADLINE)).unwrap();
    let stderr_path = dir.path().join("stderr");
    let stderr = fs::File::create(&stderr_path).unwrap();
    let st = nix::sys::stat::fstat(stderr.as_fd()).unwrap();
    let child = Command::new(DAEMON)
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .env("JOURNAL_STREAM", format!("{}:{}", st.st_dev, st.st_ino))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let mut child = Reaped(child);
    let recv = || notification(&manager);
    let first = recv();
    assert!(
        first.starts_with("READY=1\nSTATUS=running: 0 DHCPv4"),
        "first notification: {first:?}"
    );
    // WATCHDOG_USEC=200 ms: pings every 100 ms while the controller loop turns.
    assert_eq!(recv(), "WATCHDOG=1");

    // SIGHUP applies a new log level: info lines appear from then on.
    let warn_only = fs::read_to_string(&stderr_path).unwrap();
    assert!(!warn_only.contains("INFO"), "log_level warn:\n{warn_only}");
    scratch_config(dir.path(), "info");
    kill(pid, Signal::SIGHUP).unwrap();
    let statuses: Vec<String> = (0..2)
        .map(|_| loop {
            let message = recv();
            if message != "WATCHDOG=1" {
                break message;
            }
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "STATUS=reloading configuration",
            "STATUS=running: 0 DHCPv4, 0 DHCPv6 client(s) configured"
        ]
    );

    kill(pid, Signal::SIGTERM).unwrap();
    let stopping = loop {
        let message = recv();
        if message != "WATCHDOG=1" {
            break message;
        }
    };
    assert!(stopping.starts_with("STOPPING=1\n"), "{stopping:?}");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "daemon exit: {status}");

    // Journal lines: a syslog priority prefix, no timestamp, no colour.
    let log = fs::read_to_string(&stderr_path).unwrap();
    assert!(
        log.contains("<6>INFO dhcpmgr::daemon::logging: log level applied"),
        "{log}"
    );
    assert!(log.contains("<6>INFO dhcpmgr::daemon: stopping"), "{log}");
    for line in log.lines() {
        assert!(
            line.starts_with('<') && !line.contains('\x1b'),
            "not a journal line: {line:?}"
        );
    }
}

/// dbus-daemon's system-bus default policy (as in dbus' own system.conf) plus `policy`.
fn bus_config(dir: &Path, policy: &Path) -> PathBuf {
    let path = dir.join("bus.conf");
    fs::write(
        &path,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"#,
            dir = dir.display(),
            policy = policy.display()
        ),
    )
    .unwrap();
    path
}

fn start_bus(config: &Path) -> Child {
    Command::new(require("dbus-daemon", "dbus-daemon"))
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile", "--print-address"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `dbus-send` as `uid` (through setpriv): `member` on `destination` with `args`.
fn call_as(
    uid: u32,
    address: &str,
    destination: &str,
    path: &str,
    member: &str,
    args: &[&str],
) -> Output {
    let mut command = Command::new(require("setpriv", "util-linux"));
    command
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg(require("dbus-send", "dbus-bin"))
        .arg(format!("--bus={address}"))
        .args(["--print-reply", "--reply-timeout=5000"])
        .arg(format!("--dest={destination}"))
        .args([path, member])
        .args(args);
    run(&mut command)
}

#[test]
fn dbus_policy_is_accepted_and_enforced_by_a_private_bus() {
    require_root("the policy is checked for root and for uid 65534 (setpriv)");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();

    // A malformed policy file must stop the bus from starting.
    let broken = dir.path().join("broken.conf");
    let policy = fs::read_to_string(init_file("org.dhcpmgr.conf")).unwrap();
    fs::write(&broken, policy.replace("</busconfig>", "")).unwrap();
    let mut bus = Reaped(start_bus(&bus_config(dir.path(), &broken)));
    let status = wait_for("dbus-daemon to refuse the malformed policy", || {
        bus.0.try_wait().unwrap()
    });
    assert!(!status.success(), "dbus-daemon accepted a malformed policy");
    drop(bus);
    let _ = fs::remove_file(dir.path().join("bus"));

    let mut bus = Reaped(start_bus(&bus_config(
        dir.path(),
        &init_file("org.dhcpmgr.conf"),
    )));
    let mut line = String::new();
    let mut stdout = bus.0.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while !line.ends_with('\n') {
        match stdout.read(&mut byte) {
            Ok(1) => line.push(char::from(byte[0])),
            _ => {
                let mut err = String::new();
                let _ = bus.0.stderr.take().unwrap().read_to_string(&mut err);
                panic!("dbus-daemon refused init/org.dhcpmgr.conf: {err}");
            }
        }
    }
    let address = line.trim().to_string();

    // Root owns the name (a zbus connection on its own thread, serving no objects).
    let (owned_tx, owned_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let owner_address = address.clone();
    let owner = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let built = async {
                zbus::connection::Builder::address(owner_address.as_str())?
                    .name("org.dhcpmgr")?
                    .build()
                    .await
            }
            .await;
            // Touching the object server starts it: calls get an UnknownObject error then.
            let owned = built.as_ref().map(|c| {
                c.object_server();
            });
            let _ = owned_tx.send(owned.map_err(|e| e.to_string()));
            let _ = stop_rx.await;
            drop(built);
        });
    });
    owned_rx
        .recv_timeout(DEADLINE)
        .unwrap()
        .unwrap_or_else(|e| panic!("root cannot own org.dhcpmgr: {e}"));

    let denied = |out: &Output| String::from_utf8_lossy(&out.stderr).contains("AccessDenied");
    let delivered = |out: &Output| {
        let err = String::from_utf8_lossy(&out.stderr);
        err.contains("UnknownObject") || err.contains("UnknownMethod")
    };
    let nobody = 65534;
    let path = "/org/dhcpmgr";
    // The bus checks the policy on interface and member only: any argument will do.
    let arg = ["string:Device."];
    for member in ["GetParameterValues", "GetParameterNames"] {
        let interface_member = format!("org.dhcpmgr.DataModel1.{member}");
        let out = call_as(
            nobody,
            &address,
            "org.dhcpmgr",
            path,
            &interface_member,
            &arg,
        );
        assert!(
            delivered(&out),
            "{member} must reach the daemon:\n{}",
            text(&out)
        );
    }
    let introspect = "org.freedesktop.DBus.Introspectable.Introspect";
    let out = call_as(nobody, &address, "org.dhcpmgr", path, introspect, &[]);
    assert!(!denied(&out), "introspection is open:\n{}", text(&out));
    for member in ["SetParameterValues", "AddObject", "DeleteObject", "Operate"] {
        let interface_member = format!("org.dhcpmgr.DataModel1.{member}");
        let out = call_as(
            nobody,
            &address,
            "org.dhcpmgr",
            path,
            &interface_member,
            &arg,
        );
        assert!(
            denied(&out),
            "{member} must be denied to uid {nobody}:\n{}",
            text(&out)
        );
        let out = call_as(0, &address, "org.dhcpmgr", path, &interface_member, &arg);
        assert!(
            delivered(&out),
            "{member} must reach the daemon from root:\n{}",
            text(&out)
        );
    }
    let out = call_as(
        nobody,
        &address,
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.RequestName",
        &["string:org.dhcpmgr", "uint32:0"],
    );
    assert!(
        denied(&out),
        "uid {nobody} must not own org.dhcpmgr:\n{}",
        text(&out)
    );

    let _ = stop_tx.send(());
    owner.join().unwrap();
}

#[test]
fn init_script_is_valid_posix_sh() {
    let script = init_file("dhcpmgr.init");
    let out = run(Command::new("sh").arg("-n").arg(&script));
    assert!(out.status.success(), "sh -n:\n{}", text(&out));
    let out = run(Command::new(require("busybox", "busybox"))
        .args(["sh", "-n"])
        .arg(&script));
    assert!(out.status.success(), "busybox sh -n:\n{}", text(&out));
    let out = run(Command::new(require("shellcheck", "shellcheck"))
        .args(["--shell=sh", "--severity=style"])
        .arg(&script));
    assert!(out.status.success(), "shellcheck:\n{}", text(&out));
    let mode = fs::metadata(&script).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "init/dhcpmgr.init must be executable");
}

/// Runs the init script with `action`, the daemon and files under `dir`.
fn init_script(dir: &Path, config: &Path, action: &str) -> Output {
    require("start-stop-daemon", "dpkg");
    run(Command::new("sh")
        .arg(init_file("dhcpmgr.init"))
        .arg(action)
        .env("DAEMON", DAEMON)
        .env("CONFIG", config)
        .env("PIDFILE", dir.join("dhcpmgr.pid"))
        .env("STOP_TIMEOUT", "20")
        .env_remove("RUST_LOG"))
}

#[test]
fn init_script_starts_reloads_and_stops_the_daemon() {
    // The daemon, started in the background by start-stop-daemon, is reparented to this
    // process and reaped here, whatever pid 1 does with orphans.
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = scratch_config(dir.path(), "info");
    let code = |out: &Output| out.status.code();

    let out = init_script(dir.path(), &config, "status");
    assert_eq!(code(&out), Some(3), "status before start:\n{}", text(&out));
    let out = init_script(dir.path(), &config, "start");
    assert_eq!(code(&out), Some(0), "start:\n{}", text(&out));
    let socket = dir.path().join("run/ipc.sock");
    wait_for("the daemon's IPC socket", || socket.exists().then_some(()));
    let pid: i32 = fs::read_to_string(dir.path().join("dhcpmgr.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = init_script(dir.path(), &config, "status");
    assert_eq!(code(&out), Some(0), "status:\n{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("pid {pid}")));
    // Starting again does not start a second daemon.
    let out = init_script(dir.path(), &config, "start");
    assert!(String::from_utf8_lossy(&out.stdout).contains("already running"));

    // reload: SIGHUP, which the daemon handles (the default action would end it).
    let out = init_script(dir.path(), &config, "reload");
    assert_eq!(code(&out), Some(0), "reload:\n{}", text(&out));
    let out = init_script(dir.path(), &config, "status");
    assert_eq!(code(&out), Some(0), "status after reload:\n{}", text(&out));

    // An invalid file is refused before the daemon sees it.
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "[daemon]\nbogus = 1\n").unwrap();
    let out = init_script(dir.path(), &bad, "reload");
    assert_eq!(
        code(&out),
        Some(6),
        "reload with a bad file:\n{}",
        text(&out)
    );

    let out = init_script(dir.path(), &config, "stop");
    assert_eq!(code(&out), Some(0), "stop:\n{}", text(&out));
    let reaped = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    assert!(
        matches!(
            reaped,
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) | Err(nix::errno::Errno::ECHILD)
        ),
        "daemon after stop: {reaped:?}"
    );
    let out = init_script(dir.path(), &config, "status");
    assert_eq!(code(&out), Some(3), "status after stop:\n{}", text(&out));
    assert!(!dir.path().join("dhcpmgr.pid").exists());
}

/// A scratch configuration with the start-only keys `dbus.table_limit` and `sysevent.command`.
fn restart_test_config(dir: &Path, table_limit: u32, sysevent: &str) {
    fs::write(
        dir.join("dhcpmgr.toml"),
        format!(
            "[daemon]\nstate_dir = \"{d}/state\"\nrun_dir = \"{d}/run\"\nlog_level = \"warn\"\n\
             [dbus]\nbus = \"unix:path={d}/no-bus\"\ntable_limit = {table_limit}\n\
             [sysevent]\ncommand = \"{sysevent}\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
}

#[test]
fn sighup_reports_the_keys_that_wait_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    restart_test_config(dir.path(), 32, "");
    let socket_path = dir.path().join("notify");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager.set_read_timeout(Some(DEADLINE)).unwrap();
    let stderr_path = dir.path().join("stderr");
    let child = Command::new(DAEMON)
        .arg("--config")
        .arg(dir.path().join("dhcpmgr.toml"))
        .env_remove("RUST_LOG")
        .env_remove("WATCHDOG_USEC")
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let mut child = Reaped(child);
    let recv = || notification(&manager);
    let ready = recv();
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");

    restart_test_config(dir.path(), 8, "/bin/true");
    kill(pid, Signal::SIGHUP).unwrap();
    assert_eq!(recv(), "STATUS=reloading configuration");
    assert_eq!(
        recv(),
        "STATUS=running: 0 DHCPv4, 0 DHCPv6 client(s) configured; \
         restart needed for dbus.table_limit, sysevent.command"
    );

    // Back to the values the daemon runs with: nothing waits any more.
    restart_test_config(dir.path(), 32, "");
    kill(pid, Signal::SIGHUP).unwrap();
    assert_eq!(recv(), "STATUS=reloading configuration");
    assert_eq!(
        recv(),
        "STATUS=running: 0 DHCPv4, 0 DHCPv6 client(s) configured"
    );

    kill(pid, Signal::SIGTERM).unwrap();
    assert!(recv().starts_with("STOPPING=1\n"));
    let status = child.0.wait().unwrap();
    assert!(status.success(), "daemon exit: {status}");
    let log = fs::read_to_string(&stderr_path).unwrap();
    assert!(
        log.contains("changed keys take effect only at the next start")
            && log.contains("keys=dbus.table_limit, sysevent.command"),
        "{log}"
    );
}

#[test]
fn a_failing_part_stops_the_daemon_with_its_reason_in_status_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // run_dir below a regular file: the controller cannot create it and fails at start.
    let blocker = dir.path().join("not-a-dir");
    fs::write(&blocker, "").unwrap();
    let config = dir.path().join("dhcpmgr.toml");
    fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"{d}/state\"\nrun_dir = \"{b}/run\"\n\
             [dbus]\nbus = \"unix:path={d}/no-bus\"\n[sysevent]\ncommand = \"\"\n",
            d = dir.path().display(),
            b = blocker.display()
        ),
    )
    .unwrap();
    let socket_path = dir.path().join("notify");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager.set_read_timeout(Some(DEADLINE)).unwrap();
    let child = Command::new(DAEMON)
        .arg("--config")
        .arg(&config)
        .env_remove("WATCHDOG_USEC")
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(child);
    let stopping = notification(&manager);
    assert!(stopping.starts_with("STOPPING=1\n"), "{stopping:?}");
    let status = notification(&manager);
    let reason = format!("controller: cannot create {}/run", blocker.display());
    assert!(
        status.starts_with(&format!("STATUS=failed: {reason}")),
        "{status:?}"
    );
    let exit = wait_for("the daemon to exit", || child.0.try_wait().unwrap());
    assert_eq!(exit.code(), Some(1), "exit code of a run-time failure");
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("dhcpmgr failed") && stderr.contains(&reason),
        "{stderr}"
    );
}
