//! Supervision of one DHCP client process: start it, notice its exit at once (the task awaits
//! the child), restart it with exponential backoff, give up on a client that keeps dying, and
//! carry out signals and orderly stops. Children are always reaped: no zombies.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout, Instant};

/// When and how often a dying client is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RestartPolicy {
    /// First restart delay; doubles on each quick failure up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A client that ran this long is healthy again: its failure count resets.
    pub stable_after: Duration,
    /// Consecutive quick failures after which the client is reported as `Error`.
    pub max_quick_failures: u32,
}

impl Default for RestartPolicy {
    /// 1 s doubling to 60 s, reset after a stable minute, give up after 8 quick failures.
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            max_quick_failures: 8,
        }
    }
}

impl RestartPolicy {
    /// The delay before restart number `failures` (1-based).
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.min_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// How long a stopping client gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long a releasing client gets to send its RELEASE and run its script.
const RELEASE_GRACE: Duration = Duration::from_secs(2);

/// How to start the client; the controller updates it (e.g. the address to request again),
/// and every (re)start reads the current value.
#[derive(Debug, Clone)]
pub(crate) struct LaunchSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, OsString)>,
    /// Where the client writes its pid, so that one left by a killed daemon can be found.
    pub pid_file: PathBuf,
    /// A word in the command line of such a leftover client (e.g. `udhcpc`), checked before
    /// the pid from the file is signalled.
    pub cmdline_marker: String,
    pub stop: StopStyle,
}

/// How a client is stopped with and without giving its lease back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StopStyle {
    /// Stops the client and leaves the lease with the server (udhcpc without `-R`: SIGTERM;
    /// dibbler-client: SIGKILL, because its SIGTERM sends a RELEASE).
    pub keep_lease: Signal,
    /// Makes the client release its lease (udhcpc: SIGUSR2, then it idles until stopped;
    /// dibbler-client: SIGTERM, then it exits by itself).
    pub release: Signal,
}

pub(crate) type SharedLaunchSpec = Arc<Mutex<LaunchSpec>>;

/// Requests to a running supervisor.
#[derive(Debug)]
pub(crate) enum Request {
    /// Deliver a signal to the client (renew: SIGUSR1).
    Signal(Signal),
    /// The controller has seen the release's deconfig: the client may be stopped now.
    ReleaseSeen,
    /// Stop and start the client again now, forgetting past failures.
    Restart,
    /// Stop the client (after a release when asked) and end supervision.
    Stop {
        release: bool,
        done: oneshot::Sender<()>,
    },
}

/// What a supervisor reports, tagged with the client's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    Started { pid: u32 },
    Exited { status: String, quick: bool },
    GaveUp { failures: u32 },
    Stopped,
}

/// The controller's side of one supervisor.
#[derive(Debug, Clone)]
pub(crate) struct Supervisor {
    requests: mpsc::UnboundedSender<Request>,
}

impl Supervisor {
    /// Starts supervising on the current runtime; reports go to `reports` tagged with `key`.
    pub(crate) fn start<K: Clone + Send + Sync + 'static>(
        key: K,
        spec: SharedLaunchSpec,
        policy: RestartPolicy,
        reports: mpsc::UnboundedSender<(K, Report)>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(spec, policy, rx, move |r| {
            let _ = reports.send((key.clone(), r));
        }));
        Self { requests: tx }
    }

    /// A supervisor whose requests go to `requests`: a test stands in for the process.
    #[cfg(test)]
    pub(crate) fn stand_in(requests: mpsc::UnboundedSender<Request>) -> Self {
        Self { requests }
    }

    pub(crate) fn request(&self, request: Request) {
        if self.requests.send(request).is_err() {
            tracing::debug!("supervisor already ended; request dropped");
        }
    }

    /// Stops the client and waits until it is gone.
    pub(crate) async fn stop(&self, release: bool) {
        let (done, finished) = oneshot::channel();
        self.request(Request::Stop { release, done });
        let _ = finished.await;
    }
}

enum Outcome {
    Exited,
    Restart,
    Stop(oneshot::Sender<()>),
}

