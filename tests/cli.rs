//! The daemon's command line: `--validate`, exit codes and error messages that name the key.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn dhcpmgr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dhcpmgr"))
        .args(args)
        .output()
        .expect("run dhcpmgr")
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("dhcpmgr.toml");
    std::fs::write(&path, text).expect("write config");
    path.to_string_lossy().into_owned()
}

#[test]
fn validate_accepts_the_shipped_config() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/init/dhcpmgr.toml");
    let out = dhcpmgr(&["--validate", "--config", path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn validate_rejects_bad_config_with_ex_config_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[daemon]\nstatedir = \"/x\"\n", "statedir"),
        (
            "[[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\nrequest_options = [300]\n",
            "dhcpv4.client[0].request_options",
        ),
        ("[dbus]\nbus = \"nowhere\"\n", "dbus.bus"),
        ("not toml at all [", "dhcpmgr.toml"),
    ] {
        let path = write(&dir, text);
        let out = dhcpmgr(&["--validate", "--config", &path]);
        assert_eq!(out.status.code(), Some(78), "{text}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{text}: stderr should name {key}: {err}");
    }
    let out = dhcpmgr(&["--validate", "--config", "/nonexistent/dhcpmgr.toml"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dhcpmgr.toml"));
}

#[test]
fn unknown_arguments_are_a_usage_error() {
    let out = dhcpmgr(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(!out.stderr.is_empty());
}
