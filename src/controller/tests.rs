//! The controller's decisions with recording stand-ins for the network, the system events and
//! the client processes (no root, no udhcpc, no dibbler): stale and opening events, release,
//! settings waiting for a stop, and how clients follow their interface's readiness.

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::time::Duration;

use dhcpmgr_ipc::{V4Event, V4EventKind, V4Lease, V6Address, V6Event, V6EventKind};
use tokio::sync::{mpsc, oneshot};

use super::client::EventOrigin;
use super::client_set::ClientSet;
use super::errors::EventError;
use super::services::{NetFuture, NetOps, Processes, Programs, Services, SysEventSink};
use super::supervisor::{Request, SharedLaunchSpec, Supervisor};
use super::udhcpc::UdhcpcProgram;
use super::v4_client::V4;
use super::v6_client::V6;
use super::Internal;
use crate::channels::{ClientAction, ClientConfig, ControllerUpdate};
use crate::config::{Config, V4ClientConfig, V6ClientConfig};
use crate::instance_numbers::Numbering;
use crate::link::{LinkEvent, Links};
use crate::model::ClientKey;
use crate::model::EventKind;
use crate::model::V4Addr;
use crate::model::{ClientStatus, Instance, V4ClientSnapshot, V6ClientSnapshot, Waiting};
use crate::persist::StateStore;

const IF_INDEX: u32 = 7;
const WAN: &str = "erouter0";

type Log = Rc<RefCell<Vec<String>>>;

/// Records every interface change as a line (`add_v4 erouter0 192.0.2.10/24`).
struct RecordingNet(Log);

impl RecordingNet {
    fn record<'a, T: 'a>(&'a self, line: String, value: T) -> NetFuture<'a, T> {
        self.0.borrow_mut().push(line);
        Box::pin(async move { Ok(value) })
    }
}

impl NetOps for RecordingNet {
    fn add_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()> {
        self.record(format!("add_v4 {interface} {addr}"), ())
    }
    fn del_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()> {
        self.record(format!("del_v4 {interface} {addr}"), ())
    }
    fn has_v4<'a>(&'a self, _: &'a str, _: V4Addr) -> NetFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
    fn promote_secondaries(&self, _: &str) -> std::io::Result<()> {
        Ok(())
    }
    fn replace_v6<'a>(
        &'a self,
        interface: &'a str,
        address: Ipv6Addr,
        _: u32,
        _: u32,
    ) -> NetFuture<'a, ()> {
        self.record(format!("replace_v6 {interface} {address}"), ())
    }
    fn del_v6<'a>(&'a self, interface: &'a str, address: Ipv6Addr) -> NetFuture<'a, ()> {
        self.record(format!("del_v6 {interface} {address}"), ())
    }
    fn mtu<'a>(&'a self, _: &'a str) -> NetFuture<'a, Option<u32>> {
        Box::pin(async { Ok(None) })
    }
    fn set_mtu<'a>(&'a self, interface: &'a str, mtu: u32) -> NetFuture<'a, ()> {
        self.record(format!("set_mtu {interface} {mtu}"), ())
    }
    fn replace_default_route<'a>(&'a self, interface: &'a str, gw: Ipv4Addr) -> NetFuture<'a, ()> {
        self.record(format!("default_route {interface} {gw}"), ())
    }
}

struct RecordingSysEvents(Rc<RefCell<Vec<(String, String)>>>);

impl SysEventSink for RecordingSysEvents {
    fn desire(&self, _: &str, _: &str, all: crate::sysevent::SysEvents) {
        self.0.borrow_mut().extend(all);
    }

    fn before_configuring(&self) -> bool {
        false
    }
}

/// A process the controller started: its command line then, and what it was asked.
struct Started {
    args: Vec<String>,
    requests: mpsc::UnboundedReceiver<Request>,
}

struct StandInProcesses(Rc<RefCell<Vec<Started>>>);

impl Processes for StandInProcesses {
    fn start(&self, _: ClientKey, launch: SharedLaunchSpec) -> Supervisor {
        let (tx, requests) = mpsc::unbounded_channel();
        let args = match launch.lock() {
            Ok(spec) => spec.args.clone(),
            Err(poisoned) => poisoned.into_inner().args.clone(),
        };
        self.0.borrow_mut().push(Started {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            requests,
        });
        Supervisor::stand_in(tx)
    }
}

