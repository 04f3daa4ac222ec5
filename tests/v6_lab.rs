//! DHCPv6 end to end in the lab: real Kea DHCPv6, real dibbler-client 1.0.1 (in a private mount
//! namespace, so it cannot touch the machine's /etc/resolv.conf), the real daemon and plugin.

use std::net::Ipv6Addr;
use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea6Options, Lab, Signal};

const WAIT: Duration = Duration::from_secs(30);
const PREF: &str = "tr_erouter0_dhcpv6_client_v6pref";
const ADDR: &str = "tr_erouter0_dhcpv6_client_v6addr";

/// Option 95 (S46 MAP-T container): one rule (F flag set) 2001:db8::/40 → 192.0.2.0/24, EA
/// length 16, PSID offset 6, and a DMR 2001:db8:ffff::/64.
const OPTION_95: &str =
    "0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 005b 0009 40 20010db8ffff0000";

fn option_95() -> String {
    OPTION_95.replace(' ', "")
}

/// Waits for the binding and its system events. They are set in order off the lease path, and
/// `wan6_ns` is the last DHCPv6 key of a batch (the lab's Kea always sends DNS servers).
fn wait_for_binding(lab: &Lab) -> (Ipv6Addr, String) {
    lab.wait_until(WAIT, "an IA_NA address and a delegated prefix", || {
        !lab.global_v6().is_empty()
            && lab.sysevent(PREF).is_some_and(|p| !p.is_empty())
            && lab.sysevent("wan6_ns").is_some()
    });
    (lab.global_v6()[0], lab.sysevent(PREF).unwrap_or_default())
}

/// Fails if any DHCPv6 binding system event was set empty (a flap) since the last clear.
fn assert_no_binding_emptied(lab: &Lab) {
    let emptied: Vec<_> = lab
        .sysevents()
        .into_iter()
        .filter(|(k, v)| k.starts_with("tr_erouter0_dhcpv6_client") && v.is_empty())
        .collect();
    assert!(
        emptied.is_empty(),
        "bindings flapped across the restart: {emptied:?}"
    );
}

fn dibbler_pids(lab: &Lab) -> Vec<i32> {
    lab.cpe()
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "dibbler-client")
        })
        .collect()
}

#[test]
fn address_prefix_options_and_map_t_are_reported() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options {
        raw_options: vec![(95, option_95())],
        ..Kea6Options::default()
    });
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    let (address, prefix) = wait_for_binding(&lab);
    assert!(
        address.to_string().starts_with("2001:db8:1::1"),
        "{address}"
    );
    assert!(
        prefix.starts_with("2001:db8:12:") && prefix.ends_with("/56"),
        "{prefix}"
    );
    assert_eq!(lab.sysevent(ADDR), Some(address.to_string()));
    assert_eq!(lab.sysevent("wan6_ns").as_deref(), Some("2001:db8:1::53"));
    assert_eq!(
        lab.sysevent("tr_erouter0_dhcpv6_client_pref_vldtm")
            .as_deref(),
        Some("4000")
    );
    lab.wait_until(
        WAIT,
        "the MAP system events (mapt_config_flag is set last)",
        || lab.sysevent("mapt_config_flag").as_deref() == Some("set"),
    );
    // MAP-T: the EA bits are bits 40..56 of the delegated prefix: IPv4 suffix, then PSID.
    let delegated: Ipv6Addr = prefix
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("prefix parses");
    let segments = delegated.segments();
    let (suffix, psid) = (segments[2] & 0xff, segments[3] >> 8);
    for (key, want) in [
        ("mapt_config_flag", "set".to_string()),
        ("map_transport_mode", "MAPT".into()),
        ("map_rule_ipv6_address", "2001:db8::/40".into()),
        ("map_rule_ip_address", "192.0.2.0/24".into()),
        ("map_ea_length", "16".into()),
        ("map_is_fmr", "TRUE".into()),
        ("map_br_ipv6_prefix", "2001:db8:ffff::/64".into()),
        ("mapt_psid_offset", "6".into()),
        ("mapt_psid_length", "8".into()),
        ("mapt_psid_value", psid.to_string()),
        ("mapt_ip_address", format!("192.0.2.{suffix}")),
        ("mapt_ratio", "256".into()),
    ] {
        assert_eq!(lab.sysevent(key), Some(want), "{key}");
    }
    let duid = lab.ctl(&["get", "Device.DHCPv6.Client.1.DUID"]);
    assert!(duid.contains("00010001"), "a DUID-LLT: {duid}");
    // The resolv.conf dibbler-client wrote stayed in the lab.
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert!(
        !resolv.contains("2001:db8:1::53"),
        "the machine's resolv.conf was touched"
    );
}

