//! `[sysevent] profile = "rdk-wanmanager"` with the real daemon in the lab: udhcpc + Kea and
//! dibbler-client + Kea DHCPv6 leases set only the keys RDK's C DHCP manager sets, in its order;
//! WAN Manager's keys (`ipv4_IF_ipaddr`, `wan6_ns`, MAP) are left to WAN Manager. Needs root.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Kea6Options, Lab, LEASE_WAIT};

const WAIT: Duration = Duration::from_secs(30);

/// Writes `config`'s file with the RDK profile.
fn with_rdk_profile(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).expect("read the daemon config");
    let text = text.replacen(
        "[sysevent]\n",
        "[sysevent]\nprofile = \"rdk-wanmanager\"\n",
        1,
    );
    std::fs::write(config, text).expect("write the daemon config");
}

fn keys(lab: &Lab) -> Vec<String> {
    lab.sysevents().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn rdk_profile_sets_only_the_c_managers_dhcpv4_keys_in_its_order() {
    let Some(mut lab) = lab_or_skip() else { return };
    lab.start_kea4(Kea4Options::default());
    let config = lab.write_daemon_config(&lab.daemon_config());
    with_rdk_profile(&config);
    let _daemon = lab.start_daemon(&config);
    lab.wait_for_v4_lease();
    lab.wait_until(LEASE_WAIT, "start_time, the last RDK key", || {
        lab.sysevent("ipv4_erouter0_dhcp_state").as_deref() == Some("bound")
            && lab.sysevent("ipv4_erouter0_start_time").is_some()
    });
    let sets = lab.sysevents();
    let bound_at = sets
        .iter()
        .position(|(k, v)| k == "ipv4_erouter0_dhcp_server" && v == "192.0.2.1")
        .expect("dhcp_server set");
    let order: Vec<&str> = sets[bound_at..].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        order,
        [
            "ipv4_erouter0_dhcp_server",
            "ipv4_erouter0_lease_time",
            "ipv4_erouter0_dhcp_state",
            "ipv4_erouter0_start_time"
        ]
    );
    assert_eq!(
        lab.sysevent("ipv4_erouter0_lease_time").as_deref(),
        Some("3600")
    );
    let others: Vec<String> = keys(&lab)
        .into_iter()
        .filter(|k| {
            ![
                "ipv4_erouter0_dhcp_server",
                "ipv4_erouter0_lease_time",
                "ipv4_erouter0_dhcp_state",
                "ipv4_erouter0_start_time",
            ]
            .contains(&k.as_str())
        })
        .collect();
    assert!(others.is_empty(), "WAN Manager's keys were set: {others:?}");
}

#[test]
fn rdk_profile_sets_only_the_c_managers_dhcpv6_keys_prefix_first() {
    let Some(mut lab) = lab_or_skip() else { return };
    // Option 95 too: with this profile its MAP keys are WAN Manager's.
    lab.start_kea6(Kea6Options {
        raw_options: vec![(
            95,
            "0059 0015 01 10 18 c0000200 28 20010db800 005d 0004 06 00 0000 005b 0009 40 20010db8ffff0000"
                .replace(' ', ""),
        )],
        ..Kea6Options::default()
    });
    let mut cfg = lab.daemon_config();
    cfg.v4_clients.clear();
    cfg.daemon_extra = format!(
        "dibbler = {}",
        serde_json::Value::from(lab.dibbler_command().to_string_lossy().as_ref())
    );
    cfg.extra_toml = "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\nrequested_options = [23, 24, 95]\nt1 = 1000\nt2 = 2000\n".into();
    let config = lab.write_daemon_config(&cfg);
    with_rdk_profile(&config);
    let _daemon = lab.start_daemon(&config);
    const P: &str = "tr_erouter0_dhcpv6_client_";
    lab.wait_until(WAIT, "the IA_NA's last key", || {
        lab.sysevent(&format!("{P}addr_vldtm")).is_some()
            && lab.sysevent(&format!("{P}pref_vldtm")).is_some()
    });
    let all = keys(&lab);
    assert!(
        all.iter().all(|k| k.starts_with(P)),
        "only tr_IF_dhcpv6_client_* keys: {all:?}"
    );
    let first_pref = all.iter().position(|k| k == &format!("{P}v6pref"));
    let first_addr = all.iter().position(|k| k == &format!("{P}v6addr"));
    let order: Vec<String> = all
        .iter()
        .map(|k| k.trim_start_matches(P).to_string())
        .collect();
    assert_eq!(
        &order[..12],
        [
            "v6pref",
            "pref_iaid",
            "pref_t1",
            "pref_t2",
            "pref_pretm",
            "pref_vldtm",
            "v6addr",
            "addr_iaid",
            "addr_t1",
            "addr_t2",
            "addr_pretm",
            "addr_vldtm"
        ],
        "the C manager's order: {all:?}"
    );
    assert!(first_pref < first_addr);
    assert_eq!(
        lab.sysevent(&format!("{P}pref_vldtm")).as_deref(),
        Some("4000")
    );
    assert_eq!(
        lab.sysevent(&format!("{P}addr_t1")).as_deref(),
        Some("1000")
    );
    assert_eq!(lab.sysevent("wan6_ns"), None);
    assert_eq!(lab.sysevent("mapt_config_flag"), None);
}
