//! Who may use the shield's control socket: `dhcpmgrctl shield status` run as a user listed in
//! `control_uids` is answered, as an unlisted user it is refused, and the socket file's mode
//! lets the listed user connect at all (0666; 0600 when nobody besides root is listed). Slow
//! requests are cut off at the request deadline, and while listed users' connections hold every
//! other slot, root still gets in. Needs root to act as other users; skipped otherwise.

// Test code: a failed `unwrap`/`expect` is a failed test with its message; `unsafe` is
// only the libc calls (setns, kill, raw sockets) the lab needs.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dhcpmgr_shield::server;
use dhcpmgr_shield::state::Shared;
use dhcpmgr_shield::ShieldConfig;

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
    let shared = Shared::standalone(&cfg, dir.path()).expect("standalone shield state");
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

    shared.stop.cancel();
    thread.join().expect("the accept loop ends");
    std::thread::sleep(Duration::from_millis(10));
    assert!(
        !socket.exists(),
        "the socket is removed when the shield stops"
    );
}

/// Runs `f` on a thread of its own whose credentials are `uid` (setresuid on that thread only,
/// as the raw system call does), so the socket sees a connection from `uid`.
fn as_uid<T: Send + 'static>(uid: u32, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    std::thread::spawn(move || {
        // SAFETY: the raw system call changes only the calling thread's credentials.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
        assert_eq!(rc, 0, "setresuid: {}", std::io::Error::last_os_error());
        f()
    })
}

/// One request line from a fresh connection and the answer line.
fn ask(socket: &Path, request: &str) -> String {
    let mut stream = UnixStream::connect(socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.write_all(format!("{request}\n").as_bytes());
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

/// Connects and sends one byte every 300 ms, never a whole line; returns the answer line and
/// how long after connecting it came.
fn trickle(socket: &Path) -> (String, Duration) {
    let mut stream = UnixStream::connect(socket).expect("connect");
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        if stream.write_all(b" ").is_err() {
            break;
        }
        match reader.read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => break,
            Ok(0) => break,
            _ => {}
        }
    }
    (line, start.elapsed())
}

#[test]
fn slow_requests_are_cut_off_and_root_keeps_a_slot() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to connect as other users");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the temp dir");
    let socket = dir.path().join("shield.sock");
    let cfg = ShieldConfig {
        control_uids: vec![LISTED],
        ..ShieldConfig::default()
    };
    // 8 short requests + 4 streams: 12 slots, the last one root's.
    let slots = 8 + cfg.max_subscribers;
    let listener = server::bind(&socket, &cfg.control_uids).expect("bind");
    let shared = Shared::standalone(&cfg, dir.path()).expect("standalone shield state");
    let thread = {
        let (shared, socket) = (shared.clone(), socket.clone());
        std::thread::spawn(move || server::run(shared, listener, socket))
    };

    let tricklers: Vec<_> = (0..slots - 1)
        .map(|_| {
            let socket = socket.clone();
            as_uid(LISTED, move || trickle(&socket))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let status = r#"{"cmd":"status"}"#;
    let listed = {
        let socket = socket.clone();
        as_uid(LISTED, move || ask(&socket, status))
            .join()
            .expect("the listed user's request")
    };
    assert!(
        listed.contains("too many connections"),
        "a listed user got a slot while slow connections held all theirs: {listed}"
    );
    let root = ask(&socket, status);
    assert!(
        root.contains("\"ok\":true"),
        "root was locked out by slow connections: {root}"
    );

    for t in tricklers {
        let (answer, after) = t.join().expect("a slow connection");
        assert!(
            answer.contains("did not arrive in time"),
            "a slow request was not cut off: {answer:?} after {after:?}"
        );
        assert!(
            after < Duration::from_secs(5),
            "a slow request held its slot for {after:?} (deadline {:?})",
            server::REQUEST_DEADLINE
        );
    }
    let again = {
        let socket = socket.clone();
        as_uid(LISTED, move || ask(&socket, status))
            .join()
            .expect("the listed user's request")
    };
    assert!(again.contains("\"ok\":true"), "slots not freed: {again}");

    shared.stop.cancel();
    thread.join().expect("the accept loop ends");
}
