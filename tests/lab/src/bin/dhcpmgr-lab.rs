//! `dhcpmgr-lab demo [--keep]`: builds the lab, lets dhcpmgr acquire a DHCPv4 lease and a
//! DHCPv6 address, delegated prefix and MAP-T configuration from Kea, shows the result, stops
//! the daemon and tears everything down. Run as root after `cargo build --workspace`.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic;
use std::process::ExitCode;
use std::time::Duration;

use dhcpmgr_lab::{Kea4Options, Kea6Options, Lab, Signal, WAN_IF};
use nix::sys::signal::SigSet;

const USAGE: &str = "usage: dhcpmgr-lab demo [--keep]\n\n\
    Builds the lab (Kea DHCPv4 and DHCPv6 in an `isp` netns, dhcpmgr on erouter0 in a `cpe`\n\
    netns with udhcpc and dibbler-client, a private D-Bus), waits for the leases, prints the\n\
    interface, `dhcpmgrctl status`, the DHCPv6 client and the sysevents,\n\
    then stops everything. --keep leaves it running until Ctrl-C. Needs root and a built\n\
    workspace (cargo build --workspace).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["demo"] => false,
        ["demo", "--keep"] => true,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The harness reports failures by panicking; show them as one clear error line. Unwinding
    // drops the lab, so it is torn down on failure too.
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("unknown error");
        eprintln!("dhcpmgr-lab demo failed: {msg}");
    }));
    match panic::catch_unwind(|| demo(keep)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn demo(keep: bool) {
    let mut lab = Lab::new();
    step(&format!(
        "lab {}: netns {} and {}, bus {}",
        lab.name(),
        lab.isp().name(),
        lab.cpe().name(),
        lab.dbus_address()
    ));
    let kea = Kea4Options::default();
    let pool = kea.pool.clone();
    lab.start_kea4(kea);
    step(&format!(
        "Kea DHCPv4 serving {}-{} in {}",
        pool.start(),
        pool.end(),
        lab.isp().name()
    ));
    // Option 95, MAP-T: rule 2001:db8::/40 → 192.0.2.0/24, EA length 16, DMR 2001:db8:ffff::/64.
    lab.start_kea6(Kea6Options {
        raw_options: vec![(
            95,
            "00590015011018c00002002820010db800005d000406000000005b00094020010db8ffff0000".into(),
        )],
        ..Kea6Options::default()
    });
    step(&format!(
        "Kea DHCPv6 serving 2001:db8:1::/64, /56 prefixes and option 95 in {}",
        lab.isp().name()
    ));
    let mut cfg = lab.daemon_config();
    cfg.daemon_extra = format!(
        "dibbler = {:?}",
        lab.dibbler_command().display().to_string()
    );
    cfg.extra_toml = "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\n\
                      requested_options = [23, 24, 95]\n"
        .into();
    let config = lab.write_daemon_config(&cfg);
    let daemon = lab.start_daemon(&config);
    step(&format!(
        "dhcpmgr running (pid {}), config {}",
        daemon.pid(),
        config.display()
    ));
    lab.wait_until(
        Duration::from_secs(30),
        &format!("{WAN_IF} has an address from the Kea pool"),
        || {
            lab.cpe()
                .ipv4_addrs(WAN_IF)
                .iter()
                .any(|(addr, _)| pool.contains(addr))
        },
    );

    lab.wait_until(
        Duration::from_secs(30),
        "a delegated prefix and the MAP-T configuration",
        || lab.sysevent("mapt_config_flag").as_deref() == Some("set"),
    );

    section(&format!(
        "ip addr show {WAN_IF} (netns {})",
        lab.cpe().name()
    ));
    print!("{}", lab.cpe().ip(&["addr", "show", WAN_IF]));
    section("dhcpmgrctl status");
    print!("{}", lab.ctl(&["status"]));
    section("dhcpmgrctl get Device.DHCPv6.Client.1.");
    print!("{}", lab.ctl(&["get", "Device.DHCPv6.Client.1."]));
    section("sysevents");
    for (key, value) in lab.sysevents() {
        println!("{key} = {value}");
    }

    if keep {
        section("left running");
        println!("lab dir  {}", lab.dir().display());
        println!("bus      {}", lab.dbus_address());
        println!(
            "try      ip netns exec {} {} --bus {} status",
            lab.cpe().name(),
            dhcpmgr_lab::bin("dhcpmgrctl").display(),
            lab.dbus_address()
        );
        println!("Ctrl-C to stop and tear down");
        let signals: SigSet = [Signal::SIGINT, Signal::SIGTERM].into_iter().collect();
        signals.thread_block().expect("block SIGINT/SIGTERM");
        signals.wait().expect("wait for SIGINT/SIGTERM");
    }

    println!();
    let status = daemon.terminate();
    if !status.success() {
        panic!(
            "dhcpmgr exited with {status} on SIGTERM\n{}",
            lab.diagnostics()
        );
    }
    step("dhcpmgr stopped on SIGTERM (exit 0); tearing the lab down");
}

fn step(text: &str) {
    println!("* {text}");
}

fn section(title: &str) {
    println!("\n== {title} ==");
}
