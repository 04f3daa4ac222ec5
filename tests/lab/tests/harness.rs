//! The lab harness itself, end to end, with plain busybox udhcpc standing in for the daemon.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::panic;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use dhcpmgr_lab::{
    lab_or_skip, HostId, Kea4Options, Lab, Reservation, Signal, ISP_V4, WAN_IF, WAN_MAC,
};

const WAIT: Duration = Duration::from_secs(10);

/// Writes a udhcpc script that saves the environment of `bound` to `<dir>/bound.env` and
/// configures the address and MTU like a minimal real script would.
fn recording_script(dir: &Path) -> (PathBuf, PathBuf) {
    let script = dir.join("udhcpc-record.sh");
    let env = dir.join("bound.env");
    let text = format!(
        "#!/bin/sh\ncase \"$1\" in\n\
         bound) env > '{env}.tmp' && mv '{env}.tmp' '{env}'\n  ip addr add \"$ip/$mask\" dev \"$interface\"\n  \
         [ -n \"$mtu\" ] && ip link set \"$interface\" mtu \"$mtu\" ;;\n\
         deconfig) ip -4 addr flush dev \"$interface\" ;;\nesac\nexit 0\n",
        env = env.display()
    );
    fs::write(&script, text).expect("write udhcpc script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod udhcpc script");
    (script, env)
}

fn udhcpc_once(lab: &Lab, script: &Path) -> String {
    let script = script.to_str().expect("utf-8 path");
    let out = lab.cpe().run(&[
        "busybox", "udhcpc", "-f", "-q", "-n", "-t", "5", "-i", WAN_IF, "-O", "mtu", "-s", script,
    ]);
    assert!(
        out.status.success(),
        "udhcpc failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        lab.kea4_log()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What a lab leaves on the host while it exists.
struct LabTraces {
    namespaces: [String; 2],
    dir: PathBuf,
    processes: Vec<i32>,
}

impl LabTraces {
    fn of(lab: &Lab) -> LabTraces {
        LabTraces {
            namespaces: [lab.isp().name().to_owned(), lab.cpe().name().to_owned()],
            dir: lab.dir().to_owned(),
            processes: lab.isp().pids(),
        }
    }

    fn assert_gone(&self) {
        let listed = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list")
            .stdout;
        let listed = String::from_utf8_lossy(&listed);
        assert!(
            self.namespaces
                .iter()
                .all(|ns| !listed.contains(ns.as_str())),
            "namespaces left behind: {listed}"
        );
        for pid in &self.processes {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} survived the lab"
            );
        }
        if std::env::var_os("DHCPMGR_KEEP_LAB").is_none() {
            assert!(!self.dir.exists(), "{} left behind", self.dir.display());
        }
    }
}

fn env_var(env: &str, key: &str) -> Option<String> {
    env.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

#[test]
fn udhcpc_gets_the_configured_lease_and_the_lab_cleans_up() {
    let Some(mut lab) = lab_or_skip() else { return };
    let options = Kea4Options {
        valid_lifetime: 300,
        renew_timer: 150,
        rebind_timer: 260,
        dns_servers: vec![Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(192, 0, 2, 54)],
        mtu: Some(1400),
        ..Kea4Options::default()
    };
    let pool = options.pool.clone();
    lab.start_kea4(options);
    let (script, env_file) = recording_script(lab.dir());
    udhcpc_once(&lab, &script);

    let env = fs::read_to_string(&env_file).expect("udhcpc ran the script with `bound`");
    let ip: Ipv4Addr = env_var(&env, "ip")
        .and_then(|ip| ip.parse().ok())
        .expect("bound env has ip");
    assert!(pool.contains(&ip), "{ip} is not from the Kea pool");
    assert_eq!(env_var(&env, "lease").as_deref(), Some("300"));
    assert_eq!(env_var(&env, "router"), Some(ISP_V4.to_string()));
    assert_eq!(
        env_var(&env, "dns").as_deref(),
        Some("192.0.2.53 192.0.2.54")
    );
    assert_eq!(env_var(&env, "domain").as_deref(), Some("isp.example"));
    assert_eq!(lab.cpe().ipv4_addrs(WAN_IF), [(ip, 24)]);
    assert_eq!(lab.cpe().mtu(WAN_IF), 1400);
    let lease = lab.kea4_leases().pop().expect("Kea wrote the lease");
    assert!(
        lease.is_active() && lease.address == ip && lease.hwaddr == WAN_MAC,
        "{lease:?}"
    );

    // A long-running udhcpc: release with SIGUSR2 shows up in Kea's lease journal, and the lab
    // must kill the process itself when dropped.
    fs::remove_file(&env_file).expect("remove bound.env");
    let mut udhcpc = lab
        .cpe()
        .command("busybox")
        .args(["udhcpc", "-f", "-i", WAN_IF, "-s"])
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(fs::File::create(lab.dir().join("udhcpc.log")).expect("create udhcpc log"))
        .spawn()
        .expect("start udhcpc");
    lab.wait_until(WAIT, "udhcpc is bound again", || {
        env_file.exists() && !lab.cpe().ipv4_addrs(WAN_IF).is_empty()
    });
    assert!(
        lab.cpe().pids().contains(&(udhcpc.id() as i32)),
        "udhcpc runs in the cpe netns"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(udhcpc.id() as i32),
        Signal::SIGUSR2,
    )
    .expect("signal udhcpc");
    lab.wait_until(WAIT, "Kea recorded the release", || {
        lab.kea4_leases().last().is_some_and(|l| !l.is_active())
    });

    let traces = LabTraces::of(&lab);
    drop(lab);
    traces.assert_gone();
    assert!(
        udhcpc.try_wait().expect("wait udhcpc").is_some(),
        "udhcpc survived the lab"
    );
}

#[test]
fn a_panicking_test_still_tears_the_lab_down() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let traces = LabTraces::of(&lab);
    let result = panic::catch_unwind(panic::AssertUnwindSafe(move || {
        let _lab = lab;
        panic!("deliberate failure inside a lab test");
    }));
    assert!(result.is_err());
    traces.assert_gone();
}

