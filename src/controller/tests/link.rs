//! How clients follow their interface's readiness: missing, no carrier, no link-local address
//! past DAD, vanished and back, admin down and up.

use super::*;

#[tokio::test]
async fn a_client_on_a_missing_interface_waits_without_failing_then_starts() {
    let mut h = Harness::new();
    let (mut set, _) = v4_set(&mut h, v4_settings("")).await;
    assert_eq!(h.started(), 0, "udhcpc started on a missing interface");
    let updates = h.updates();
    let snapshot = last_v4(&updates);
    assert_eq!(snapshot.status, ClientStatus::Enabled);
    assert_eq!(snapshot.waiting, Some(Waiting::Interface(WAN.into())));
    assert_eq!(events(&updates), [EventKind::ClientWaiting]);
    set.on_link(&h.svc, &h.internal).await;
    assert!(
        events(&h.updates()).is_empty(),
        "the wait is announced once"
    );
    h.link(true, false, None);
    set.on_link(&h.svc, &h.internal).await;
    assert_eq!(h.started(), 0, "udhcpc started without carrier");
    assert_eq!(
        last_v4(&h.updates()).waiting,
        Some(Waiting::Carrier(WAN.into()))
    );
    h.link(true, true, None);
    set.on_link(&h.svc, &h.internal).await;
    assert_eq!(h.started(), 1, "udhcpc starts once the interface is ready");
    assert_eq!(last_v4(&h.updates()).waiting, None);
}

#[tokio::test]
async fn dhcpv6_waits_for_a_link_local_address_past_dad() {
    let mut h = Harness::new();
    h.link(true, true, Some(false));
    let (mut set, _) = v6_set(&mut h, v6_settings("")).await;
    assert_eq!(
        h.started(),
        0,
        "dibbler started with a tentative link-local address"
    );
    assert_eq!(
        last_v6(&h.updates()).waiting,
        Some(Waiting::LinkLocal(WAN.into()))
    );
    h.link(true, true, Some(true));
    set.on_link(&h.svc, &h.internal).await;
    assert_eq!(h.started(), 1);
    assert_eq!(last_v6(&h.updates()).waiting, None);
}

#[tokio::test]
async fn enabling_a_client_whose_interface_is_missing_is_accepted_and_it_waits() {
    let mut h = Harness::new();
    let (mut set, instance) = v4_set(&mut h, v4_settings("enable = false")).await;
    let enabled = v4_settings("");
    let reply = command(
        &mut set,
        &h,
        instance,
        ClientAction::Configure(ClientConfig::V4(Box::new(enabled))),
    )
    .await;
    reply.await.expect("reply").expect("carried out");
    assert_eq!(h.started(), 0);
    let snapshot = last_v4(&h.updates());
    assert!(snapshot.enable);
    assert_eq!(snapshot.status, ClientStatus::Enabled);
    assert_eq!(snapshot.waiting, Some(Waiting::Interface(WAN.into())));
}

#[tokio::test]
async fn carrier_loss_keeps_the_lease_and_carrier_back_renews_at_once() {
    let mut h = Harness::new();
    let (mut set, _) = bound_v4(&mut h).await;
    h.link(true, false, None);
    set.on_link(&h.svc, &h.internal).await;
    assert!(
        h.no_request(0),
        "carrier loss must not stop or signal udhcpc"
    );
    assert!(h.net_log().is_empty(), "carrier loss touched the addresses");
    let snapshot = last_v4(&h.updates());
    assert!(snapshot.lease.is_some());
    assert_eq!(snapshot.waiting, Some(Waiting::Carrier(WAN.into())));
    h.link(true, true, None);
    set.on_link(&h.svc, &h.internal).await;
    assert!(matches!(
        h.request(0).await,
        Request::Signal(nix::sys::signal::Signal::SIGUSR1)
    ));
    assert_eq!(h.net_log(), ["add_v4 erouter0 192.0.2.10/24"]);
    assert_eq!(last_v4(&h.updates()).waiting, None);
    set.on_link(&h.svc, &h.internal).await;
    assert!(h.no_request(0), "one renew per carrier return");
}

#[tokio::test]
async fn a_vanished_interface_stops_udhcpc_keeping_the_lease_and_it_comes_back_with_it() {
    let mut h = Harness::new();
    let (mut set, instance) = bound_v4(&mut h).await;
    h.svc.links.apply(LinkEvent::LinkGone { index: IF_INDEX });
    set.on_link(&h.svc, &h.internal).await;
    let Request::Stop {
        release: false,
        done,
    } = h.request(0).await
    else {
        panic!("a vanished interface stops udhcpc without release");
    };
    h.stopped(0, done);
    let Internal::LinkStopped { client } = h.internal().await else {
        panic!("the stop ends in LinkStopped");
    };
    assert_eq!(client, ClientKey::V4(instance));
    set.link_stopped(instance, &h.svc).await;
    assert_eq!(
        h.started(),
        1,
        "restarted while the interface is still gone"
    );
    let snapshot = last_v4(&h.updates());
    assert_eq!(snapshot.status, ClientStatus::Enabled);
    assert!(
        snapshot.lease.is_some(),
        "the lease is kept while the interface is gone"
    );
    h.svc.links.apply(LinkEvent::Link {
        index: IF_INDEX + 1,
        name: WAN.into(),
        admin_up: true,
        carrier: true,
    });
    set.on_link(&h.svc, &h.internal).await;
    assert_eq!(h.started(), 2);
    let args = h.args(1);
    assert!(
        args.windows(2).any(|w| w == ["-r", "192.0.2.10"]),
        "udhcpc must ask for the held address again: {args:?}"
    );
    assert_eq!(h.net_log(), ["add_v4 erouter0 192.0.2.10/24"]);
}

#[tokio::test]
async fn admin_down_and_up_puts_the_ia_na_address_back_then_dibbler_confirms() {
    let mut h = Harness::new();
    let (mut set, _) = bound_v6(&mut h).await;
    h.net_log();
    h.link(false, false, None);
    set.on_link(&h.svc, &h.internal).await;
    assert!(h.no_request(0), "admin down must not stop dibbler");
    assert_eq!(
        last_v6(&h.updates()).waiting,
        Some(Waiting::Carrier(WAN.into()))
    );
    h.link(true, true, Some(false));
    set.on_link(&h.svc, &h.internal).await;
    assert_eq!(
        h.net_log(),
        ["replace_v6 erouter0 2001:db8:1::100"],
        "the held address goes back as soon as the link is up"
    );
    assert!(
        h.no_request(0),
        "dibbler restarted before the link-local address is usable"
    );
    h.link(true, true, Some(true));
    set.on_link(&h.svc, &h.internal).await;
    assert!(matches!(h.request(0).await, Request::Restart));
    assert!(h.net_log().is_empty(), "the address went back twice");
}
