//! The dhcpmgr lab (docs/testing.md#the-lab): a synchronous harness for tests and demos.
//!
//! [`Lab::new`] builds, with names unique to this process and lab:
//! - two network namespaces, `isp` and `cpe`, joined by a veth pair: [`ISP_IF`] (192.0.2.1/24,
//!   2001:db8:1::1/64) in `isp`, the gateway's WAN interface [`WAN_IF`] in `cpe`;
//! - a private `dbus-daemon` on a path socket in the lab's temp dir ([`Lab::dbus_address`]);
//! - a recording stand-in for the `sysevent` command ([`Lab::sysevents`]).
//!
//! Kea DHCPv4 ([`Lab::start_kea4`]) and the daemon under test ([`Lab::start_daemon`]) are started
//! on demand. Everything is torn down on drop — also when a test panics: processes are killed
//! (anything left inside the namespaces too), the namespaces deleted, the temp dir removed unless
//! `DHCPMGR_KEEP_LAB=1`. Children also get SIGKILL if the thread that started them dies, so create
//! and drop a lab on one thread. Labs of runs that were killed are swept by the next [`Lab::new`].
//!
//! Failures panic with a clear message and, where it helps, the daemon's log tail: that is the
//! harness's failure mode. Missing preconditions (root, tools) are failures too; only
//! `DHCPMGR_SKIP_LAB=1` turns lab tests into skips, through [`lab_or_skip`].
//!
//! ```no_run
//! let Some(mut lab) = dhcpmgr_lab::lab_or_skip() else { return };
//! lab.start_kea4(dhcpmgr_lab::Kea4Options::default());
//! let config = lab.write_daemon_config(&lab.daemon_config());
//! let _daemon = lab.start_daemon(&config);
//! lab.wait_until(std::time::Duration::from_secs(10), "erouter0 has a lease", || {
//!     !lab.cpe().ipv4_addrs(dhcpmgr_lab::WAN_IF).is_empty()
//! });
//! ```

// A test harness: a panic is how it fails the test that uses it, so `expect` is its error
// report, and its helpers are documented where the tests read them, not item by item.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod daemon;
mod dbus;
mod events;
mod host;
mod kea;
mod kea6;
mod lan;
mod netns;
mod process;
mod rng;
mod sysevent;
mod wan4;

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use daemon::{DaemonConfig, DaemonProcess, SentOption, V4Client};
pub use host::{bin, bin_dir};
pub use kea::{HostId, Kea4Lease, Kea4Options, Reservation};
pub use kea6::{Kea6Lease, Kea6Options};
pub use lan::{Lan, LanHost, LanLease, LAN_BRIDGE, LAN_GW};
pub use netns::Netns;
pub use nix::sys::signal::Signal;
pub use rng::Rng;
pub use wan4::{AddressMonitor, LEASE_WAIT};

pub use dbus::DbusDaemon;
pub use events::{CtlEvents, DbusEvent};
use nix::sys::signal::Signal::{SIGKILL, SIGTERM};
use process::{log_tail, poll, Guarded};
use sysevent::SyseventRecorder;

/// ISP side of the veth pair, in the `isp` namespace.
pub const ISP_IF: &str = "veth-isp";
/// The gateway's WAN interface, CPE side of the veth pair, in the `cpe` namespace.
pub const WAN_IF: &str = "erouter0";
/// Fixed MAC of [`WAN_IF`], so reservations can name it.
pub const WAN_MAC: &str = "02:00:00:00:02:01";
/// The ISP's address on [`ISP_IF`] (/24): Kea's address and the default router.
pub const ISP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The ISP's IPv6 address on [`ISP_IF`] (/64), for DHCPv6.
pub const ISP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// D-Bus name the daemon owns (docs/contracts.md#d-bus).
pub const DAEMON_BUS_NAME: &str = "org.dhcpmgr";