struct Harness {
    svc: Services,
    net: Log,
    started: Rc<RefCell<Vec<Started>>>,
    updates: mpsc::UnboundedReceiver<ControllerUpdate>,
    internal: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let net = Log::default();
        let started = Rc::new(RefCell::new(Vec::new()));
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let (internal, internal_rx) = mpsc::unbounded_channel();
        let svc = Services {
            net: Box::new(RecordingNet(net.clone())),
            store: StateStore::new(dir.path().join("state")),
            sysevents: Box::new(RecordingSysEvents(Rc::default())),
            updates: updates_tx,
            processes: Box::new(StandInProcesses(started.clone())),
            programs: Programs {
                udhcpc: UdhcpcProgram::resolve(Some("/usr/bin/udhcpc".as_ref())),
                plugin: "/usr/bin/dhcpmgr-udhcpc-plugin".into(),
                dibbler: "/usr/sbin/dibbler-client".into(),
                dibbler_plugin: "/usr/bin/dhcpmgr-dibbler-plugin".into(),
            },
            run_dir: dir.path().join("run"),
            socket: dir.path().join("run/ipc.sock"),
            spool_dir: dir.path().join("run/spool"),
            links: Links::default(),
            bindings: None,
        };
        Self {
            svc,
            net,
            started,
            updates,
            internal,
            internal_rx,
            _dir: dir,
        }
    }

    /// `erouter0` exists with these flags (and, for DHCPv6, a link-local address).
    fn link(&mut self, admin_up: bool, carrier: bool, link_local: Option<bool>) {
        self.svc.links.apply(LinkEvent::Link {
            index: IF_INDEX,
            name: WAN.into(),
            admin_up,
            carrier,
        });
        if let Some(usable) = link_local {
            self.svc.links.apply(LinkEvent::LinkLocal {
                index: IF_INDEX,
                address: "fe80::2".parse().expect("address"),
                usable,
            });
        }
    }

    fn ready(&mut self) {
        self.link(true, true, Some(true));
    }

    fn net_log(&self) -> Vec<String> {
        self.net.borrow_mut().drain(..).collect()
    }

    fn updates(&mut self) -> Vec<ControllerUpdate> {
        let mut out = Vec::new();
        while let Ok(update) = self.updates.try_recv() {
            out.push(update);
        }
        out
    }

    fn started(&self) -> usize {
        self.started.borrow().len()
    }

    /// The next request to process `n`, waiting for tasks the controller spawned.
    async fn request(&self, n: usize) -> Request {
        let (_, placeholder) = mpsc::unbounded_channel();
        let mut rx = std::mem::replace(&mut self.started.borrow_mut()[n].requests, placeholder);
        let request = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a request in time")
            .expect("the client's supervisor handle is alive");
        self.started.borrow_mut()[n].requests = rx;
        request
    }

    /// Process `n` answers its stop and its supervisor ends (requests to it go nowhere).
    fn stopped(&self, n: usize, done: oneshot::Sender<()>) {
        let _ = done.send(());
        let (_, ended) = mpsc::unbounded_channel();
        self.started.borrow_mut()[n].requests = ended;
    }

    /// No request waits for process `n`.
    fn no_request(&self, n: usize) -> bool {
        self.started.borrow_mut()[n].requests.try_recv().is_err()
    }

    fn args(&self, n: usize) -> Vec<String> {
        self.started.borrow()[n].args.clone()
    }

    async fn internal(&mut self) -> Internal {
        tokio::time::timeout(Duration::from_secs(5), self.internal_rx.recv())
            .await
            .expect("the stop ends in time")
            .expect("internal channel open")
    }
}

fn v4_settings(extra: &str) -> V4ClientConfig {
    let text = format!(
        "[[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"{WAN}\"\nclient_id = \"01aa\"\n{extra}"
    );
    let mut config = Config::parse(&text).expect("test configuration parses");
    config.dhcpv4_clients.remove(0)
}

fn v6_settings(extra: &str) -> V6ClientConfig {
    let text = format!("[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"{WAN}\"\n{extra}");
    let mut config = Config::parse(&text).expect("test configuration parses");
    config.dhcpv6_clients.remove(0)
}

fn lease(last: u8) -> V4Lease {
    V4Lease {
        lease_secs: Some(3600),
        ..V4Lease::new(Ipv4Addr::new(192, 0, 2, last), 24)
    }
}

fn v4_event(kind: V4EventKind, lease: Option<V4Lease>) -> V4Event {
    V4Event {
        interface: WAN.into(),
        kind,
        lease,
    }
}

fn live(pid: u32, created_unix_ms: u64) -> EventOrigin {
    EventOrigin {
        created_unix_ms,
        client_pid: pid,
        replayed: false,
    }
}

fn v6_add(address: &str) -> V6Event {
    V6Event {
        interface: WAN.into(),
        kind: V6EventKind::Add,
        addresses: vec![V6Address {
            address: address.parse().expect("address"),
            preferred: 3000,
            valid: 4000,
        }],
        prefixes: Vec::new(),
        server_options: Default::default(),
        remote_addr: None,
        client_message: Some("REQUEST".into()),
        server_message: Some("REPLY".into()),
        ia_na: None,
        ia_pd: None,
    }
}

fn last_v4(updates: &[ControllerUpdate]) -> V4ClientSnapshot {
    updates
        .iter()
        .rev()
        .find_map(|u| match u {
            ControllerUpdate::V4Client(s) => Some((**s).clone()),
            _ => None,
        })
        .expect("a DHCPv4 snapshot was published")
}

fn last_v6(updates: &[ControllerUpdate]) -> V6ClientSnapshot {
    updates
        .iter()
        .rev()
        .find_map(|u| match u {
            ControllerUpdate::V6Client(s) => Some((**s).clone()),
            _ => None,
        })
        .expect("a DHCPv6 snapshot was published")
}

