//! RDK's real bus for the RBUS tests: the `rtrouted` broker and librbus that
//! scripts/install-deps.sh builds into `/opt/rbus` (or `$RBUS_PREFIX`), C programs compiled
//! from tests/rbus/ against them, and a private mount namespace per broker. rtrouted listens on
//! the fixed path `/tmp/rtrouted` and never removes a stale socket: each [`Broker`] mounts a
//! fresh tmpfs on `/tmp` in its own mount namespace (binding the lab's directory back in), and
//! the daemon and the clients join that namespace.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{bin, bin_dir, Lab, WAN_IF};
pub use dhcpmgr_lab::{CtlEvents, DbusEvent};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Where install-deps.sh puts rbus.
pub fn prefix() -> PathBuf {
    std::env::var_os("RBUS_PREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/rbus"))
}

/// The C sources of the tests.
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rbus")
}

/// Compiles tests/rbus/`source` into `out_dir` (with librbus when `with_rbus`); panics with
/// the compiler's output if that fails.
pub fn compile(source: &str, out_dir: &Path, with_rbus: bool) -> PathBuf {
    let exe = out_dir.join(source.trim_end_matches(".c"));
    let mut cc = Command::new("cc");
    cc.args(["-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&exe)
        .arg(source_dir().join(source))
        .arg("-I")
        .arg(source_dir());
    if with_rbus {
        let prefix = prefix();
        cc.arg("-I")
            .arg(prefix.join("include/rbus"))
            .arg("-L")
            .arg(prefix.join("lib"))
            .arg("-lrbus")
            .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
    }
    let out = cc
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc for tests/rbus/{source} (install gcc): {e}"));
    assert!(
        out.status.success(),
        "compiling tests/rbus/{source} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Panics with a clear message unless rtrouted and librbus are installed.
pub fn require_rbus() {
    let prefix = prefix();
    for part in ["bin/rtrouted", "lib/librbus.so.0", "include/rbus/rbus.h"] {
        let path = prefix.join(part);
        assert!(
            path.exists(),
            "the RBUS tests need RDK's bus: {} is missing. Run scripts/install-deps.sh as root \
             (it builds rdkcentral/rbus into {}), or point RBUS_PREFIX at an rbus install",
            path.display(),
            prefix.display()
        );
    }
}

/// The directories a broker's namespace must keep from the real `/tmp`: `keep`, the
/// repository and the built binaries, those of them under `/tmp`, none inside another.
fn kept_under_tmp(keep: &Path) -> Vec<PathBuf> {
    let candidates = [
        keep.to_path_buf(),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        bin_dir(),
    ];
    let under_tmp: Vec<PathBuf> = candidates
        .into_iter()
        .map(|p| p.canonicalize().unwrap_or(p))
        .filter(|p| p.starts_with("/tmp"))
        .collect();
    let mut kept: Vec<PathBuf> = Vec::new();
    for dir in &under_tmp {
        let inside_another = under_tmp.iter().any(|o| o != dir && dir.starts_with(o));
        if !inside_another && !kept.contains(dir) {
            kept.push(dir.clone());
        }
    }
    kept
}

/// `rtrouted` in a private mount namespace with its own `/tmp`.
pub struct Broker {
    process: Child,
    /// The namespace shell's stdin until rtrouted is started.
    go: Option<std::process::ChildStdin>,
}

impl Broker {
    /// Starts rtrouted; `keep` (a directory under `/tmp`, e.g. the lab's) stays visible in the
    /// namespace, and so do the repository and the built binaries when they live under `/tmp`
    /// (a clone there, as CI may make). Waits until the broker's socket exists.
    pub fn start(keep: &Path) -> Broker {
        let mut broker = Broker::prepare(keep);
        broker.start_router();
        broker
    }

    /// The namespace alone: rtrouted starts with [`Broker::start_router`] (a bus that comes up
    /// after the daemon).
    pub fn prepare(keep: &Path) -> Broker {
        require_rbus();
        // Each directory kept is opened before the tmpfs hides it and bound back from that
        // descriptor (uncanonicalized: mount would otherwise look the path up under the new
        // /tmp). Then the shell waits for a line on stdin, removes a stale socket and becomes
        // rtrouted.
        let script = "router=$1; shift; fd=3; \
            for dir in \"$@\"; do eval \"exec $fd<\\\"\\$dir\\\"\" || exit 1; fd=$((fd + 1)); done; \
            mount -t tmpfs tmpfs /tmp || exit 1; fd=3; \
            for dir in \"$@\"; do mkdir -p \"$dir\" \
                && mount --no-canonicalize --bind /proc/self/fd/$fd \"$dir\" \
                && eval \"exec $fd<&-\" || exit 1; fd=$((fd + 1)); done; \
            : >/tmp/.namespace-ready && read -r go && rm -f /tmp/rtrouted \
            && exec \"$router\" -f -l ERROR";
        let mut process = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(prefix().join("bin/rtrouted"))
            .args(kept_under_tmp(keep))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rtrouted through unshare: {e}"));
        let go = process.stdin.take();
        let mut broker = Broker { process, go };
        broker.wait_for_file(".namespace-ready", "the mount namespace");
        broker
    }

    /// Starts rtrouted in the namespace and waits until its socket exists.
    pub fn start_router(&mut self) {
        if let Some(mut go) = self.go.take() {
            go.write_all(b"go\n")
                .expect("tell the namespace shell to start rtrouted");
        }
        self.wait_for_file("rtrouted", "rtrouted's socket");
    }

    /// Kills rtrouted (SIGKILL, as in a crash: its socket stays behind) and starts a new one in
    /// the same mount namespace, entered through `anchor`, a process still in it (the daemon).
    /// The stale socket is deleted first: rtrouted does not replace it.
    pub fn restart(&mut self, anchor: u32) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let stale = PathBuf::from(format!("/proc/{anchor}/root/tmp/rtrouted"));
        if let Err(e) = std::fs::remove_file(&stale) {
            assert!(
                e.kind() == std::io::ErrorKind::NotFound,
                "cannot delete the stale {}: {e}",
                stale.display()
            );
        }
        self.process = Command::new("nsenter")
            .arg(format!("--mount=/proc/{anchor}/ns/mnt"))
            .arg("--")
            .arg(prefix().join("bin/rtrouted"))
            .args(["-f", "-l", "ERROR"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot restart rtrouted through nsenter: {e}"));
        self.wait_for_file("rtrouted", "the restarted rtrouted's socket");
    }

    /// Waits (10 s) until `/tmp/<name>` exists in the namespace.
    fn wait_for_file(&mut self, name: &str, what: &str) {
        let path = PathBuf::from(format!("/proc/{}/root/tmp/{name}", self.pid()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            if let Ok(Some(status)) = self.process.try_wait() {
                panic!("the rtrouted namespace shell exited waiting for {what} ({status})");
            }
            assert!(Instant::now() < deadline, "no {what} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `program` in the broker's mount namespace (and in network namespace `netns`, if any).
    pub fn command(&self, netns: Option<&str>, program: &Path) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--mount=/proc/{}/ns/mnt", self.pid()));
        if let Some(netns) = netns {
            cmd.arg(format!("--net=/run/netns/{netns}"));
        }
        cmd.arg("--").arg(program);
        cmd
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The daemon, started in the broker's mount namespace and the lab's CPE network namespace
/// (output appended to the lab's daemon log); stopped (SIGTERM) on drop.
pub struct Daemon {
    child: Child,
}

impl Daemon {
    pub fn start(lab: &Lab, broker: &Broker, config: &Path) -> Daemon {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(lab.daemon_log_path())
            .expect("open the daemon log");
        let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .expect("PATH entries are joinable");
        let child = broker
            .command(Some(lab.cpe().name()), &bin("dhcpmgr"))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "debug")
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dhcpmgr through nsenter: {e}"));
        Daemon { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// The test consumer (tests/rbus/client.c) on a broker.
pub struct Client<'a> {
    pub broker: &'a Broker,
    pub exe: PathBuf,
}

impl Client<'_> {
    /// Runs `client ARGS…` and returns its output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.broker
            .command(None, &self.exe)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the RBUS test client: {e}"))
    }

    /// Waits until the daemon answers a get of `name` on RBUS; `Err` has the client's last
    /// complaint. Give a row's parameter: librbus registers a table's rows only after the
    /// table, so a table-level value can be answered a moment before the row is.
    pub fn wait_until_served(&self, name: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.run(&["get", name]);
            if out.status.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `client get NAME` → the value; panics if the get fails.
    pub fn get(&self, name: &str) -> String {
        let out = self.run(&["get", name]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "RBUS get {name} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("RBUS get {name}: unexpected output {text:?}"))
            .to_string()
    }

    /// `client set (NAME TYPE VALUE)…`: `Ok` or the RBUS error code.
    pub fn set(&self, triples: &[(&str, &str, &str)]) -> Result<(), i32> {
        let mut args = vec!["set"];
        for (name, kind, value) in triples {
            args.extend([*name, *kind, *value]);
        }
        let out = self.run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            return Ok(());
        }
        // librbus logs to stdout too: the client's own line starts with `error`.
        Err(text
            .lines()
            .find_map(|l| l.strip_prefix("error "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|rc| rc.parse().ok())
            .unwrap_or_else(|| panic!("RBUS set: unexpected output {text:?}")))
    }

    /// Subscribes to `event` in a child process; its events arrive on the returned listener.
    pub fn listen(&self, event: &str) -> Listener {
        let mut child = self
            .broker
            .command(None, &self.exe)
            .args(["listen", event, "600"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the RBUS listener: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut block: Option<Event> = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "subscribed" || line == "unsubscribed" || line.starts_with("error ") {
                    let _ = tx.send(Line::Status(line));
                } else if let Some(name) = line.strip_prefix("event ") {
                    block = Some(Event {
                        name: name.to_string(),
                        fields: Vec::new(),
                    });
                } else if line == "end" {
                    if let Some(event) = block.take() {
                        let _ = tx.send(Line::Event(event));
                    }
                } else if let (Some(event), Some((k, v))) = (block.as_mut(), line.split_once('=')) {
                    event.fields.push((k.to_string(), v.to_string()));
                }
            }
        });
        let listener = Listener { child, lines: rx };
        match listener.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(Line::Status(s)) if s == "subscribed" => listener,
            Ok(Line::Status(error)) => panic!("the RBUS listener could not subscribe: {error}"),
            _ => panic!("the RBUS listener did not subscribe to {event} within 10 s"),
        }
    }
}

enum Line {
    Status(String),
    Event(Event),
}

/// One event as the test client printed it.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

impl Event {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn msg_type(&self) -> Option<u32> {
        self.get("MsgType").and_then(|t| t.parse().ok())
    }
}

/// A running subscription (the client's `listen`).
pub struct Listener {
    child: Child,
    lines: mpsc::Receiver<Line>,
}

impl Listener {
    /// The next event, if one comes within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left).ok()? {
                Line::Event(event) => return Some(event),
                Line::Status(_) => {}
            }
        }
    }

    /// Waits for an event with `msg_type`, returning it and the events before it.
    pub fn wait_for(&self, msg_type: u32, timeout: Duration) -> (Event, Vec<Event>) {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(e) if e.msg_type() == Some(msg_type) => return (e, before),
                Some(e) => before.push(e),
                None => panic!(
                    "no RBUS event with MsgType {msg_type} within {timeout:?}; got {before:?}"
                ),
            }
        }
    }

    /// Unsubscribes (SIGTERM to the client) and returns whether it said `unsubscribed`.
    pub fn unsubscribe(mut self) -> bool {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let said = loop {
            match self.lines.recv_timeout(Duration::from_secs(10)) {
                Ok(Line::Status(s)) if s == "unsubscribed" => break true,
                Ok(_) => {}
                Err(_) => break false,
            }
        };
        let _ = self.child.wait();
        said
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last 40 lines of the lab's daemon log, for failure messages.
pub fn daemon_log(lab: &Lab) -> String {
    let text = std::fs::read_to_string(lab.daemon_log_path()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// WAN Manager's start of client `client_path` (`Device.DHCPvN.Client.1.`): subscribe to its
/// `Events`, set `Interface` to the lab's WAN interface, `Enable=true`. Returns the D-Bus
/// `Event`s (followed from before the first write, which shows they are listened to) and the
/// RBUS subscription.
pub fn start_like_wan_manager(
    client: &Client,
    lab: &Lab,
    client_path: &str,
) -> (CtlEvents, Listener) {
    let dbus = CtlEvents::follow(lab);
    let events = client.listen(&format!("{client_path}Events"));
    let interface = format!("{client_path}Interface");
    client
        .set(&[(&interface, "string", WAN_IF)])
        .expect("set Interface to the Linux interface name");
    assert!(
        dbus.saw(&format!("{interface}={WAN_IF}"), Duration::from_secs(10)),
        "D-Bus ValuesChanged for the Interface write (dhcpmgrctl events is listening)"
    );
    client
        .set(&[(&format!("{client_path}Enable"), "boolean", "true")])
        .expect("Enable=true");
    (dbus, events)
}

/// WAN Manager's stop of client `client_path`: `Enable=false`, `DHCP_CLIENT_STOPPED` (1) on the
/// WAN interface, `Enable` reads false, unsubscribe.
pub fn stop_like_wan_manager(client: &Client, client_path: &str, events: Listener) {
    let enable = format!("{client_path}Enable");
    client
        .set(&[(&enable, "boolean", "false")])
        .expect("Enable=false");
    let (stopped, _) = events.wait_for(1, Duration::from_secs(40));
    assert_eq!(stopped.get("IfName"), Some(WAN_IF));
    assert_eq!(client.get(&enable), "false");
    assert!(
        events.unsubscribe(),
        "the consumer unsubscribed from {client_path}Events"
    );
}

/// Asserts that the D-Bus `Event` `signal` is the lease update of `object_path` on the WAN
/// interface carrying each `LeaseInfo` field of `want` by name.
pub fn assert_named_lease(signal: &DbusEvent, object_path: &str, want: &[(&str, &str)]) {
    assert_eq!(signal.object_path, object_path);
    let get = |key: &str| signal.data.get(key).map(String::as_str);
    assert_eq!(get("IfName"), Some(WAN_IF));
    assert_eq!(get("MsgType"), Some("3"));
    for (field, value) in want {
        assert_eq!(
            get(&format!("LeaseInfo.{field}")),
            Some(*value),
            "D-Bus Event LeaseInfo.{field}"
        );
    }
}
