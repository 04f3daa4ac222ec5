use std::collections::BTreeMap;

use dhcpmgr_ipc::{IaParams, V6Address, V6Event, V6EventKind, V6Prefix};

use super::*;

fn addr(last: u16, valid: u32) -> V6Address {
    V6Address {
        address: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, last),
        preferred: valid / 2,
        valid,
    }
}

fn prefix(third: u16, valid: u32) -> V6Prefix {
    V6Prefix {
        prefix: Ipv6Addr::new(0x2001, 0xdb8, 0x12, third, 0, 0, 0, 0),
        length: 56,
        preferred: valid / 2,
        valid,
    }
}

fn event(kind: V6EventKind, addresses: Vec<V6Address>, prefixes: Vec<V6Prefix>) -> V6Event {
    V6Event {
        interface: "erouter0".into(),
        kind,
        addresses,
        prefixes,
        server_options: BTreeMap::new(),
        remote_addr: None,
        client_message: None,
        server_message: None,
        ia_na: None,
        ia_pd: None,
    }
}

const T0: BootSeconds = BootSeconds(100);

/// What is held after an `add` of `addresses` and `prefixes` at [`T0`].
fn bound(addresses: Vec<V6Address>, prefixes: Vec<V6Prefix>) -> HeldV6 {
    plan(
        &event(V6EventKind::Add, addresses, prefixes),
        &HeldV6::default(),
        T0,
    )
    .unwrap()
    .held
}

#[test]
fn add_binds_address_and_prefix() {
    let p = plan(
        &event(
            V6EventKind::Add,
            vec![addr(0x100, 4000)],
            vec![prefix(0x3400, 4000)],
        ),
        &HeldV6::default(),
        T0,
    )
    .unwrap();
    assert_eq!(p.configure, vec![addr(0x100, 4000)]);
    assert!(p.remove.is_empty());
    assert_eq!(p.held.prefixes[0].lease, prefix(0x3400, 4000));
    assert_eq!(p.held.next_expiry(), Some(BootSeconds(4100)));
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
}

#[test]
fn prefix_only_update_keeps_the_address_and_is_a_renewal() {
    let held = bound(vec![addr(0x100, 4000)], vec![prefix(0x3400, 4000)]);
    let later = BootSeconds(1100);
    let p = plan(
        &event(V6EventKind::Update, vec![], vec![prefix(0x3400, 4000)]),
        &held,
        later,
    )
    .unwrap();
    assert!(
        p.configure.is_empty(),
        "no address work for a PD-only renew"
    );
    assert!(p.remove.is_empty());
    assert_eq!(p.held.addresses, held.addresses);
    assert_eq!(p.held.prefixes[0].obtained, later);
    assert_eq!(p.event, Some(EventKind::LeaseRenewed));
}

#[test]
fn duplicate_event_changes_nothing_but_lifetimes() {
    let e = event(
        V6EventKind::Update,
        vec![addr(0x100, 4000)],
        vec![prefix(0x3400, 4000)],
    );
    let first = plan(&e, &HeldV6::default(), T0).unwrap().held;
    let again = plan(&e, &first, T0).unwrap();
    assert_eq!(again.held, first);
    assert!(again.remove.is_empty());
    assert_eq!(again.event, Some(EventKind::LeaseRenewed));
}

#[test]
fn new_address_replaces_old_after_configuring() {
    let held = bound(vec![addr(0x100, 4000)], vec![]);
    let p = plan(
        &event(V6EventKind::Update, vec![addr(0x101, 4000)], vec![]),
        &held,
        T0,
    )
    .unwrap();
    assert_eq!(p.configure, vec![addr(0x101, 4000)]);
    assert_eq!(p.remove, vec![addr(0x100, 4000).address]);
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
}

#[test]
fn zero_valid_lifetime_withdraws() {
    let held = bound(vec![addr(0x100, 4000)], vec![]);
    let p = plan(
        &event(V6EventKind::Update, vec![addr(0x100, 0)], vec![]),
        &held,
        T0,
    )
    .unwrap();
    assert_eq!(p.remove, vec![addr(0x100, 0).address]);
    assert!(p.held.addresses.is_empty());
    assert_eq!(p.event, Some(EventKind::LeaseDeleted));
}

#[test]
fn delete_drops_everything() {
    let held = bound(vec![addr(0x100, 4000)], vec![prefix(0x3400, 4000)]);
    let p = plan(&event(V6EventKind::Delete, vec![], vec![]), &held, T0).unwrap();
    assert_eq!(p.remove, vec![addr(0x100, 4000).address]);
    assert!(p.held.is_empty());
    assert_eq!(p.event, Some(EventKind::LeaseDeleted));
}