async fn supervise(
    spec: SharedLaunchSpec,
    policy: RestartPolicy,
    mut requests: mpsc::UnboundedReceiver<Request>,
    report: impl Fn(Report),
) {
    stop_stale_client(&lock(&spec)).await;
    let mut failures = 0u32;
    loop {
        let launch = lock(&spec).clone();
        let started = Instant::now();
        let outcome = match spawn(&launch) {
            Ok(mut child) => {
                report(Report::Started {
                    pid: child.id().unwrap_or(0),
                });
                let outcome = run_until_exit(&mut child, launch.stop, &mut requests).await;
                if matches!(outcome, Outcome::Exited) {
                    let status = match child.wait().await {
                        Ok(s) => s.to_string(),
                        Err(e) => format!("unknown ({e})"),
                    };
                    let quick = started.elapsed() < policy.stable_after;
                    tracing::warn!(program = %launch.program.display(), %status, quick, "DHCP client exited");
                    report(Report::Exited { status, quick });
                }
                outcome
            }
            Err(e) => {
                tracing::error!(program = %launch.program.display(), error = %e, "cannot start DHCP client");
                report(Report::Exited {
                    status: format!("could not start: {e}"),
                    quick: true,
                });
                Outcome::Exited
            }
        };
        let _ = std::fs::remove_file(&launch.pid_file);
        match outcome {
            Outcome::Stop(done) => {
                report(Report::Stopped);
                let _ = done.send(());
                return;
            }
            Outcome::Restart => failures = 0,
            Outcome::Exited => {
                failures = if started.elapsed() < policy.stable_after {
                    failures + 1
                } else {
                    1
                };
                let wait = if failures >= policy.max_quick_failures {
                    report(Report::GaveUp { failures });
                    None
                } else {
                    Some(policy.backoff(failures))
                };
                match idle(wait, &mut requests).await {
                    Some(Outcome::Stop(done)) => {
                        report(Report::Stopped);
                        let _ = done.send(());
                        return;
                    }
                    Some(Outcome::Restart) => failures = 0,
                    _ => {}
                }
            }
        }
    }
}

fn lock(spec: &SharedLaunchSpec) -> LaunchSpec {
    match spec.lock() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn spawn(launch: &LaunchSpec) -> std::io::Result<Child> {
    Command::new(&launch.program)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

/// Serves requests while the child runs; returns when it exits or must stop.
async fn run_until_exit(
    child: &mut Child,
    stop: StopStyle,
    requests: &mut mpsc::UnboundedReceiver<Request>,
) -> Outcome {
    loop {
        tokio::select! {
            _ = child.wait() => return Outcome::Exited,
            request = requests.recv() => match request {
                Some(Request::Signal(signal)) => send_signal(child, signal),
                Some(Request::ReleaseSeen) => {}
                Some(Request::Restart) => {
                    terminate(child, stop.keep_lease).await;
                    return Outcome::Restart;
                }
                Some(Request::Stop { release, done }) => {
                    if release {
                        send_signal(child, stop.release);
                        wait_for_release(child, requests).await;
                    }
                    terminate(child, stop.keep_lease).await;
                    return Outcome::Stop(done);
                }
                None => {
                    terminate(child, stop.keep_lease).await;
                    let (done, _) = oneshot::channel();
                    return Outcome::Stop(done);
                }
            },
        }
    }
}

/// Waits out a backoff (or, with `None`, until asked) while honouring requests.
async fn idle(
    wait: Option<Duration>,
    requests: &mut mpsc::UnboundedReceiver<Request>,
) -> Option<Outcome> {
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        let request = match deadline {
            Some(d) => {
                match timeout(d.saturating_duration_since(Instant::now()), requests.recv()).await {
                    Ok(r) => r,
                    Err(_) => return None,
                }
            }
            None => requests.recv().await,
        };
        match request {
            Some(Request::Stop { done, .. }) => return Some(Outcome::Stop(done)),
            Some(Request::Restart) => return Some(Outcome::Restart),
            Some(Request::Signal(_) | Request::ReleaseSeen) => continue,
            None => {
                let (done, _) = oneshot::channel();
                return Some(Outcome::Stop(done));
            }
        }
    }
}

async fn wait_for_release(child: &mut Child, requests: &mut mpsc::UnboundedReceiver<Request>) {
    let deadline = sleep(RELEASE_GRACE);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = child.wait() => return,
            request = requests.recv() => match request {
                Some(Request::ReleaseSeen) | None => return,
                Some(_) => continue,
            },
        }
    }
}

fn send_signal(child: &Child, signal: Signal) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        if let Err(e) = kill(Pid::from_raw(pid), signal) {
            tracing::warn!(pid, ?signal, error = %e, "cannot signal DHCP client");
        }
    }
}

