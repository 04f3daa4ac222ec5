//! The lab for `dhcpmgr-shield-web`'s integration tests: the real daemon with its shield on the
//! LAN bridge (dhcpmgr-lab's namespaces), a LAN client host, and `dhcpmgr-shield-web` started
//! in the gateway's namespace with a given configuration; plus [`in_netns`], which runs a
//! closure on a thread inside a namespace, so a test can reach the LAN address.

#![allow(dead_code)] // each test file uses its own part of this module

pub mod browser;
pub mod certs;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dhcpmgr_lab::{bin, lab_or_skip, DaemonProcess, Lab, Lan, LanHost, LAN_BRIDGE};

pub const CLIENT_MAC: &str = "02:00:00:00:0b:01";
pub const SERVER_MAC: &str = "02:00:00:00:0b:53";

/// The daemon's side of the lab.
pub struct ShieldLab {
    pub lan: Lan,
    pub client: LanHost,
    pub socket: PathBuf,
    pub daemon: DaemonProcess,
    pub lab: Lab,
}

/// Builds the lab and starts the daemon with `[shield]` on the bridge plus `shield_extra`.
pub fn shield_lab(shield_extra: &str) -> Option<ShieldLab> {
    let lab = lab_or_skip()?;
    let mut lan = lab.lan();
    let client = lan.host(CLIENT_MAC);
    let mut config = lab.daemon_config();
    config.v4_clients.clear();
    config.extra_toml =
        format!("[shield]\nenable = true\ninterfaces = [\"{LAN_BRIDGE}\"]\n{shield_extra}\n");
    let socket = config.run_dir.join("shield.sock");
    let path = lab.write_daemon_config(&config);
    let daemon = lab.start_daemon(&path);
    lab.wait_until(
        Duration::from_secs(10),
        "the shield's socket exists",
        || socket.exists(),
    );
    Some(ShieldLab {
        lan,
        client,
        socket,
        daemon,
        lab,
    })
}

/// A running `dhcpmgr-shield-web`, killed when dropped.
pub struct WebProgram {
    child: Child,
    pub log: PathBuf,
    pub token_file: PathBuf,
}

impl Drop for WebProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WebProgram {
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(&self.token_file)
            .expect("the web program wrote its token")
            .trim()
            .to_string()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The built `dhcpmgr-shield-web`.
pub fn web_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dhcpmgr-shield-web"))
}

/// Starts `dhcpmgr-shield-web` in the gateway's namespace with `sections` (TOML after the
/// socket and token lines).
pub fn start_web(s: &ShieldLab, sections: &str) -> WebProgram {
    let dir = s.lab.dir();
    let token_file = dir.join("state/shield-web.token");
    let config = dir.join("shield-web.toml");
    std::fs::write(
        &config,
        format!(
            "socket = \"{}\"\ntoken_file = \"{}\"\n{sections}\n",
            s.socket.display(),
            token_file.display()
        ),
    )
    .expect("write the web program's config");
    let log = dir.join("shield-web.log");
    let out = File::create(&log).expect("create the web program's log");
    let err = out.try_clone().expect("clone the log");
    let child = s
        .lab
        .cpe()
        .command(web_binary())
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start dhcpmgr-shield-web");
    WebProgram {
        child,
        log,
        token_file,
    }
}

/// Runs `f` on a thread that has joined network namespace `ns` (sockets it opens live there).
#[allow(unsafe_code)]
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns on this thread only, with a valid namespace descriptor.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "setns into {path}: {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// `dhcpmgrctl shield --socket SOCKET ARGS…`; stdout, panicking on failure.
pub fn ctl(s: &ShieldLab, args: &[&str]) -> String {
    let out = Command::new(bin("dhcpmgrctl"))
        .arg("shield")
        .arg("--socket")
        .arg(&s.socket)
        .args(args)
        .output()
        .expect("run dhcpmgrctl");
    assert!(
        out.status.success(),
        "dhcpmgrctl shield {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where test artifacts (screenshots) go: `<workspace>/target/shield-web-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/shield-web-artifacts");
    std::fs::create_dir_all(&dir).expect("create the artifacts dir");
    dir
}

/// `program`'s path on `PATH`, if there.
pub fn find_program(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