#[test]
fn kea_restart_moves_the_client_to_its_reservation() {
    let Some(mut lab) = lab_or_skip() else { return };
    let single = Ipv4Addr::new(192, 0, 2, 150);
    lab.start_kea4(Kea4Options {
        pool: single..=single,
        ..Kea4Options::default()
    });
    let (script, _) = recording_script(lab.dir());
    assert!(udhcpc_once(&lab, &script).contains("lease of 192.0.2.150"));

    let reserved = Ipv4Addr::new(192, 0, 2, 42);
    let mut options = lab.kea4_options().expect("Kea ran").clone();
    options.reservations.push(Reservation {
        id: HostId::HwAddress(WAN_MAC.into()),
        address: reserved,
    });
    lab.start_kea4(options);
    assert!(udhcpc_once(&lab, &script).contains("lease of 192.0.2.42"));
    assert!(lab
        .kea4_leases()
        .iter()
        .any(|l| l.address == reserved && l.is_active()));

    lab.stop_kea4();
    lab.restart_kea4();
    assert_eq!(lab.kea4_options().map(|o| o.reservations.len()), Some(1));
}

#[test]
fn dbus_daemon_answers_from_the_cpe_namespace() {
    let Some(lab) = lab_or_skip() else { return };
    let address = format!("--bus={}", lab.dbus_address());
    let reply = lab.cpe().run_ok(&[
        "dbus-send",
        &address,
        "--dest=org.freedesktop.DBus",
        "--print-reply",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.ListNames",
    ]);
    assert!(reply.contains("\"org.freedesktop.DBus\""), "{reply}");
    assert!(lab.bus_has_name("org.freedesktop.DBus"));
    assert!(!lab.bus_has_name(dhcpmgr_lab::DAEMON_BUS_NAME));
}

#[test]
fn sysevent_recorder_records_sets() {
    let Some(lab) = lab_or_skip() else { return };
    let recorder = lab.sysevent_command().to_owned();
    for (key, value) in [
        ("ipv4_erouter0_ipaddr", "192.0.2.100"),
        ("ipv4_erouter0_dns_0", "192.0.2.53"),
        ("ipv4_erouter0_ipaddr", ""),
    ] {
        let status = lab
            .cpe()
            .command(&recorder)
            .args(["set", key, value])
            .status()
            .expect("run recorder");
        assert!(status.success());
    }
    assert_eq!(lab.sysevents().len(), 3);
    assert_eq!(lab.sysevent("ipv4_erouter0_ipaddr").as_deref(), Some(""));
    assert_eq!(
        lab.sysevent("ipv4_erouter0_dns_0").as_deref(),
        Some("192.0.2.53")
    );
    lab.clear_sysevents();
    assert!(lab.sysevents().is_empty());
}