fn events(updates: &[ControllerUpdate]) -> Vec<EventKind> {
    updates
        .iter()
        .filter_map(|u| match u {
            ControllerUpdate::Event { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

async fn v4_set(h: &mut Harness, settings: V4ClientConfig) -> (ClientSet<V4>, Instance) {
    let mut set = ClientSet::new(Numbering::default());
    let instance = set.add(settings, &h.svc).await;
    set.start_all(&h.svc);
    (set, instance)
}

async fn v6_set(h: &mut Harness, settings: V6ClientConfig) -> (ClientSet<V6>, Instance) {
    let mut set = ClientSet::new(Numbering::default());
    let instance = set.add(settings, &h.svc).await;
    set.start_all(&h.svc);
    (set, instance)
}

/// A DHCPv4 client on a ready erouter0 holding 192.0.2.10/24 from udhcpc 100; the net log
/// is emptied.
async fn bound_v4(h: &mut Harness) -> (ClientSet<V4>, Instance) {
    h.ready();
    let (mut set, instance) = v4_set(h, v4_settings("")).await;
    v4_apply(
        &mut set,
        h,
        v4_event(V4EventKind::Bound, Some(lease(10))),
        live(100, 1),
    )
    .await
    .expect("bound accepted");
    h.net_log();
    (set, instance)
}

/// A DHCPv6 client on a ready erouter0 holding 2001:db8:1::100; the net log keeps the add.
async fn bound_v6(h: &mut Harness) -> (ClientSet<V6>, Instance) {
    h.ready();
    let (mut set, instance) = v6_set(h, v6_settings("")).await;
    let client = set.route(Some("wan6"), WAN).expect("route");
    client
        .on_event(&v6_add("2001:db8:1::100"), live(200, 1), &h.svc)
        .await
        .expect("add accepted");
    (set, instance)
}

async fn v4_apply(
    set: &mut ClientSet<V4>,
    h: &Harness,
    event: V4Event,
    origin: EventOrigin,
) -> Result<(), String> {
    let client = set.route(Some("wan"), WAN).map_err(|e| e.to_string())?;
    client
        .on_event(&event, origin, &h.svc)
        .await
        .map_err(|e| e.to_string())
}

/// Runs `action` on `instance` and gives back its reply channel.
async fn command<F: super::client::Family>(
    set: &mut ClientSet<F>,
    h: &Harness,
    instance: Instance,
    action: ClientAction,
) -> oneshot::Receiver<Result<(), crate::channels::CommandError>> {
    let (tx, rx) = oneshot::channel();
    set.command(instance, action, tx, &h.svc, &h.internal).await;
    rx
}

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
    set.on_report(instance, super::supervisor::Report::Stopped, &h.svc);
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

#[tokio::test]
async fn a_client_that_keeps_dying_on_a_ready_interface_ends_in_error() {
    let mut h = Harness::new();
    h.ready();
    let (mut set, instance) = v4_set(&mut h, v4_settings("")).await;
    set.on_report(
        instance,
        super::supervisor::Report::GaveUp { failures: 8 },
        &h.svc,
    );
    let updates = h.updates();
    assert_eq!(last_v4(&updates).status, ClientStatus::Error);
    assert!(events(&updates).contains(&EventKind::ClientFailed));
}

#[tokio::test]
async fn eight_clients_slow_to_stop_all_stop_within_the_units_stop_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (reports, mut rx) = mpsc::unbounded_channel();
    let processes = super::services::Supervised { reports };
    let mut supervisors = Vec::new();
    for n in 0..8 {
        let spec = super::supervisor::LaunchSpec {
            program: "/bin/sh".into(),
            // Ignores SIGTERM: each needs the whole grace period and then SIGKILL.
            args: vec![
                "-c".into(),
                "trap '' TERM; while :; do sleep 1; done".into(),
            ],
            env: Vec::new(),
            pid_file: dir.path().join(format!("client-{n}.pid")),
            cmdline_marker: "sh".into(),
            stop: super::supervisor::StopStyle {
                keep_lease: nix::sys::signal::Signal::SIGTERM,
                release: nix::sys::signal::Signal::SIGUSR2,
            },
        };
        supervisors.push(processes.start(
            ClientKey::V4(Instance(n)),
            std::sync::Arc::new(std::sync::Mutex::new(spec)),
        ));
    }
    let mut pids = Vec::new();
    while pids.len() < 8 {
        let (_, report) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("every client starts")
            .expect("reports flow");
        if let super::supervisor::Report::Started { pid } = report {
            pids.push(pid);
        }
    }
    // systemd's TimeoutStopSec=20s for the whole daemon.
    tokio::time::timeout(Duration::from_secs(20), super::stop_together(supervisors))
        .await
        .expect("all clients stop within the unit's stop timeout");
    for pid in pids {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
        assert!(
            nix::sys::signal::kill(pid, None).is_err(),
            "client {pid} still runs"
        );
    }
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
    let stored: super::v4_client::V4State =
        serde_json::from_slice(&std::fs::read(&state_file).expect("stored now")).expect("JSON");
    assert_eq!(
        stored.held.map(|h| h.lease.address.to_string()).as_deref(),
        Some("192.0.2.10")
    );
}