/// dibbler-client 1.0.1 runs no script for the REPLY to a rapid-commit SOLICIT; the daemon
/// learns the bindings from the first RENEW's REPLY (the IA_NA and the IA_PD renew apart).
#[test]
fn rapid_commit_binds_without_advertise_and_is_reported_at_the_first_renew() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options {
        rapid_commit: true,
        renew_timer: 4,
        rebind_timer: 6,
        ..Kea6Options::default()
    });
    let config = lab.write_daemon_config(&lab.v6_daemon_config("rapid_commit = true"));
    let _daemon = lab.start_daemon(&config);
    wait_for_binding(&lab);
    let conf = std::fs::read_to_string(lab.dir().join("run/dibbler-wan6/client.conf"))
        .expect("generated client.conf");
    assert!(conf.contains("rapid-commit yes"), "{conf}");
    let log = std::fs::read_to_string(lab.dir().join("kea6.log")).unwrap_or_default();
    assert!(log.contains("DHCP6_LEASE_ALLOC"), "{log}");
    assert!(
        !log.contains("DHCP6_LEASE_ADVERT"),
        "a rapid-commit exchange has no ADVERTISE:\n{log}"
    );
}

#[test]
fn prefix_survives_daemon_sigkill_and_dibbler_crash() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let daemon = lab.start_daemon(&config);
    let (address, prefix) = wait_for_binding(&lab);

    lab.clear_sysevents();
    let records = lab.kea6_leases().len();
    daemon.sigkill();
    let _daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "one dibbler-client after the daemon restart", || {
        dibbler_pids(&lab).len() == 1
    });
    lab.wait_until(
        WAIT,
        "the new dibbler-client confirmed its bindings",
        || lab.kea6_leases().len() > records,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_no_binding_emptied(&lab);
    assert_eq!(lab.global_v6(), vec![address]);
    let pid = dibbler_pids(&lab)[0];
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).expect("kill dibbler");
    lab.wait_until(WAIT, "dibbler-client restarted", || {
        dibbler_pids(&lab).first().is_some_and(|p| *p != pid)
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        lab.kea6_delegated_prefixes().len(),
        1,
        "{:?}",
        lab.kea6_leases()
    );
    // Unchanged values are not set again: the prefix sysevent is either untouched or the same.
    let pref = lab.sysevent(PREF);
    assert!(
        pref.as_ref().is_none_or(|p| *p == prefix),
        "{pref:?} vs {prefix}"
    );
    assert_eq!(lab.global_v6(), vec![address]);
}

#[test]
fn release_on_request_returns_address_and_prefix_to_the_server() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    wait_for_binding(&lab);
    lab.ctl(&["release", "Device.DHCPv6.Client.1"]);
    lab.wait_until(
        WAIT,
        "Kea recorded the release of address and prefix",
        || {
            let leases = lab.kea6_leases();
            let released = |prefix: bool| {
                leases
                    .iter()
                    .rev()
                    .find(|l| l.is_prefix() == prefix)
                    .is_some_and(|l| !l.is_active())
            };
            released(true) && released(false)
        },
    );
    lab.wait_until(WAIT, "address and sysevents gone", || {
        lab.global_v6().is_empty() && lab.sysevent(PREF).as_deref() == Some("")
    });
    assert!(dibbler_pids(&lab).is_empty(), "dibbler-client stopped");
}

#[test]
fn leases_expire_when_the_server_is_gone() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options {
        preferred_lifetime: 6,
        valid_lifetime: 10,
        renew_timer: 3,
        rebind_timer: 5,
        ..Kea6Options::default()
    });
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    wait_for_binding(&lab);
    lab.stop_kea6();
    lab.wait_until(WAIT, "address and prefix expired", || {
        lab.global_v6().is_empty() && lab.sysevent(PREF).as_deref() == Some("")
    });
    assert_eq!(lab.sysevent(ADDR).as_deref(), Some(""));
}

