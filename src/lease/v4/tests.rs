use std::net::Ipv4Addr;

use dhcpmgr_ipc::{V4Event, V4EventKind, V4Lease};

use super::*;
use crate::boottime::BootSeconds;
use crate::model::DhcpStatus;
use crate::model::EventKind;
use crate::model::V4Addr;

fn lease(last_octet: u8, secs: u32) -> V4Lease {
    V4Lease {
        lease_secs: Some(secs),
        routers: vec![Ipv4Addr::new(192, 0, 2, 1)],
        ..V4Lease::new(Ipv4Addr::new(192, 0, 2, last_octet), 24)
    }
}

fn event(kind: V4EventKind, lease: Option<V4Lease>) -> V4Event {
    V4Event {
        interface: "erouter0".into(),
        kind,
        lease,
    }
}

fn held(last_octet: u8, obtained: u64, secs: u32) -> HeldLease {
    HeldLease {
        lease: lease(last_octet, secs),
        obtained: BootSeconds(obtained),
        expires: Some(BootSeconds(obtained + u64::from(secs))),
    }
}

fn at(held: Option<&HeldLease>, now: u64) -> Situation<'_> {
    Situation {
        held,
        fresh_client: false,
        releasing: false,
        now: BootSeconds(now),
    }
}

fn addr(last_octet: u8) -> V4Addr {
    V4Addr {
        address: Ipv4Addr::new(192, 0, 2, last_octet),
        prefix_len: 24,
    }
}

#[test]
fn first_bound_configures_and_reports_update() {
    let p = plan(
        &event(V4EventKind::Bound, Some(lease(100, 60))),
        at(None, 10),
    )
    .unwrap();
    assert_eq!(p.add, Some(addr(100)));
    assert_eq!(p.remove, None);
    assert_eq!(p.held.as_ref().unwrap().expires, Some(BootSeconds(70)));
    assert_eq!(p.dhcp_status, DhcpStatus::Bound);
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
}

#[test]
fn renew_of_same_lease_only_extends_it() {
    let h = held(100, 10, 60);
    let p = plan(
        &event(V4EventKind::Renew, Some(lease(100, 60))),
        at(Some(&h), 40),
    )
    .unwrap();
    assert_eq!(p.remove, None);
    assert_eq!(p.held.unwrap().expires, Some(BootSeconds(100)));
    assert_eq!(p.event, Some(EventKind::LeaseRenewed));
}

#[test]
fn changed_options_without_moving_are_an_update() {
    let h = held(100, 10, 60);
    let mut l = lease(100, 60);
    l.dns_servers.push(Ipv4Addr::new(192, 0, 2, 53));
    let p = plan(&event(V4EventKind::Renew, Some(l)), at(Some(&h), 40)).unwrap();
    assert_eq!(p.remove, None);
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
}

#[test]
fn moved_address_adds_new_before_removing_old() {
    let h = held(100, 10, 60);
    let p = plan(
        &event(V4EventKind::Bound, Some(lease(150, 60))),
        at(Some(&h), 40),
    )
    .unwrap();
    assert_eq!(p.add, Some(addr(150)));
    assert_eq!(p.remove, Some(addr(100)));
    assert_eq!(p.event, Some(EventKind::LeaseUpdated));
}

#[test]
fn opening_deconfig_of_a_restarted_client_keeps_a_valid_lease() {
    let h = held(100, 10, 60);
    let s = Situation {
        fresh_client: true,
        ..at(Some(&h), 30)
    };
    let p = plan(&event(V4EventKind::Deconfig, None), s).unwrap();
    assert_eq!(p.remove, None);
    assert_eq!(p.held, Some(h.clone()));
    assert_eq!(p.dhcp_status, DhcpStatus::Requesting);
    assert_eq!(p.event, None);

    let expired = Situation {
        fresh_client: true,
        ..at(Some(&h), 70)
    };
    assert_eq!(
        plan(&event(V4EventKind::Deconfig, None), expired)
            .unwrap()
            .remove,
        Some(addr(100))
    );
}

#[test]
fn deconfig_after_release_or_in_operation_removes_the_lease() {
    let h = held(100, 10, 60);
    for s in [
        at(Some(&h), 30),
        Situation {
            fresh_client: true,
            releasing: true,
            ..at(Some(&h), 30)
        },
    ] {
        let p = plan(&event(V4EventKind::Deconfig, None), s).unwrap();
        assert_eq!(p.remove, Some(addr(100)));
        assert_eq!(p.held, None);
        assert_eq!(p.event, Some(EventKind::LeaseDeleted));
    }
    let nothing = plan(&event(V4EventKind::Deconfig, None), at(None, 1)).unwrap();
    assert_eq!((nothing.remove, nothing.event), (None, None));
}