#[test]
fn expiry_removes_what_ran_out_only() {
    let held = bound(vec![addr(0x100, 100)], vec![prefix(0x3400, 4000)]);
    assert!(expire(&held, BootSeconds(199)).event.is_none());
    let p = expire(&held, BootSeconds(200));
    assert_eq!(p.remove, vec![addr(0x100, 100).address]);
    assert_eq!(p.held.prefixes.len(), 1);
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
    let all = expire(&p.held, BootSeconds(4100));
    assert!(all.held.is_empty());
    assert_eq!(all.event, Some(EventKind::LeaseDeleted));
}

#[test]
fn refuses_unusable_addresses_prefixes_and_lifetimes() {
    let link_local = V6Address {
        address: "fe80::1".parse().unwrap(),
        preferred: 1,
        valid: 2,
    };
    let mut sloppy = prefix(0x3400, 10);
    sloppy.prefix = "2001:db8:12:3401::".parse().unwrap();
    let mut inverted = addr(0x100, 10);
    inverted.preferred = 20;
    for e in [
        event(V6EventKind::Add, vec![link_local], vec![]),
        event(V6EventKind::Add, vec![], vec![sloppy]),
        event(V6EventKind::Add, vec![inverted], vec![]),
    ] {
        assert!(plan(&e, &HeldV6::default(), T0).is_err(), "{e:?}");
    }
}

/// Kea's option 95 from the lab: BMR 2001:db8::/40 → 192.0.2.0/24, EA 16, offset 6, DMR /64.
const OPTION_95: &str = "00:59:00:15:01:10:18:c0:00:02:00:28:20:01:0d:b8:00:00:5d:00:04:06:00:00:00:00:5b:00:09:40:20:01:0d:b8:ff:ff:00:00";

fn with_option_95(prefix: Option<V6Prefix>, option: &str) -> HeldV6 {
    let mut e = event(V6EventKind::Add, vec![], prefix.into_iter().collect());
    e.server_options.insert(95, option.to_string());
    plan(&e, &HeldV6::default(), T0).unwrap().held
}

#[test]
fn map_t_is_computed_from_option_95_and_the_delegated_prefix() {
    let held = with_option_95(Some(prefix(0x3400, 4000)), OPTION_95);
    let map = map_config(&held)
        .expect("option 95 present")
        .expect("valid");
    // EA bits are bits 40..56 of 2001:db8:12:3400::/56: 0x1234 → IPv4 suffix 0x12, PSID 0x34.
    assert_eq!(map.ipv4_address.to_string(), "192.0.2.18");
    assert_eq!(map.psid.value(), 0x34);
    assert!(map_config(&HeldV6::default()).is_none());
}

#[test]
fn invalid_map_configuration_is_refused_with_a_reason() {
    let truncated = &OPTION_95[..OPTION_95.len() - 3];
    let reason = map_config(&with_option_95(Some(prefix(0x3400, 4000)), truncated))
        .expect("option present")
        .expect_err("truncated option");
    assert!(
        matches!(reason, MapConfigError::Option { code: 95, .. }),
        "{reason:?}"
    );
    assert!(reason.to_string().starts_with("option 95"), "{reason}");
    let reason = map_config(&with_option_95(None, OPTION_95))
        .expect("option present")
        .expect_err("no prefix");
    assert_eq!(reason, MapConfigError::NoPrefix(95));
    assert!(
        reason.to_string().contains("without a delegated prefix"),
        "{reason}"
    );
}

#[test]
fn reply_to_confirm_with_the_clients_zero_lifetimes_keeps_the_lease() {
    let held = bound(vec![addr(0x100, 4000)], vec![prefix(0x3400, 4000)]);
    let mut confirm = event(V6EventKind::Add, vec![addr(0x100, 0)], vec![]);
    confirm.client_message = Some("CONFIRM".into());
    let p = plan(&confirm, &held, BootSeconds(500)).unwrap();
    assert!(p.remove.is_empty(), "a CONFIRM must not withdraw: {p:?}");
    assert!(p.configure.is_empty());
    assert_eq!(p.held, held);
    assert_eq!(p.event, Some(EventKind::LeaseRenewed));
}

#[test]
fn ia_na_addresses_must_be_global_unicast() {
    for bad in [
        "::ffff:192.0.2.1",
        "::1",
        "::",
        "ff02::1",
        "fec0::1",
        "64:ff9b::1",
        "100::1",
    ] {
        let a = V6Address {
            address: bad.parse().unwrap(),
            preferred: 1,
            valid: 2,
        };
        let e = event(V6EventKind::Add, vec![a], vec![]);
        assert_eq!(
            plan(&e, &HeldV6::default(), T0),
            Err(V6LeaseError::BadAddress(a.address)),
            "{bad}"
        );
    }
    let mut short = prefix(0, 10);
    short.prefix = "2000::".parse().unwrap();
    short.length = 8;
    let mut mapped = prefix(0, 10);
    mapped.prefix = "::ffff:0:0".parse().unwrap();
    mapped.length = 96;
    for p in [short, mapped] {
        let e = event(V6EventKind::Add, vec![], vec![p]);
        assert!(matches!(
            plan(&e, &HeldV6::default(), T0),
            Err(V6LeaseError::BadPrefix { .. })
        ));
    }
}