/// `signal`, then SIGKILL after a grace period; always reaps.
async fn terminate(child: &mut Child, signal: Signal) {
    send_signal(child, signal);
    if timeout(STOP_GRACE, child.wait()).await.is_err() {
        tracing::warn!(?signal, "DHCP client did not stop; killing it");
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Whether `pid` still runs: a zombie (dead, waiting for its new parent, often init, to reap
/// it) does not.
fn running(pid: i32) -> bool {
    let alive = kill(Pid::from_raw(pid), None).is_ok();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    });
    alive && !zombie
}

/// A client left running by a previous daemon (killed before it could stop it) would fight
/// the new one for the interface: stop it first, keeping its lease.
async fn stop_stale_client(launch: &LaunchSpec) {
    stop_left_over(
        &launch.pid_file,
        &launch.cmdline_marker,
        launch.stop.keep_lease,
    )
    .await;
}

/// Stops the process named by `pid_file` if its command line contains `cmdline_marker` (a
/// reused pid is never signalled), with `keep_lease` first and SIGKILL after a grace period,
/// and removes the pid file. It is not our child, so this polls for its end.
pub(crate) async fn stop_left_over(pid_file: &Path, cmdline_marker: &str, keep_lease: Signal) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|&p| p > 1)
    else {
        let _ = std::fs::remove_file(pid_file);
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !String::from_utf8_lossy(&cmdline).contains(cmdline_marker) {
        let _ = std::fs::remove_file(pid_file);
        return;
    }
    tracing::info!(pid, pid_file = %pid_file.display(), "stopping DHCP client left by a previous daemon");
    let target = Pid::from_raw(pid);
    for signal in [keep_lease, Signal::SIGKILL] {
        if kill(target, signal).is_err() {
            break;
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && running(pid) {
            sleep(Duration::from_millis(20)).await;
        }
        if !running(pid) {
            break;
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute() {
        let policy = RestartPolicy::default();
        let secs: Vec<u64> = (1..=9).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.backoff(0).as_secs(), 1);
        assert_eq!(policy.backoff(u32::MAX).as_secs(), 60);
    }

    fn spec(program: &str, args: &[&str], dir: &Path) -> SharedLaunchSpec {
        Arc::new(Mutex::new(LaunchSpec {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            pid_file: dir.join("client.pid"),
            cmdline_marker: program.to_string(),
            stop: StopStyle {
                keep_lease: Signal::SIGTERM,
                release: Signal::SIGUSR2,
            },
        }))
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<((), Report)>) -> Report {
        timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("supervisor report in time")
            .expect("supervisor alive")
            .1
    }

    #[tokio::test]
    async fn restarts_a_dying_client_and_stops_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sup = Supervisor::start(
            (),
            spec("/bin/sh", &["-c", "exit 3"], dir.path()),
            RestartPolicy::default(),
            tx,
        );
        assert!(matches!(next(&mut rx).await, Report::Started { .. }));
        match next(&mut rx).await {
            Report::Exited { status, quick } => {
                assert!(status.contains('3'), "{status}");
                assert!(quick);
            }
            other => panic!("expected exit, got {other:?}"),
        }
        assert!(matches!(next(&mut rx).await, Report::Started { .. }));
        sup.stop(false).await;
    }

    #[tokio::test]
    async fn stop_terminates_a_running_client_and_reaps_it() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sup = Supervisor::start(
            (),
            spec("/bin/sleep", &["30"], dir.path()),
            RestartPolicy::default(),
            tx,
        );
        let Report::Started { pid } = next(&mut rx).await else {
            panic!("expected start");
        };
        sup.stop(false).await;
        assert_eq!(next(&mut rx).await, Report::Stopped);
        let alive = kill(Pid::from_raw(pid as i32), None).is_ok();
        assert!(!alive, "child {pid} still exists (zombie or running)");
    }

    #[tokio::test]
    async fn gives_up_on_a_client_that_keeps_dying_until_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let policy = RestartPolicy {
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            stable_after: Duration::from_secs(60),
            max_quick_failures: 3,
        };
        let sup = Supervisor::start((), spec("/bin/false", &[], dir.path()), policy, tx);
        let mut starts = 0;
        loop {
            match next(&mut rx).await {
                Report::Started { .. } => starts += 1,
                Report::Exited { quick, .. } => assert!(quick),
                Report::GaveUp { failures } => {
                    assert_eq!(failures, 3);
                    break;
                }
                Report::Stopped => panic!("stopped unexpectedly"),
            }
        }
        assert_eq!(starts, 3);
        assert!(
            timeout(Duration::from_millis(300), rx.recv())
                .await
                .is_err(),
            "no restart after giving up"
        );
        sup.request(Request::Restart);
        assert!(matches!(next(&mut rx).await, Report::Started { .. }));
        sup.stop(false).await;
    }
}
