//! Child processes that cannot outlive the lab: spawned with a parent-death signal, killed and
//! reaped on drop, plus small helpers for polling and log tails.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How often the harness polls for a condition.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// A child process that is killed (SIGKILL) and reaped when dropped.
pub(crate) struct Guarded(pub(crate) Child);

impl Guarded {
    /// Spawns `cmd` in its own process group (a terminal's Ctrl-C is for the harness, which then
    /// stops its children in order). The child gets SIGKILL if the spawning thread dies (e.g.
    /// the test binary is killed), so even an aborted run leaves no daemons behind; `ip netns
    /// exec` execs its target, which keeps that setting.
    #[allow(unsafe_code)]
    pub(crate) fn spawn(cmd: &mut Command, what: &str) -> Guarded {
        cmd.process_group(0);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no parent state.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        Guarded(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}")),
        )
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }

    /// The exit status if the process has exited (it is then reaped).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.0.try_wait().ok().flatten()
    }

    /// Sends `sig` unless the process has already exited and been reaped.
    pub(crate) fn signal(&mut self, sig: Signal) {
        if self.exited().is_none() {
            let _ = kill(Pid::from_raw(self.pid() as i32), sig);
        }
    }

    /// Sends `sig` and waits up to `timeout` for the exit; `None` if it is still running.
    pub(crate) fn stop(&mut self, sig: Signal, timeout: Duration) -> Option<ExitStatus> {
        self.signal(sig);
        let mut status = None;
        poll(timeout, || {
            status = self.exited();
            status.is_some()
        });
        status
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Calls `cond` every [`POLL`] until it returns true (→ true) or `timeout` passes (→ false).
pub(crate) fn poll(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(POLL);
    }
}

/// The last `lines` lines of a log file, framed for a panic message.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let tail = all[all.len().saturating_sub(lines)..].join("\n");
            format!(
                "--- last {lines} lines of {} ---\n{tail}\n---",
                path.display()
            )
        }
        Err(e) => format!("--- {} not readable: {e} ---", path.display()),
    }
}
