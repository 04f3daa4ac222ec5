//! A private `dbus-daemon` per lab (or per D-Bus test and benchmark), listening on a path socket
//! in a directory of the caller's (path, not abstract, so it is reachable from every network
//! namespace).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::process::{log_tail, Guarded};

/// The running bus daemon; killed when dropped.
pub struct DbusDaemon {
    _process: Guarded,
    address: String,
}

impl DbusDaemon {
    /// [`Self::start`], unless `DHCPMGR_SKIP_LAB=1` is set and `dbus-daemon` is not installed
    /// (then says so and returns `None`).
    pub fn start_or_skip(dir: &Path) -> Option<DbusDaemon> {
        let skip = std::env::var_os("DHCPMGR_SKIP_LAB").is_some_and(|v| v == "1");
        if skip && crate::host::find_on_path("dbus-daemon").is_none() {
            eprintln!("skipping: dbus-daemon is not installed and DHCPMGR_SKIP_LAB=1");
            return None;
        }
        Some(Self::start(dir))
    }

    /// Writes `bus.conf` into `dir`, starts the daemon and waits until it prints its address;
    /// panics with the daemon's log when it cannot.
    pub fn start(dir: &Path) -> DbusDaemon {
        let socket = dir.join("bus.sock");
        let config = dir.join("bus.conf");
        let log = dir.join("dbus.log");
        // Everything is allowed: the lab's callers are root; tests of the daemon's own access
        // rules use the policy in init/, not this bus's.
        let xml = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
            socket.display()
        );
        fs::write(&config, xml).expect("write dbus-daemon config into the lab dir");
        let stderr = fs::File::create(&log).expect("create dbus-daemon log in the lab dir");
        let mut process = Guarded::spawn(
            Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .args(["--nofork", "--print-address"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr),
            "dbus-daemon",
        );
        // --print-address writes one line once the socket is listening; read it on a thread so a
        // hung daemon cannot block the test forever.
        let stdout = process
            .0
            .stdout
            .take()
            .expect("dbus-daemon stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.starts_with("unix:") => DbusDaemon {
                _process: process,
                address: format!("unix:path={}", socket.display()),
            },
            _ => {
                process.stop(Signal::SIGKILL, Duration::from_secs(1));
                panic!("dbus-daemon did not start\n{}", log_tail(&log, 20));
            }
        }
    }

    /// The bus address, `unix:path=<dir>/bus.sock`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self._process.pid()
    }

    /// Whether `name` currently has an owner on the bus.
    pub(crate) fn has_owner(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
            ])
            .args([
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }
}