/// The lab, unless `DHCPMGR_SKIP_LAB=1` asks to skip lab tests (then prints why and returns
/// `None`). Without that variable, unmet preconditions panic like [`Lab::new`].
pub fn lab_or_skip() -> Option<Lab> {
    if std::env::var_os("DHCPMGR_SKIP_LAB").is_some_and(|v| v == "1") {
        eprintln!("skipping: DHCPMGR_SKIP_LAB=1");
        return None;
    }
    Some(Lab::new())
}

/// Which Kea server.
#[derive(Clone, Copy)]
enum KeaKind {
    V4,
    V6,
}

/// One lab; see the [crate docs](crate). Fields drop in order: Kea, namespaces, bus, temp dir.
pub struct Lab {
    kea4: Option<Guarded>,
    kea4_options: Option<Kea4Options>,
    kea6: Option<Guarded>,
    kea6_options: Option<Kea6Options>,
    cpe: Netns,
    isp: Netns,
    dbus: DbusDaemon,
    sysevent: SyseventRecorder,
    name: String,
    dir: tempfile::TempDir,
}

impl Lab {
    /// Checks preconditions (root; `ip`, `busybox`, `kea-dhcp4`, `dbus-daemon`, `dbus-send`, `ss`
    /// on `PATH`) and builds the lab; panics with a clear message if anything is missing or fails.
    pub fn new() -> Lab {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        host::check_preconditions();
        Netns::sweep_stale();
        let name = Netns::lab_name(COUNTER.fetch_add(1, Ordering::Relaxed));
        let keep = std::env::var_os("DHCPMGR_KEEP_LAB").is_some_and(|v| v == "1");
        // 0755: the bus socket in here must stay reachable for tests running as another user.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .permissions(fs::Permissions::from_mode(0o755))
            .disable_cleanup(keep)
            .tempdir()
            .expect("create the lab's temp dir");

        let isp = Netns::create(format!("{name}-isp"));
        let cpe = Netns::create(format!("{name}-cpe"));
        connect_wan(&isp, &cpe);

        let dbus = DbusDaemon::start(dir.path());
        let sysevent = SyseventRecorder::create(dir.path());
        if keep {
            eprintln!(
                "DHCPMGR_KEEP_LAB=1: lab {name} keeps {}",
                dir.path().display()
            );
        }
        Lab {
            kea4: None,
            kea4_options: None,
            kea6: None,
            kea6_options: None,
            cpe,
            isp,
            dbus,
            sysevent,
            name,
            dir,
        }
    }

    /// The lab's unique name, `dm-<pid>-<counter>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lab's temp dir (configs, logs, lease file, daemon state).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The ISP namespace (Kea, [`ISP_IF`]).
    pub fn isp(&self) -> &Netns {
        &self.isp
    }

    /// The CPE namespace (the daemon, [`WAN_IF`]).
    pub fn cpe(&self) -> &Netns {
        &self.cpe
    }

    /// The private bus: `unix:path=<dir>/bus.sock`.
    pub fn dbus_address(&self) -> &str {
        self.dbus.address()
    }

    /// Whether `name` (e.g. [`DAEMON_BUS_NAME`]) has an owner on the lab's bus.
    pub fn bus_has_name(&self, name: &str) -> bool {
        self.dbus.has_owner(name)
    }

    // ---- sysevent recorder ----

    /// Path of the recording `sysevent` stand-in (for `[sysevent] command`).
    pub fn sysevent_command(&self) -> &Path {
        self.sysevent.script()
    }

    /// Every `sysevent set KEY VALUE` so far, in order, as (key, value).
    pub fn sysevents(&self) -> Vec<(String, String)> {
        self.sysevent.sets()
    }

