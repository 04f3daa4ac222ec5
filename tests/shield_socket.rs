//! Who may use the shield's control socket: `dhcpmgrctl shield status` run as a user listed in
//! `control_uids` is answered, as an unlisted user it is refused, and the socket file's mode
//! lets the listed user connect at all (0666; 0600 when nobody besides root is listed). Needs
//! root to run the client as other users; skipped otherwise.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::Duration;

use dhcpmgr::config::ShieldConfig;
use dhcpmgr::shield::server;
use dhcpmgr::shield::state::Shared;

const LISTED: u32 = 4242;
const UNLISTED: u32 = 4243;

fn status_as(uid: u32, socket: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dhcpmgrctl"))
        .args(["shield", "--socket"])
        .arg(socket)
        .arg("status")
        .uid(uid)
        .gid(uid)
        .output()
        .expect("run dhcpmgrctl")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("stat the socket")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn listed_users_are_answered_and_others_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run the client as other users");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The run directory must be reachable by the other users (systemd's is 0755).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the temp dir");
    let socket = dir.path().join("shield.sock");

    let nobody_else = server::bind(&socket, &[]).expect("bind");
    assert_eq!(mode(&socket), 0o600);
    drop(nobody_else);

    let cfg = ShieldConfig {
        control_uids: vec![LISTED],
        ..ShieldConfig::default()
    };
    let listener = server::bind(&socket, &cfg.control_uids).expect("bind");
    assert_eq!(mode(&socket), 0o666);
    let shared = Shared::standalone(&cfg, dir.path());
    let thread = {
        let (shared, socket) = (shared.clone(), socket.clone());
        std::thread::spawn(move || server::run(shared, listener, socket))
    };

    let listed = status_as(LISTED, &socket);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "uid {LISTED} (listed) was not answered: {stdout}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(stdout.contains("counters"), "{stdout}");

    let unlisted = status_as(UNLISTED, &socket);
    let stderr = String::from_utf8_lossy(&unlisted.stderr);
    assert!(!unlisted.status.success(), "uid {UNLISTED} was answered");
    assert!(stderr.contains("permission denied"), "{stderr}");

    let root = status_as(0, &socket);
    assert!(root.status.success());

    shared.stop.store(true, Ordering::Release);
    thread.join().expect("the accept loop ends");
    std::thread::sleep(Duration::from_millis(10));
    assert!(
        !socket.exists(),
        "the socket is removed when the shield stops"
    );
}
