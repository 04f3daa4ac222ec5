//! A TR-181 write whose persistence fails, with the real daemon: state_dir on a small tmpfs
//! that the test fills. The write is refused with 9002 Internal error and the reason, nothing of
//! it is in force, no temporary file is left behind; once there is room, the same write is
//! applied and stored. A factory reset on a read-only state_dir is refused the same way.
//! Needs root (mount), like the rest of the lab.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Lab};

const ALIAS: &str = "Device.DHCPv4.Client.1.Alias";

/// A tmpfs of `size` mounted on `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).expect("create the mount point");
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test mounts a tmpfs (needs root): mount {status}"
        );
        Tmpfs(dir.to_path_buf())
    }

    /// Remounts the file system read-only (`true`) or read-write.
    fn read_only(&self, read_only: bool) {
        let mode = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let status = Command::new("mount")
            .args(["-o", mode])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -o {mode}: {status}");
    }

    /// Fills the file system: a file that takes every free block.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut file = fs::File::create(&path).expect("create the filler");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `dhcpmgrctl ARGS…`: (succeeded, stderr).
fn ctl(lab: &Lab, args: &[&str]) -> (bool, String) {
    let out = lab
        .ctl_command()
        .args(args)
        .output()
        .expect("run dhcpmgrctl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `dhcpmgrctl set NAME=VALUE`: (succeeded, stderr).
fn set(lab: &Lab, name: &str, value: &str) -> (bool, String) {
    ctl(lab, &["set", &format!("{name}={value}")])
}

fn temporary_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read state_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_write_that_cannot_be_stored_is_refused_whole_and_leaves_no_temporary_file() {
    let Some(lab) = lab_or_skip() else { return };
    let mut config = lab.daemon_config();
    config.state_dir = lab.dir().join("small-state");
    let tmpfs = Tmpfs::mount(&config.state_dir, "256k");
    let path = lab.write_daemon_config(&config);
    let _daemon = lab.start_daemon(&path);
    let before = lab.tr181_value(ALIAS);
    let writes = config.state_dir.join("tr181-writes.json");

    let filler = tmpfs.fill();
    let (ok, stderr) = set(&lab, ALIAS, "isp-uplink");
    assert!(!ok, "a write that cannot be stored is refused");
    assert!(
        stderr.starts_with("org.dhcpmgr.Error.InternalError")
            && stderr.contains("could not be stored")
            && stderr.contains("(CWMP fault 9002)"),
        "{stderr}"
    );
    assert_eq!(lab.tr181_value(ALIAS), before, "nothing of it is in force");
    assert!(!writes.exists(), "nothing stored");
    assert_eq!(temporary_files(&config.state_dir), Vec::<String>::new());

    fs::remove_file(filler).expect("make room");
    let (ok, stderr) = set(&lab, ALIAS, "isp-uplink");
    assert!(ok, "with room the write goes through: {stderr}");
    assert_eq!(lab.tr181_value(ALIAS), "isp-uplink");
    let stored = fs::read_to_string(&writes).expect("the write is stored");
    assert!(stored.contains("isp-uplink"), "{stored}");
    assert_eq!(temporary_files(&config.state_dir), Vec::<String>::new());

    // Rows are writes too: an added or deleted client that cannot be stored is refused whole.
    let clients = "Device.DHCPv4.ClientNumberOfEntries";
    let (ok, stderr) = ctl(&lab, &["add", "Device.DHCPv4.Client."]);
    assert!(ok, "with room a client is added: {stderr}");
    let count = lab.tr181_value(clients);
    let stored = fs::read_to_string(&writes).expect("the writes are stored");
    let filler = tmpfs.fill();
    let (ok, stderr) = ctl(&lab, &["add", "Device.DHCPv4.Client."]);
    assert!(!ok && stderr.contains("(CWMP fault 9002)"), "{stderr}");
    assert_eq!(lab.tr181_value(clients), count, "no row was added");
    let (ok, stderr) = ctl(&lab, &["delete", "Device.DHCPv4.Client.2."]);
    assert!(!ok && stderr.contains("(CWMP fault 9002)"), "{stderr}");
    assert_eq!(lab.tr181_value(clients), count, "no row was deleted");
    assert_eq!(
        fs::read_to_string(&writes).expect("the writes are still stored"),
        stored,
        "the stored writes are as they were"
    );
    assert_eq!(temporary_files(&config.state_dir), Vec::<String>::new());
    fs::remove_file(filler).expect("make room");

    // A factory reset that cannot forget the stored writes changes nothing either.
    tmpfs.read_only(true);
    let out = lab
        .ctl_command()
        .arg("factory-reset")
        .output()
        .expect("run dhcpmgrctl factory-reset");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("(CWMP fault 9002)"),
        "{stderr}"
    );
    assert_eq!(lab.tr181_value(ALIAS), "isp-uplink");
    tmpfs.read_only(false);
    lab.ctl(&["factory-reset"]);
    lab.wait_until(Duration::from_secs(10), "the file's Alias back", || {
        lab.tr181_value(ALIAS) == before
    });
    assert!(!writes.exists(), "the writes are forgotten");
}