/// Option 94 (S46 MAP-E container): BR 2001:db8::abcd and one rule 2001:db8::/40 →
/// 198.51.100.0/24, EA length 16, PSID offset 6.
const OPTION_94: &str = "005a 0010 20010db800000000000000000000abcd \
     0059 0015 00 10 18 c6336400 28 20010db800 005d 0004 06 00 0000";
/// Option 64 (AFTR-Name, DS-Lite): aftr.lab.example in DNS wire format.
const OPTION_64: &str = "04 61667472 03 6c6162 07 6578616d706c65 00";

#[test]
fn map_e_and_aftr_name_are_taken_from_options_94_and_64() {
    let Some(mut lab) = lab_or_skip() else { return };
    let hex = |s: &str| s.split_whitespace().collect::<String>();
    lab.start_kea6(Kea6Options {
        raw_options: vec![(94, hex(OPTION_94)), (64, hex(OPTION_64))],
        ..Kea6Options::default()
    });
    let mut cfg = lab.v6_daemon_config("");
    cfg.extra_toml = cfg.extra_toml.replace("[23, 24, 95]", "[23, 24, 64, 94]");
    let config = lab.write_daemon_config(&cfg);
    let _daemon = lab.start_daemon(&config);
    let (_, prefix) = wait_for_binding(&lab);
    lab.wait_until(
        WAIT,
        "the MAP system events (mapt_config_flag is set last)",
        || lab.sysevent("mapt_config_flag").as_deref() == Some("set"),
    );
    let delegated: Ipv6Addr = prefix
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("prefix parses");
    let segments = delegated.segments();
    let (suffix, psid) = (segments[2] & 0xff, segments[3] >> 8);
    for (key, want) in [
        ("map_transport_mode", "MAPE".to_string()),
        ("map_br_ipv6_prefix", "2001:db8::abcd/128".into()),
        ("map_rule_ip_address", "198.51.100.0/24".into()),
        ("map_is_fmr", "FALSE".into()),
        ("mapt_ip_address", format!("198.51.100.{suffix}")),
        ("mapt_psid_value", psid.to_string()),
    ] {
        assert_eq!(lab.sysevent(key), Some(want), "{key}");
    }
    let state = std::fs::read_to_string(lab.dir().join("state/v6-wan6.json")).expect("state");
    assert!(
        state.contains("aftr.lab.example"),
        "option 64 kept: {state}"
    );
}

/// TR-181 writes to a DHCPv6 client: a SentOption row added and written and a changed
/// RequestedOptions restart dibbler-client with them in its client.conf; the address and the
/// delegated prefix stay (no empty system event, one prefix at Kea).
#[test]
fn tr181_writes_restart_dibbler_with_them_and_keep_address_and_prefix() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    let config = lab.write_daemon_config(&lab.v6_daemon_config(""));
    let _daemon = lab.start_daemon(&config);
    let (address, prefix) = wait_for_binding(&lab);
    let first = dibbler_pids(&lab);
    assert_eq!(first.len(), 1, "{first:?}");
    lab.clear_sysevents();

    let added = lab.ctl(&["add", "Device.DHCPv6.Client.1.SentOption."]);
    assert_eq!(added.trim(), "Device.DHCPv6.Client.1.SentOption.1.");
    lab.ctl(&[
        "set",
        "Device.DHCPv6.Client.1.SentOption.1.Tag=16",
        "Device.DHCPv6.Client.1.SentOption.1.Value=0000118B",
        "Device.DHCPv6.Client.1.SentOption.1.Enable=true",
        "Device.DHCPv6.Client.1.RequestedOptions=23,24,95,64",
    ]);
    let conf_path = lab.dir().join("run/dibbler-wan6/client.conf");
    lab.wait_until(
        WAIT,
        "dibbler-client restarted with the new options",
        || {
            let conf = std::fs::read_to_string(&conf_path).unwrap_or_default();
            dibbler_pids(&lab).first().is_some_and(|p| *p != first[0])
                && conf.contains("option 16 hex 0x0000118b")
                && conf.contains("option aftr")
        },
    );
    assert_eq!(
        lab.tr181_value("Device.DHCPv6.Client.1.SentOption.1.Value"),
        "0000118b"
    );
    assert_eq!(
        lab.tr181_value("Device.DHCPv6.Client.1.RequestedOptions"),
        "23,24,95,64"
    );
    // A tag dibbler builds itself is refused and changes nothing.
    let out = lab
        .ctl_command()
        .args(["set", "Device.DHCPv6.Client.1.SentOption.1.Tag=3"])
        .output()
        .expect("run dhcpmgrctl");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SentOption.1.Tag") && stderr.contains("9007"),
        "{stderr}"
    );

    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lab.global_v6(), vec![address]);
    assert_eq!(
        lab.kea6_delegated_prefixes().len(),
        1,
        "{:?}",
        lab.kea6_leases()
    );
    assert_no_binding_emptied(&lab);
    assert!(
        lab.sysevent(PREF).is_none_or(|p| p == prefix),
        "the prefix changed"
    );
}