#[test]
fn addresses_and_prefixes_per_ia_are_capped_in_the_servers_order() {
    let addresses: Vec<V6Address> = (1..=1000).map(|i| addr(i, 4000)).collect();
    let prefixes: Vec<V6Prefix> = (1..=20).map(|i| prefix(i << 8, 4000)).collect();
    let p = plan(
        &event(V6EventKind::Add, addresses.clone(), prefixes.clone()),
        &HeldV6::default(),
        T0,
    )
    .unwrap();
    assert_eq!(p.configure, addresses[..MAX_ADDRESSES]);
    assert_eq!(p.held.prefixes.len(), MAX_PREFIXES);
    assert_eq!(p.held.prefixes[0].lease, prefixes[0]);
    let counts: Vec<(&str, usize)> = p.dropped.iter().map(|d| (d.field, d.count)).collect();
    assert_eq!(counts, [("IA_NA addresses", 992), ("IA_PD prefixes", 12)]);
}

#[test]
fn rdk_expire_withdraws_what_it_lists_or_everything() {
    let held = bound(vec![addr(0x100, 4000)], vec![prefix(0x3400, 4000)]);
    let listed = event(V6EventKind::Expire, vec![], vec![prefix(0x3400, 4000)]);
    let p = plan(&listed, &held, T0).unwrap();
    assert!(p.remove.is_empty());
    assert_eq!(p.held.addresses, held.addresses);
    assert!(p.held.prefixes.is_empty());
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
    let address = event(V6EventKind::Expire, vec![addr(0x100, 4000)], vec![]);
    let p = plan(&address, &p.held, T0).unwrap();
    assert_eq!(p.remove, vec![addr(0x100, 0).address]);
    assert!(p.held.is_empty());
    assert_eq!(p.event, Some(EventKind::LeaseDeleted));
    let whole = plan(&event(V6EventKind::Expire, vec![], vec![]), &held, T0).unwrap();
    assert!(whole.held.is_empty());
    assert_eq!(whole.remove, vec![addr(0x100, 0).address]);
}

#[test]
fn rdk_ia_parameters_are_held_until_the_server_sends_new_ones() {
    let mut e = event(V6EventKind::Add, vec![addr(0x100, 4000)], vec![]);
    e.ia_na = Some(IaParams {
        iaid: Some(3),
        t1: Some(100),
        t2: Some(200),
    });
    let held = plan(&e, &HeldV6::default(), T0).unwrap().held;
    assert_eq!(held.ia_na, e.ia_na);
    let renewed = plan(
        &event(V6EventKind::Update, vec![addr(0x100, 4000)], vec![]),
        &held,
        T0,
    )
    .unwrap();
    assert_eq!(renewed.held.ia_na, e.ia_na);
}

#[test]
fn stored_leases_are_checked_like_plugin_events() {
    let good = bound(vec![addr(0x100, 4000)], vec![prefix(0x3400, 4000)]);
    assert_eq!(restored(good.clone()), Ok(good.clone()));
    let mut bad_len = good.clone();
    bad_len.prefixes[0].lease.length = 200;
    assert!(matches!(
        restored(bad_len),
        Err(V6LeaseError::BadPrefix { length: 200, .. })
    ));
    let mut mapped = good.clone();
    mapped.addresses[0].lease.address = "::ffff:192.0.2.1".parse().unwrap();
    assert!(matches!(restored(mapped), Err(V6LeaseError::BadAddress(_))));
    let mut flood = good;
    flood.addresses = (1..=100)
        .map(|i| HeldAddress {
            lease: addr(i, 4000),
            obtained: T0,
        })
        .collect();
    assert!(matches!(
        restored(flood),
        Err(V6LeaseError::TooMany { addresses: 100, .. })
    ));
}

#[test]
fn server_options_are_capped_lowest_codes_first() {
    let mut e = event(V6EventKind::Add, vec![addr(0x100, 4000)], vec![]);
    e.server_options = (1..=300u16).map(|c| (c, "00".to_string())).collect();
    let p = plan(&e, &HeldV6::default(), T0).unwrap();
    assert_eq!(p.held.options.len(), MAX_SERVER_OPTIONS);
    assert_eq!(p.held.options.keys().last(), Some(&64));
    assert_eq!(p.dropped.iter().map(|d| d.count).sum::<usize>(), 236);
}

#[test]
fn drop_all_takes_infinite_lifetimes_too() {
    let held = bound(vec![addr(0x100, u32::MAX)], vec![prefix(0x3400, u32::MAX)]);
    assert_eq!(expire(&held, BootSeconds(u64::MAX)).event, None);
    let p = drop_all(&held);
    assert_eq!(p.remove, vec![addr(0x100, 0).address]);
    assert!(p.held.is_empty());
    assert_eq!(p.event, Some(EventKind::LeaseDeleted));
}
