//! The daemon under test: its TOML config (docs/configuration.md) and the running `dhcpmgr` process.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::process::{log_tail, Guarded};
use crate::WAN_IF;

/// A `dhcpmgr` config; [`crate::Lab::daemon_config`] fills in the lab's paths, bus and
/// sysevent recorder plus one `wan` client on `erouter0`. Change fields, then write it with
/// [`crate::Lab::write_daemon_config`].
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    /// Further `[daemon]` lines, verbatim (e.g. `log_level = "debug"`).
    pub daemon_extra: String,
    /// `[dbus] bus`.
    pub bus: String,
    /// `[sysevent] command`; empty disables sysevents.
    pub sysevent_command: String,
    /// `[[dhcpv4.client]]` tables.
    pub v4_clients: Vec<V4Client>,
    /// Appended verbatim (e.g. `[[dhcpv6.client]]` or `[shield]` tables).
    pub extra_toml: String,
}

/// One `[[dhcpv4.client]]` table.
#[derive(Clone, Debug)]
pub struct V4Client {
    pub alias: String,
    pub interface: String,
    pub enable: bool,
    pub request_options: Vec<u8>,
    pub sent_options: Vec<SentOption>,
    /// Further lines of this table, verbatim.
    pub extra: String,
}

impl V4Client {
    /// The gateway's WAN client: alias `wan` on `erouter0`, enabled, requesting the options of
    /// the docs/configuration.md defaults plus 26 (MTU), sending none.
    pub fn wan() -> V4Client {
        V4Client {
            alias: "wan".into(),
            interface: WAN_IF.into(),
            enable: true,
            request_options: vec![1, 3, 6, 15, 26, 28, 42, 121, 125],
            sent_options: Vec::new(),
            extra: String::new(),
        }
    }
}

/// An option the client sends: `tag` and its value as lowercase hex.
#[derive(Clone, Debug)]
pub struct SentOption {
    pub tag: u8,
    pub value: String,
}

impl DaemonConfig {
    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        // A JSON string literal is a valid TOML basic string (same escapes).
        let s = |v: &str| serde_json::Value::from(v).to_string();
        let p = |v: &Path| s(&v.to_string_lossy());
        let mut t = format!(
            "[daemon]\nstate_dir = {}\nrun_dir = {}\n{}\n[dbus]\nbus = {}\n\n[sysevent]\ncommand = {}\n",
            p(&self.state_dir),
            p(&self.run_dir),
            lines(&self.daemon_extra),
            s(&self.bus),
            s(&self.sysevent_command)
        );
        for c in &self.v4_clients {
            let requested: Vec<String> = c.request_options.iter().map(u8::to_string).collect();
            let sent: Vec<String> = c
                .sent_options
                .iter()
                .map(|o| format!("{{ tag = {}, value = {} }}", o.tag, s(&o.value)))
                .collect();
            let _ = write!(
                t,
                "\n[[dhcpv4.client]]\nalias = {}\ninterface = {}\nenable = {}\nrequest_options = [{}]\nsent_options = [{}]\n{}",
                s(&c.alias),
                s(&c.interface),
                c.enable,
                requested.join(", "),
                sent.join(", "),
                lines(&c.extra)
            );
        }
        if !self.extra_toml.is_empty() {
            t.push('\n');
            t.push_str(&lines(&self.extra_toml));
        }
        t
    }
}

/// `text` as whole lines (a final newline added if missing).
fn lines(text: &str) -> String {
    match text {
        "" => String::new(),
        t if t.ends_with('\n') => t.to_owned(),
        t => format!("{t}\n"),
    }
}

/// A running `dhcpmgr` (inside the CPE namespace). Dropping it kills it.
pub struct DaemonProcess {
    pub(crate) process: Guarded,
    pub(crate) log: PathBuf,
}

impl DaemonProcess {
    /// The daemon's pid (`ip netns exec` execs it, so this is dhcpmgr itself).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    /// Sends `sig` (e.g. `Signal::SIGHUP` to reload); nothing if it has exited.
    pub fn signal(&mut self, sig: Signal) {
        self.process.signal(sig);
    }

    /// SIGTERM, then waits up to 10 s for the orderly stop; returns the exit status. Panics with
    /// the log tail if it does not stop in time.
    pub fn terminate(mut self) -> ExitStatus {
        match self.process.stop(Signal::SIGTERM, Duration::from_secs(10)) {
            Some(status) => status,
            None => panic!(
                "dhcpmgr did not exit within 10 s of SIGTERM\n{}",
                self.log_tail()
            ),
        }
    }

    /// SIGKILL (a crash, as far as the daemon can tell); returns the exit status.
    pub fn sigkill(mut self) -> ExitStatus {
        self.process
            .stop(Signal::SIGKILL, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("dhcpmgr (pid {}) survived SIGKILL", self.pid()))
    }

    /// The daemon's log (stdout and stderr of every start in this lab).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last 40 lines of the log, framed for a panic message.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_design_toml() {
        let mut wan = V4Client::wan();
        wan.sent_options.push(SentOption {
            tag: 60,
            value: "6c6162".into(),
        });
        wan.extra = "client_id = \"01aa\"".into();
        let config = DaemonConfig {
            state_dir: "/tmp/l/state".into(),
            run_dir: "/tmp/l/run".into(),
            daemon_extra: "log_level = \"debug\"\n".into(),
            bus: "unix:path=/tmp/l/bus.sock".into(),
            sysevent_command: "/tmp/l/bin/sysevent".into(),
            v4_clients: vec![wan],
            extra_toml: "[shield]\nenable = false".into(),
        };
        assert_eq!(
            config.to_toml(),
            r#"[daemon]
state_dir = "/tmp/l/state"
run_dir = "/tmp/l/run"
log_level = "debug"

[dbus]
bus = "unix:path=/tmp/l/bus.sock"

[sysevent]
command = "/tmp/l/bin/sysevent"

[[dhcpv4.client]]
alias = "wan"
interface = "erouter0"
enable = true
request_options = [1, 3, 6, 15, 26, 28, 42, 121, 125]
sent_options = [{ tag = 60, value = "6c6162" }]
client_id = "01aa"

[shield]
enable = false
"#
        );
    }
}