#[test]
fn nak_and_leasefail_keep_the_lease_for_the_timer() {
    let h = held(100, 10, 60);
    let p = plan(&event(V4EventKind::Leasefail, None), at(Some(&h), 30)).unwrap();
    assert_eq!((p.remove, p.dhcp_status), (None, DhcpStatus::Rebinding));
    let p = plan(&event(V4EventKind::Nak, None), at(Some(&h), 30)).unwrap();
    assert_eq!((p.remove, p.dhcp_status), (None, DhcpStatus::Init));
}

#[test]
fn expiry_removes_and_reports() {
    let h = held(100, 10, 60);
    assert!(!h.is_expired(BootSeconds(69)));
    assert!(h.is_expired(BootSeconds(70)));
    let p = expire(&h);
    assert_eq!(p.remove, Some(addr(100)));
    assert_eq!(p.event, Some(EventKind::LeaseDeleted));
}

#[test]
fn infinite_lease_never_expires() {
    let p = plan(
        &event(V4EventKind::Bound, Some(lease(100, u32::MAX))),
        at(None, 10),
    )
    .unwrap();
    assert_eq!(p.held.unwrap().expires, None);
}

#[test]
fn invalid_leases_are_refused() {
    let cases = [
        (
            V4Lease::new(Ipv4Addr::UNSPECIFIED, 24),
            LeaseError::BadAddress(Ipv4Addr::UNSPECIFIED),
        ),
        (
            V4Lease::new(Ipv4Addr::new(224, 0, 0, 1), 24),
            LeaseError::BadAddress(Ipv4Addr::new(224, 0, 0, 1)),
        ),
        (
            V4Lease::new(Ipv4Addr::new(192, 0, 2, 9), 0),
            LeaseError::BadPrefix(0),
        ),
        (
            V4Lease::new(Ipv4Addr::new(192, 0, 2, 9), 33),
            LeaseError::BadPrefix(33),
        ),
        (
            V4Lease::new(Ipv4Addr::new(192, 0, 2, 255), 24),
            LeaseError::NotAHost {
                address: Ipv4Addr::new(192, 0, 2, 255),
                prefix_len: 24,
            },
        ),
        (lease(100, 0), LeaseError::ZeroLeaseTime),
    ];
    for (l, want) in cases {
        assert_eq!(
            plan(&event(V4EventKind::Bound, Some(l)), at(None, 1)),
            Err(want)
        );
    }
    assert_eq!(
        plan(&event(V4EventKind::Bound, None), at(None, 1)),
        Err(LeaseError::MissingLease("bound"))
    );
    assert!(content::checked(&V4Lease::new(Ipv4Addr::new(192, 0, 2, 0), 31)).is_ok());
}

#[test]
fn mtu_is_used_only_when_sane() {
    let mut l = lease(100, 60);
    assert_eq!(usable_mtu(&l), None);
    l.mtu = Some(1492);
    assert_eq!(usable_mtu(&l), Some(1492));
    l.mtu = Some(68);
    assert_eq!(usable_mtu(&l), None);
}

#[test]
fn stored_leases_are_checked_like_plugin_leases() {
    let good = held(100, 10, 60);
    assert_eq!(
        restored(&good).map(|(h, d)| (h, d.len())),
        Ok((good.clone(), 0))
    );
    let mut bad_prefix = good.clone();
    bad_prefix.lease.prefix_len = 99;
    assert_eq!(restored(&bad_prefix), Err(LeaseError::BadPrefix(99)));
    let mut this_network = good.clone();
    this_network.lease.address = Ipv4Addr::new(0, 1, 2, 3);
    assert!(matches!(
        restored(&this_network),
        Err(LeaseError::BadAddress(_))
    ));
    let mut bad_router = good;
    bad_router.lease.routers = vec![Ipv4Addr::BROADCAST, Ipv4Addr::new(192, 0, 2, 1)];
    let (kept, dropped) = restored(&bad_router).unwrap();
    assert_eq!(kept.lease.routers, [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(dropped.len(), 1);
    assert_eq!(requestable(Ipv4Addr::new(127, 0, 0, 1)), None);
    assert_eq!(
        requestable(Ipv4Addr::new(192, 0, 2, 7)),
        Some(Ipv4Addr::new(192, 0, 2, 7))
    );
}

#[test]
fn a_bound_with_unusable_values_is_applied_without_them() {
    let mut l = lease(100, 60);
    l.routers.insert(0, Ipv4Addr::UNSPECIFIED);
    l.dns_servers = vec![Ipv4Addr::new(224, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 53)];
    let p = plan(&event(V4EventKind::Bound, Some(l)), at(None, 10)).unwrap();
    let held = p.held.unwrap();
    assert_eq!(held.lease.routers, [Ipv4Addr::new(192, 0, 2, 1)]);
    assert_eq!(held.lease.dns_servers, [Ipv4Addr::new(192, 0, 2, 53)]);
    assert_eq!(p.dropped.len(), 2);
}
