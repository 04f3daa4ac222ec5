//! Processes over time: a client that keeps dying, and many clients stopping at once.

use super::*;

#[tokio::test]
async fn a_client_that_keeps_dying_on_a_ready_interface_ends_in_error() {
    let mut h = Harness::new();
    h.ready();
    let (mut set, instance) = v4_set(&mut h, v4_settings("")).await;
    set.on_report(
        instance,
        crate::controller::supervisor::Report::GaveUp { failures: 8 },
        &h.svc,
    );
    let updates = h.updates();
    assert_eq!(last_v4(&updates).status, ClientStatus::Error);
    assert!(events(&updates).contains(&EventKind::ClientFailed));
}

#[tokio::test]
async fn eight_clients_slow_to_stop_all_stop_within_the_units_stop_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (reports, mut rx) = mpsc::unbounded_channel();
    let processes = crate::controller::services::Supervised { reports };
    let mut supervisors = Vec::new();
    for n in 0..8 {
        let spec = crate::controller::supervisor::LaunchSpec {
            program: "/bin/sh".into(),
            // Ignores SIGTERM: each needs the whole grace period and then SIGKILL.
            args: vec![
                "-c".into(),
                "trap '' TERM; while :; do sleep 1; done".into(),
            ],
            env: Vec::new(),
            pid_file: dir.path().join(format!("client-{n}.pid")),
            cmdline_marker: "sh".into(),
            stop: crate::controller::supervisor::StopStyle {
                keep_lease: nix::sys::signal::Signal::SIGTERM,
                release: nix::sys::signal::Signal::SIGUSR2,
            },
        };
        supervisors.push(processes.start(
            ClientKey::V4(Instance(n)),
            std::sync::Arc::new(std::sync::Mutex::new(spec)),
        ));
    }
    let mut pids = Vec::new();
    while pids.len() < 8 {
        let (_, report) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("every client starts")
            .expect("reports flow");
        if let crate::controller::supervisor::Report::Started { pid } = report {
            pids.push(pid);
        }
    }
    // systemd's TimeoutStopSec=20s for the whole daemon.
    tokio::time::timeout(
        Duration::from_secs(20),
        crate::controller::stop_together(supervisors),
    )
    .await
    .expect("all clients stop within the unit's stop timeout");
    for pid in pids {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
        assert!(
            nix::sys::signal::kill(pid, None).is_err(),
            "client {pid} still runs"
        );
    }
}
