//! Plugin events and client actions: stale and opening events, release, settings that wait
//! for a stop, and an event whose state cannot be stored.

use super::*;

#[tokio::test]
async fn a_replayed_event_older_than_the_last_applied_one_changes_nothing() {
    let mut h = Harness::new();
    h.ready();
    let (mut set, _) = v4_set(&mut h, v4_settings("")).await;
    v4_apply(
        &mut set,
        &h,
        v4_event(V4EventKind::Bound, Some(lease(10))),
        live(100, 2_000),
    )
    .await
    .expect("bound accepted");
    assert_eq!(h.net_log(), ["add_v4 erouter0 192.0.2.10/24"]);
    h.updates();
    let stale = EventOrigin {
        created_unix_ms: 1_000,
        client_pid: 100,
        replayed: true,
    };
    v4_apply(
        &mut set,
        &h,
        v4_event(V4EventKind::Bound, Some(lease(20))),
        stale,
    )
    .await
    .expect("a stale event is answered, not refused");
    assert!(
        h.net_log().is_empty(),
        "a stale event touched the interface"
    );
    assert!(h.updates().is_empty(), "a stale event was published");
}

#[tokio::test]
async fn the_opening_deconfig_of_a_fresh_udhcpc_keeps_the_lease() {
    let mut h = Harness::new();
    let (mut set, _) = bound_v4(&mut h).await;
    v4_apply(
        &mut set,
        &h,
        v4_event(V4EventKind::Deconfig, None),
        live(101, 2),
    )
    .await
    .expect("deconfig accepted");
    assert!(
        h.net_log().is_empty(),
        "the opening deconfig removed the address"
    );
    assert!(last_v4(&h.updates()).lease.is_some());
    v4_apply(
        &mut set,
        &h,
        v4_event(V4EventKind::Deconfig, None),
        live(101, 3),
    )
    .await
    .expect("deconfig accepted");
    assert_eq!(h.net_log(), ["del_v4 erouter0 192.0.2.10/24"]);
    assert!(last_v4(&h.updates()).lease.is_none());
}

#[tokio::test]
async fn a_release_waits_for_its_deconfig_then_lets_the_stop_go_on() {
    let mut h = Harness::new();
    let (mut set, instance) = bound_v4(&mut h).await;
    let reply = command(&mut set, &h, instance, ClientAction::Release).await;
    let Request::Stop {
        release: true,
        done,
    } = h.request(0).await
    else {
        panic!("a release must stop udhcpc releasing");
    };
    v4_apply(
        &mut set,
        &h,
        v4_event(V4EventKind::Deconfig, None),
        live(100, 2),
    )
    .await
    .expect("the release's deconfig is accepted");
    assert!(matches!(h.request(0).await, Request::ReleaseSeen));
    h.stopped(0, done);
    let Internal::StopFinished { client, reply: r } = h.internal().await else {
        panic!("the release ends in StopFinished");
    };
    assert_eq!(client, ClientKey::V4(instance));
    set.finish_stop(instance, &h.svc).await;
    if let Some(r) = r {
        let _ = r.send(Ok(()));
    }
    reply.await.expect("reply").expect("carried out");
    let snapshot = last_v4(&h.updates());
    assert_eq!(snapshot.status, ClientStatus::Disabled);
    assert!(snapshot.lease.is_none());
}

