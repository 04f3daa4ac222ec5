//! The controller's decisions with recording stand-ins for the network, the system events and
//! the client processes (no root, no udhcpc, no dibbler): stale and opening events, release,
//! settings waiting for a stop, and how clients follow their interface's readiness. This module
//! holds the stand-ins and helpers; the tests are grouped in its children.

mod events;
mod lifecycle;
mod link;

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