#[test]
fn a_deleted_client_releases_as_configured_and_an_added_one_binds() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options::default());
    let config = lab.write_daemon_config(&lab.v6_daemon_config("release_on_disable = true"));
    let _daemon = lab.start_daemon(&config);
    wait_for_binding(&lab);

    lab.ctl(&["delete", "Device.DHCPv6.Client.1."]);
    lab.wait_until(WAIT, "Kea recorded the release of the prefix", || {
        lab.kea6_leases()
            .iter()
            .rev()
            .find(|l| l.is_prefix())
            .is_some_and(|l| !l.is_active())
    });
    lab.wait_until(WAIT, "address, sysevents and dibbler-client gone", || {
        lab.global_v6().is_empty()
            && lab.sysevent(PREF).as_deref() == Some("")
            && dibbler_pids(&lab).is_empty()
    });
    // DHCPv6 has no minEntries: the table may be empty.
    assert_eq!(lab.tr181_value("Device.DHCPv6.ClientNumberOfEntries"), "0");

    let added = lab.ctl(&["add", "Device.DHCPv6.Client."]);
    assert_eq!(added.trim(), "Device.DHCPv6.Client.2.");
    lab.ctl(&[
        "set",
        "Device.DHCPv6.Client.2.X_RDK_LinuxInterface=erouter0",
        "Device.DHCPv6.Client.2.Enable=true",
    ]);
    wait_for_binding(&lab);
    assert_eq!(dibbler_pids(&lab).len(), 1);
    assert!(
        lab.dir().join("run/dibbler-cpe-2/client.conf").exists(),
        "the added client runs under its own alias"
    );
    assert_eq!(lab.tr181_value("Device.DHCPv6.Client.2.Status"), "Enabled");
    assert!(!lab.tr181_value("Device.DHCPv6.Client.2.DUID").is_empty());
}

#[test]
fn a_rapid_commit_lease_is_taken_from_dibblers_bindings_file_long_before_t1() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea6(Kea6Options {
        rapid_commit: true,
        renew_timer: 1000,
        rebind_timer: 1600,
        ..Kea6Options::default()
    });
    let config = lab.write_daemon_config(&lab.v6_daemon_config("rapid_commit = true"));
    let daemon = lab.start_daemon(&config);
    lab.wait_until(WAIT, "address and prefix long before T1 (1000 s)", || {
        !lab.global_v6().is_empty() && lab.sysevent(PREF).is_some_and(|p| !p.is_empty())
    });
    let log = || std::fs::read_to_string(daemon.log_path()).unwrap_or_default();
    assert!(
        log().contains("taking the lease from dibbler's bindings file"),
        "{}",
        lab.diagnostics()
    );
    let prefix = lab.sysevent(PREF).unwrap_or_default();
    assert_eq!(lab.tr181_value("Device.DHCPv6.Client.1.Status"), "Enabled");
    // dibbler rewrites the file more than once; the same bindings apply once.
    std::thread::sleep(Duration::from_secs(2));
    let updates = log()
        .lines()
        .filter(|l| l.contains("Device.DHCPv6.Client.1") && l.contains("kind=\"LeaseUpdated\""))
        .count();
    assert_eq!(
        updates,
        1,
        "the lease was applied more than once\n{}",
        lab.diagnostics()
    );
    assert_eq!(lab.sysevent(PREF), Some(prefix));
}
