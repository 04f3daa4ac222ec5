//! SIGHUP on the real daemon with keys that are read only at start: the reload applies what it
//! can and names the rest in systemd's STATUS= and in a warning, instead of ignoring them.
//! Needs no root: the bus is an address nobody listens on and no client is configured.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DAEMON: &str = env!("CARGO_BIN_EXE_dhcpmgr");

/// Kills the child if the test ends early.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_config(dir: &Path, table_limit: u32, sysevent: &str) {
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
    write_config(dir.path(), 32, "");
    let socket_path = dir.path().join("notify");
    let manager = UnixDatagram::bind(&socket_path).unwrap();
    manager
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
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
    let recv = || {
        let mut buf = [0u8; 1024];
        let n = manager
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no notification from the daemon: {e}"));
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = recv();
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");

    write_config(dir.path(), 8, "/bin/true");
    kill(pid, Signal::SIGHUP).unwrap();
    assert_eq!(recv(), "STATUS=reloading configuration");
    assert_eq!(
        recv(),
        "STATUS=running: 0 DHCPv4, 0 DHCPv6 client(s) configured; \
         restart needed for dbus.table_limit, sysevent.command"
    );

    // Back to the values the daemon runs with: nothing waits any more.
    write_config(dir.path(), 32, "");
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