    /// The last value set for `key`, if any.
    pub fn sysevent(&self, key: &str) -> Option<String> {
        self.sysevents()
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Forgets the sysevents recorded so far.
    pub fn clear_sysevents(&self) {
        self.sysevent.clear();
    }

    /// Makes the `sysevent` stand-in fail (exit 1, recording nothing as set) or work again.
    pub fn set_sysevent_failing(&self, failing: bool) {
        self.sysevent.set_failing(failing);
    }

    /// Every `sysevent set KEY VALUE` that failed while the stand-in was failing, in order.
    pub fn failed_sysevents(&self) -> Vec<(String, String)> {
        self.sysevent.failed_sets()
    }

    // ---- Kea DHCPv4 ----

    /// (Re)starts Kea DHCPv4 in the ISP namespace with `options` and waits until it serves on
    /// port 67; panics with Kea's log if it fails. The lease file survives restarts.
    pub fn start_kea4(&mut self, options: Kea4Options) {
        self.stop_kea4();
        let dir = self.dir.path();
        let json = kea::config(
            &options,
            &dir.join("kea4-leases.csv"),
            &dir.join("kea4.log"),
        );
        self.kea4 = Some(self.spawn_kea(KeaKind::V4, &json));
        self.kea4_options = Some(options);
    }

    /// Starts `kea-dhcp4`/`kea-dhcp6` in the ISP namespace with `json` and waits until it
    /// announces itself in its log and listens on its port.
    fn spawn_kea(&self, kind: KeaKind, json: &serde_json::Value) -> Guarded {
        let (name, tag, marker, port) = match kind {
            KeaKind::V4 => ("kea-dhcp4", "kea4", &b"DHCP4_STARTED"[..], "sport = :67"),
            KeaKind::V6 => ("kea-dhcp6", "kea6", &b"DHCP6_STARTED"[..], "sport = :547"),
        };
        let dir = self.dir.path();
        let config = dir.join(format!("{tag}.json"));
        let log = dir.join(format!("{tag}.log"));
        let output = dir.join(format!("{tag}.out"));
        fs::write(&config, format!("{json:#}")).expect("write Kea config into the lab dir");
        // A pid file left by a killed Kea makes the next one refuse to start.
        let _ = fs::remove_file(dir.join(format!("{tag}.{name}.pid")));
        let log_start = fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let out = fs::File::create(&output).expect("create Kea output file");
        let err = out.try_clone().expect("clone Kea output file");
        let mut kea = Guarded::spawn(
            self.isp
                .command(name)
                .arg("-c")
                .arg(&config)
                .env("KEA_PIDFILE_DIR", dir)
                .env("KEA_LOCKFILE_DIR", dir)
                .env("KEA_LOGGER_DESTINATION", &log)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
            name,
        );
        let mut exited = None;
        let ready = poll(Duration::from_secs(10), || {
            exited = kea.exited();
            let started = fs::read(&log)
                .is_ok_and(|l| l.get(log_start..).is_some_and(|new| contains(new, marker)));
            let listening = || !self.isp.run_ok(&["ss", "-Hlun", port]).trim().is_empty();
            exited.is_some() || (started && listening())
        });
        if !ready || exited.is_some() {
            let why = exited.map_or("did not start serving within 10 s".into(), |s| {
                format!("exited ({s})")
            });
            panic!(
                "{name} {why}\n{}\n{}",
                log_tail(&output, 20),
                log_tail(&log, 20)
            );
        }
        kea
    }

    /// Stops Kea (SIGTERM, SIGKILL after 5 s) if it runs.
    pub fn stop_kea4(&mut self) {
        if let Some(mut kea) = self.kea4.take() {
            if kea.stop(SIGTERM, Duration::from_secs(5)).is_none() {
                kea.stop(SIGKILL, Duration::from_secs(5));
            }
        }
    }

    /// Restarts Kea with the options it last ran with; panics if it was never started.
    pub fn restart_kea4(&mut self) {
        let options = self
            .kea4_options
            .clone()
            .expect("restart_kea4 before start_kea4");
        self.start_kea4(options);
    }

    /// The options Kea last started with.
    pub fn kea4_options(&self) -> Option<&Kea4Options> {
        self.kea4_options.as_ref()
    }

    /// Every record of Kea's lease file so far, oldest first (the last one for an address is
    /// its current state).
    pub fn kea4_leases(&self) -> Vec<Kea4Lease> {
        kea::parse_leases(
            &fs::read_to_string(self.dir().join("kea4-leases.csv")).unwrap_or_default(),
        )
    }

    /// Kea's log (all starts in this lab).
    pub fn kea4_log(&self) -> String {
        fs::read_to_string(self.dir().join("kea4.log")).unwrap_or_default()
    }

    // ---- Kea DHCPv6 ----

    /// (Re)starts Kea DHCPv6 in the ISP namespace with `options` and waits until it serves on
    /// port 547; panics with Kea's log if it fails. The lease file survives restarts.
    pub fn start_kea6(&mut self, options: Kea6Options) {
        self.stop_kea6();
        let dir = self.dir.path();
        let json = kea6::config(
            &options,
            &dir.join("kea6-leases.csv"),
            &dir.join("kea6.log"),
        );
        self.kea6 = Some(self.spawn_kea(KeaKind::V6, &json));
        self.kea6_options = Some(options);
    }

    /// Stops Kea DHCPv6 (SIGTERM, SIGKILL after 5 s) if it runs.
    pub fn stop_kea6(&mut self) {
        if let Some(mut kea) = self.kea6.take() {
            if kea.stop(SIGTERM, Duration::from_secs(5)).is_none() {
                kea.stop(SIGKILL, Duration::from_secs(5));
            }
        }
    }

    /// The options Kea DHCPv6 last started with.
    pub fn kea6_options(&self) -> Option<&Kea6Options> {
        self.kea6_options.as_ref()
    }

    /// Every record of Kea's DHCPv6 lease file so far, oldest first.
    pub fn kea6_leases(&self) -> Vec<Kea6Lease> {
        kea6::parse_leases(
            &fs::read_to_string(self.dir().join("kea6-leases.csv")).unwrap_or_default(),
        )
    }

    /// A `dibbler-client` stand-in for `[daemon] dibbler`: runs the real one in a private mount
    /// namespace with `/etc` on an overlay in the lab dir, because dibbler-client rewrites
    /// `/etc/resolv.conf` when it gets DNS servers and the machine's own must stay untouched.
    pub fn dibbler_command(&self) -> PathBuf {
        let script = self.dir().join("bin").join("dibbler-client");
        // Inside: /etc on an overlay whose resolv.conf is a plain file (the machine's may be a
        // symlink into /run, which writes would follow), and resolvconf's /run state on a
        // tmpfs, in case dibbler-client hands the servers to resolvconf.
        let inner = "mount -t overlay overlay -o lowerdir=/etc,upperdir=\"$0/upper\",workdir=\"$0/work\" /etc \
             && rm -f /etc/resolv.conf && : > /etc/resolv.conf \
             && { [ ! -d /run/resolvconf ] || mount -t tmpfs tmpfs /run/resolvconf; } \
             && exec dibbler-client \"$@\"";
        let text = format!(
            "#!/bin/sh\n\
             # dibbler-client with /etc on an overlay (lab only): its resolv.conf stays here.\n\
             d=$(mktemp -d {dir}/dibbler-etc.XXXXXX) || exit 1\n\
             mkdir \"$d/upper\" \"$d/work\" || exit 1\n\
             exec unshare --mount --propagation private sh -c '{inner}' \"$d\" \"$@\"\n",
            dir = self.dir().display()
        );
        fs::create_dir_all(self.dir().join("bin")).expect("create the lab's bin dir");
        fs::write(&script, text).expect("write the dibbler-client wrapper");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
            .expect("make the dibbler-client wrapper executable");
        script
    }

    // ---- the daemon ----

    /// A config for this lab: state/run dirs in the temp dir (state persists across daemon
    /// restarts), the lab's bus, the sysevent recorder, and [`V4Client::wan`].
    pub fn daemon_config(&self) -> DaemonConfig {
        DaemonConfig {
            state_dir: self.dir().join("state"),
            run_dir: self.dir().join("run"),
            daemon_extra: String::new(),
            bus: self.dbus_address().into(),
            sysevent_command: self.sysevent_command().to_string_lossy().into(),
            v4_clients: vec![V4Client::wan()],
            extra_toml: String::new(),
        }
    }

    /// [`Lab::daemon_config`] with only the DHCPv6 client `wan6` on [`WAN_IF`] (options 23, 24
    /// and 95 requested, `client_extra` appended to its table), dibbler-client through
    /// [`Lab::dibbler_command`].
    pub fn v6_daemon_config(&self, client_extra: &str) -> DaemonConfig {
        let mut cfg = self.daemon_config();
        cfg.v4_clients.clear();
        cfg.daemon_extra = format!(
            "dibbler = {}",
            serde_json::Value::from(self.dibbler_command().to_string_lossy().as_ref())
        );
        cfg.extra_toml = format!(
            "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"{WAN_IF}\"\nrequested_options = [23, 24, 95]\n{client_extra}\n"
        );
        cfg
    }

    /// Writes `config` to `<dir>/dhcpmgr.toml` (creating its state and run dirs) and returns the path.
    pub fn write_daemon_config(&self, config: &DaemonConfig) -> PathBuf {
        let path = self.dir().join("dhcpmgr.toml");
        for dir in [&config.state_dir, &config.run_dir] {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        fs::write(&path, config.to_toml()).expect("write dhcpmgr config into the lab dir");
        path
    }

    /// Starts `dhcpmgr --config CONFIG` in the CPE namespace (`RUST_LOG=debug`, the workspace's
    /// binary dir first on `PATH`, output appended to `<dir>/dhcpmgr.log`) without waiting.
    pub fn spawn_daemon(&self, config: &Path) -> DaemonProcess {
        let daemon = bin("dhcpmgr");
        let log = self.daemon_log_path();
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the daemon log");
        let _ = writeln!(
            out,
            "==== lab: starting {} --config {} ====",
            daemon.display(),
            config.display()
        );
        let err = out.try_clone().expect("clone the daemon log file");
        let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .expect("PATH entries are joinable");
        let process = Guarded::spawn(
            self.cpe
                .command(&daemon)
                .arg("--config")
                .arg(config)
                .env("RUST_LOG", "debug")
                .env("PATH", path)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
            "dhcpmgr",
        );
        DaemonProcess { process, log }
    }

    /// [`Lab::spawn_daemon`], then waits (10 s) until the daemon owns [`DAEMON_BUS_NAME`] on the
    /// lab's bus; panics with its log tail if it exits or times out.
    pub fn start_daemon(&self, config: &Path) -> DaemonProcess {
        let mut daemon = self.spawn_daemon(config);
        let owned = poll(Duration::from_secs(10), || {
            !daemon.is_running() || self.bus_has_name(DAEMON_BUS_NAME)
        });
        if !owned || !daemon.is_running() {
            let why = if owned {
                "exited"
            } else {
                "did not take its bus name within 10 s"
            };
            panic!(
                "dhcpmgr {why} (expected {DAEMON_BUS_NAME} on {})\n{}",
                self.dbus_address(),
                daemon.log_tail()
            );
        }
        daemon
    }

    /// `<dir>/dhcpmgr.log`: output of every daemon start in this lab.
    pub fn daemon_log_path(&self) -> PathBuf {
        self.dir().join("dhcpmgr.log")
    }

    /// A `dhcpmgrctl --bus <lab bus>` command (also `DHCPMGR_BUS`) in the CPE namespace; add the
    /// subcommand and its arguments.
    pub fn ctl_command(&self) -> Command {
        let mut cmd = self.cpe.command(bin("dhcpmgrctl"));
        cmd.args(["--bus", self.dbus_address()])
            .env("DHCPMGR_BUS", self.dbus_address());
        cmd
    }

    /// Runs `dhcpmgrctl ARGS…` (see [`Lab::ctl_command`]); panics unless it exits 0, returns stdout.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = self
            .ctl_command()
            .args(args)
            .output()
            .expect("run dhcpmgrctl");
        if !out.status.success() {
            panic!(
                "dhcpmgrctl {args:?} failed ({}): {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                self.diagnostics()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The value of one TR-181 parameter, as `dhcpmgrctl get NAME` prints it (`name type value`).
    pub fn tr181_value(&self, name: &str) -> String {
        let out = self.ctl(&["get", name]);
        let line = out.lines().next().unwrap_or_default();
        let mut words = line.splitn(3, ' ');
        assert_eq!(words.next(), Some(name), "{out}");
        words.nth(1).unwrap_or_default().to_string()
    }

    // ---- the WAN link ----

    /// Deletes the veth pair (both [`WAN_IF`] and [`ISP_IF`] go), as when the gateway's WAN
    /// interface is torn down.
    pub fn delete_wan(&self) {
        self.cpe.ip(&["link", "del", WAN_IF]);
    }

    /// Creates the veth pair again as [`Lab::new`] made it (a Kea started before must be
    /// restarted: its interface went with the pair).
    pub fn create_wan(&self) {
        connect_wan(&self.isp, &self.cpe);
    }

    /// Kea DHCPv6's log (all starts in this lab).
    pub fn kea6_log(&self) -> String {
        fs::read_to_string(self.dir().join("kea6.log")).unwrap_or_default()
    }

    /// The distinct prefixes Kea DHCPv6 ever delegated in this lab, sorted.
    pub fn kea6_delegated_prefixes(&self) -> Vec<Ipv6Addr> {
        let mut seen: Vec<Ipv6Addr> = self
            .kea6_leases()
            .iter()
            .filter(|l| l.is_prefix())
            .map(|l| l.address)
            .collect();
        seen.sort();
        seen.dedup();
        seen
    }

    /// How many leases Kea DHCPv6 logged as released (IA_NA and IA_PD, all starts).
    pub fn kea6_releases(&self) -> usize {
        let log = self.kea6_log();
        log.matches("DHCP6_RELEASE_NA ").count() + log.matches("DHCP6_RELEASE_PD ").count()
    }

    // ---- waiting and diagnostics ----

    /// Polls `cond` every 50 ms until it holds; after `timeout` panics with "timed out waiting
    /// until {what}" and [`Lab::diagnostics`]. A wait with a deadline, not a timing assertion.
    pub fn wait_until(&self, timeout: Duration, what: &str, cond: impl FnMut() -> bool) {
        let start = Instant::now();
        if !poll(timeout, cond) {
            panic!(
                "timed out after {:.1?} waiting until {what}\n{}",
                start.elapsed(),
                self.diagnostics()
            );
        }
    }

    /// The daemon log tail, and Kea's if it ran: for panic messages.
    pub fn diagnostics(&self) -> String {
        let daemon = self.daemon_log_path();
        let mut text = if daemon.exists() {
            log_tail(&daemon, 40)
        } else {
            "(dhcpmgr was not started)".into()
        };
        if self.kea4_options.is_some() {
            text = format!("{}\n{text}", log_tail(&self.dir().join("kea4.log"), 10));
        }
        text
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}

/// The veth pair between the namespaces: [`ISP_IF`] with the ISP's addresses, [`WAN_IF`] with
/// its fixed MAC, both up, duplicate address detection off.
fn connect_wan(isp: &Netns, cpe: &Netns) {
    let (isp_ns, cpe_ns) = (isp.name(), cpe.name());
    netns::ip(&[
        "link", "add", ISP_IF, "netns", isp_ns, "type", "veth", "peer", "name", WAN_IF, "netns",
        cpe_ns,
    ]);
    isp.ip(&["addr", "add", &format!("{ISP_V4}/24"), "dev", ISP_IF]);
    isp.ip(&[
        "addr",
        "add",
        &format!("{ISP_V6}/64"),
        "dev",
        ISP_IF,
        "nodad",
    ]);
    // No duplicate address detection in the lab: a tentative link-local address keeps Kea
    // DHCPv6 and dibbler-client from binding their sockets for a second or two.
    isp.run_ok(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{ISP_IF}.accept_dad=0"),
    ]);
    cpe.run_ok(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{WAN_IF}.accept_dad=0"),
    ]);
    isp.ip(&["link", "set", ISP_IF, "up"]);
    cpe.ip(&["link", "set", WAN_IF, "address", WAN_MAC, "up"]);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
