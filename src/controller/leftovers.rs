//! What a previous daemon left behind that the configuration no longer wants: DHCP client
//! processes still running from `run_dir` (udhcpc's pid file `udhcpc-<alias>.pid`, dibbler's
//! work directory `dibbler-<alias>/` with its `client.pid`) for clients that are not to run,
//! and the state records (`v4-<alias>.json`, `v6-<alias>.json` in `state_dir`) of clients the
//! configuration no longer has. Finding them is file reading only; the controller stops the
//! processes (keeping the lease with the server) and takes the addresses of disabled and
//! removed clients off the interface.

use std::path::{Path, PathBuf};

use super::services::Services;
use super::supervisor::stop_left_over;
use super::v4_client::{V4State, UDHCPC_STOP};
use super::v6_client::{V6State, DIBBLER_STOP};
use crate::model::Family;
use crate::sysevent::SysEvents;

/// A client process a previous daemon started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LeftoverProcess {
    pub family: Family,
    pub alias: String,
    pub pid_file: PathBuf,
}

/// The client processes in `run_dir` whose client must not run: `wanted(family, alias)` says
/// which clients are to run. Sorted by path.
pub(super) fn processes(
    run_dir: &Path,
    wanted: impl Fn(Family, &str) -> bool,
) -> Vec<LeftoverProcess> {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return Vec::new();
    };
    let mut out: Vec<LeftoverProcess> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if let Some(alias) = name
                .strip_prefix("udhcpc-")
                .and_then(|rest| rest.strip_suffix(".pid"))
            {
                return Some(LeftoverProcess {
                    family: Family::V4,
                    alias: alias.to_owned(),
                    pid_file: entry.path(),
                });
            }
            let alias = name.strip_prefix("dibbler-")?;
            Some(LeftoverProcess {
                family: Family::V6,
                alias: alias.to_owned(),
                pid_file: entry.path().join("client.pid"),
            })
        })
        .filter(|p| p.pid_file.is_file() && !wanted(p.family, &p.alias))
        .collect();
    out.sort_by(|a, b| a.pid_file.cmp(&b.pid_file));
    out
}

/// The clients with a state record in `state_dir` that `known(family, alias)` does not know.
pub(super) fn state_records(
    state_dir: &Path,
    known: impl Fn(Family, &str) -> bool,
) -> Vec<(Family, String)> {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Vec::new();
    };
    let mut out: Vec<(Family, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".json")?;
            let (family, alias) = match (stem.strip_prefix("v4-"), stem.strip_prefix("v6-")) {
                (Some(alias), _) => (Family::V4, alias),
                (_, Some(alias)) => (Family::V6, alias),
                _ => return None,
            };
            (!known(family, alias)).then(|| (family, alias.to_owned()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// At start: stops every client process of a previous daemon that `running` says must not
/// run (keeping its lease with the server: the configuration may enable it again), and for
/// every client with state that `known` does not know (removed from the configuration while
/// the daemon was down) takes its addresses off the interface, clears its system events and
/// forgets its state, as a removal at run time does.
pub(super) async fn sweep(
    svc: &Services,
    running: impl Fn(Family, &str) -> bool,
    known: impl Fn(Family, &str) -> bool,
) {
    for left in processes(&svc.run_dir, running) {
        let (marker, signal) = match left.family {
            Family::V4 => ("udhcpc", UDHCPC_STOP.keep_lease),
            Family::V6 => ("dibbler", DIBBLER_STOP.keep_lease),
        };
        tracing::info!(client = %left.alias, pid_file = %left.pid_file.display(), "a DHCP client the configuration does not want running is left from a previous daemon");
        stop_left_over(&left.pid_file, marker, signal).await;
    }
    for (family, alias) in state_records(svc.store.dir(), known) {
        tracing::info!(client = %alias, ?family, "client removed from the configuration while the daemon was down: taking its addresses off");
        let name = match family {
            Family::V4 => format!("v4-{alias}"),
            Family::V6 => format!("v6-{alias}"),
        };
        match family {
            Family::V4 => take_down_v4(svc, &alias, &name).await,
            Family::V6 => {
                take_down_v6(svc, &alias, &name).await;
                let _ = std::fs::remove_dir_all(svc.run_dir.join(format!("dibbler-{alias}")));
            }
        }
        svc.sysevents.desire(&name, "", SysEvents::new());
        if let Err(e) = svc.store.remove(&name) {
            tracing::warn!(client = %alias, error = %e, "cannot delete the removed client's state");
        }
    }
}

async fn take_down_v4(svc: &Services, alias: &str, name: &str) {
    let state: V4State = svc.store.load_or_default(name, alias);
    let (Some(held), Some(interface)) = (state.held, state.interface) else {
        return;
    };
    if let Err(e) = svc.net.del_v4(&interface, held.addr()).await {
        tracing::warn!(client = %alias, %interface, error = %e, "cannot remove the removed client's address");
    }
}

async fn take_down_v6(svc: &Services, alias: &str, name: &str) {
    let state: V6State = svc.store.load_or_default(name, alias);
    let Some(interface) = state.interface else {
        return;
    };
    for held in &state.held.addresses {
        if let Err(e) = svc.net.del_v6(&interface, held.lease.address).await {
            tracing::warn!(client = %alias, %interface, error = %e, "cannot remove the removed client's address");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, "1234\n").unwrap();
    }

    #[test]
    fn finds_the_processes_of_clients_that_must_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        touch(&run.join("udhcpc-wan.pid"));
        touch(&run.join("udhcpc-old.pid"));
        touch(&run.join("dibbler-wan6/client.pid"));
        touch(&run.join("dibbler-gone6/client.pid"));
        std::fs::create_dir_all(run.join("dibbler-stopped6")).unwrap();
        std::fs::create_dir_all(run.join("spool")).unwrap();
        touch(&run.join("ipc.sock"));
        let wanted = |family: Family, alias: &str| {
            matches!((family, alias), (Family::V4, "wan") | (Family::V6, "wan6"))
        };
        let found = processes(run, wanted);
        assert_eq!(
            found,
            [
                LeftoverProcess {
                    family: Family::V6,
                    alias: "gone6".into(),
                    pid_file: run.join("dibbler-gone6/client.pid"),
                },
                LeftoverProcess {
                    family: Family::V4,
                    alias: "old".into(),
                    pid_file: run.join("udhcpc-old.pid"),
                },
            ]
        );
        assert!(processes(&run.join("absent"), wanted).is_empty());
    }

    #[test]
    fn finds_the_state_of_clients_the_configuration_no_longer_has() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path();
        for name in [
            "v4-wan.json",
            "v4-old.json",
            "v6-wan6.json",
            "v6-gone6.json",
            "overrides.json",
            "sysevents.json",
            "v4-wan.json.corrupt",
        ] {
            touch(&state.join(name));
        }
        let known = |family: Family, alias: &str| {
            matches!((family, alias), (Family::V4, "wan") | (Family::V6, "wan6"))
        };
        assert_eq!(
            state_records(state, known),
            [
                (Family::V6, "gone6".to_string()),
                (Family::V4, "old".to_string())
            ]
        );
    }
}