#[tokio::test]
async fn settings_written_during_a_stop_wait_for_it_and_the_latest_win() {
    let mut h = Harness::new();
    h.ready();
    let (mut set, instance) = v4_set(&mut h, v4_settings("")).await;
    let first = v4_settings("default_route = true");
    let second =
        v4_settings("default_route = true\nsent_options = [{ tag = 60, value = \"6c6162\" }]");
    let configure =
        |s: &V4ClientConfig| ClientAction::Configure(ClientConfig::V4(Box::new(s.clone())));
    let r1 = command(&mut set, &h, instance, configure(&first)).await;
    r1.await.expect("reply").expect("carried out");
    let Request::Stop {
        release: false,
        done,
    } = h.request(0).await
    else {
        panic!("new settings stop the running client keeping its lease");
    };
    // The supervisor reports during the stop: that picture must not bring the old settings back.
    set.on_report(
        instance,
        crate::controller::supervisor::Report::Stopped,
        &h.svc,
    );
    assert_eq!(
        last_v4(&h.updates()).settings,
        first,
        "snapshots show the waiting settings"
    );
    let r2 = command(&mut set, &h, instance, configure(&second)).await;
    r2.await.expect("reply").expect("carried out");
    assert!(
        h.no_request(0),
        "a second write must not stop the client again"
    );
    assert_eq!(set.settings().next(), Some(&second));
    h.stopped(0, done);
    let Internal::ConfigureStopped { client } = h.internal().await else {
        panic!("the stop for new settings ends in ConfigureStopped");
    };
    assert_eq!(client, ClientKey::V4(instance));
    set.finish_configure(instance, &h.svc).await;
    assert_eq!(
        h.started(),
        2,
        "the client starts again with the new settings"
    );
    let args = h.args(1);
    assert!(args.windows(2).any(|w| w == ["-V", "lab"]), "{args:?}");
    assert_eq!(last_v4(&h.updates()).settings, second);
}

#[tokio::test]
async fn a_dhcpv6_release_drops_the_lease_and_shows_the_client_disabled() {
    let mut h = Harness::new();
    let (mut set, instance) = bound_v6(&mut h).await;
    assert_eq!(h.net_log(), ["replace_v6 erouter0 2001:db8:1::100"]);
    let snapshot = last_v6(&h.updates());
    assert_eq!(snapshot.status, ClientStatus::Enabled);
    let _reply = command(&mut set, &h, instance, ClientAction::Release).await;
    let Request::Stop {
        release: true,
        done,
    } = h.request(0).await
    else {
        panic!("a release stops dibbler-client releasing");
    };
    h.stopped(0, done);
    assert!(matches!(h.internal().await, Internal::StopFinished { .. }));
    set.finish_stop(instance, &h.svc).await;
    assert_eq!(h.net_log(), ["del_v6 erouter0 2001:db8:1::100"]);
    let updates = h.updates();
    assert!(events(&updates).contains(&EventKind::LeaseDeleted));
    let snapshot = last_v6(&updates);
    assert_eq!(snapshot.status, ClientStatus::Disabled);
    assert!(!snapshot.enable);
    // Enabled again, it starts afresh (the release must not leave a stale stop behind).
    let restarted = command(&mut set, &h, instance, ClientAction::Restart).await;
    restarted.await.expect("reply").expect("carried out");
    assert_eq!(h.started(), 2);
}

#[tokio::test]
async fn an_event_whose_state_cannot_be_stored_is_in_force_unacknowledged_and_stored_later() {
    let mut h = Harness::new();
    h.ready();
    let (mut set, _) = v4_set(&mut h, v4_settings("")).await;
    // A directory where the state file goes: every write of it fails.
    let state_file = h.svc.store.dir().join("v4-wan.json");
    let _ = std::fs::remove_file(&state_file);
    std::fs::create_dir_all(state_file.join("in-the-way")).expect("block the state file");
    let client = set.route(Some("wan"), WAN).expect("routed");
    let result = client
        .on_event(
            &v4_event(V4EventKind::Bound, Some(lease(10))),
            live(100, 2_000),
            &h.svc,
        )
        .await;
    assert!(
        matches!(&result, Err(e @ EventError::NotStored(_)) if e.is_passing() && e.to_string().contains("could not be stored")),
        "{result:?}"
    );
    assert_eq!(h.net_log(), ["add_v4 erouter0 192.0.2.10/24"], "in force");
    assert!(
        last_v4(&h.updates()).lease.is_some(),
        "TR-181 shows what is in force"
    );

    std::fs::remove_dir_all(&state_file).expect("unblock the state file");
    set.store_again(&h.svc);
    let stored: crate::controller::v4_client::V4State =
        serde_json::from_slice(&std::fs::read(&state_file).expect("stored now")).expect("JSON");
    assert_eq!(
        stored.held.map(|h| h.lease.address.to_string()).as_deref(),
        Some("192.0.2.10")
    );
}
