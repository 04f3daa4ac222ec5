//! What a client needs from the controller to act: the network operations, the system-event
//! sink and the starting of supervised processes, each behind a narrow trait so that the
//! controller's decisions can be tested with recording stand-ins; plus the paths, the state
//! store, the TR-181 update channel and the interfaces' readiness.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::rc::Rc;

use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::bindings_watch::BindingsWatch;
use super::supervisor::{Report, RestartPolicy, SharedLaunchSpec, Supervisor};
use super::udhcpc::UdhcpcProgram;
use crate::channels::UpdateSender;
use crate::link::Links;
use crate::model::ClientKey;
use crate::model::V4Addr;
use crate::netlink::{Net, NetError};
use crate::persist::StateStore;
use crate::sysevent::{SysEventSender, SysEvents};

/// The interface changes clients make (rtnetlink in the daemon).
pub(super) trait NetOps {
    /// Adds `addr`; an address already there is success.
    fn add_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()>;
    /// Removes `addr`; an address (or interface) already gone is success.
    fn del_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()>;
    /// Whether `interface` carries `addr`.
    fn has_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, bool>;
    /// Makes the kernel keep the other addresses of a subnet when its primary goes.
    fn promote_secondaries(&self, interface: &str) -> std::io::Result<()>;
    /// Puts `address`/128 on `interface` with these lifetimes, or refreshes them.
    fn replace_v6<'a>(
        &'a self,
        interface: &'a str,
        address: Ipv6Addr,
        preferred: u32,
        valid: u32,
    ) -> NetFuture<'a, ()>;
    /// Removes `address`/128; gone already is success.
    fn del_v6<'a>(&'a self, interface: &'a str, address: Ipv6Addr) -> NetFuture<'a, ()>;
    fn mtu<'a>(&'a self, interface: &'a str) -> NetFuture<'a, Option<u32>>;
    fn set_mtu<'a>(&'a self, interface: &'a str, mtu: u32) -> NetFuture<'a, ()>;
    fn replace_default_route<'a>(
        &'a self,
        interface: &'a str,
        gateway: Ipv4Addr,
    ) -> NetFuture<'a, ()>;
}

/// What a [`NetOps`] call gives back.
pub(super) type NetFuture<'a, T> = LocalBoxFuture<'a, Result<T, NetError>>;

impl NetOps for Net {
    fn add_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()> {
        Net::add_v4(self, interface, addr).boxed_local()
    }
    fn del_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, ()> {
        Net::del_v4(self, interface, addr).boxed_local()
    }
    fn has_v4<'a>(&'a self, interface: &'a str, addr: V4Addr) -> NetFuture<'a, bool> {
        Net::has_v4(self, interface, addr).boxed_local()
    }
    fn promote_secondaries(&self, interface: &str) -> std::io::Result<()> {
        Net::promote_secondaries(interface)
    }
    fn replace_v6<'a>(
        &'a self,
        interface: &'a str,
        address: Ipv6Addr,
        preferred: u32,
        valid: u32,
    ) -> NetFuture<'a, ()> {
        Net::replace_v6(self, interface, address, preferred, valid).boxed_local()
    }
    fn del_v6<'a>(&'a self, interface: &'a str, address: Ipv6Addr) -> NetFuture<'a, ()> {
        Net::del_v6(self, interface, address).boxed_local()
    }
    fn mtu<'a>(&'a self, interface: &'a str) -> NetFuture<'a, Option<u32>> {
        Net::mtu(self, interface).boxed_local()
    }
    fn set_mtu<'a>(&'a self, interface: &'a str, mtu: u32) -> NetFuture<'a, ()> {
        Net::set_mtu(self, interface, mtu).boxed_local()
    }
    fn replace_default_route<'a>(
        &'a self,
        interface: &'a str,
        gateway: Ipv4Addr,
    ) -> NetFuture<'a, ()> {
        Net::replace_default_route(self, interface, gateway).boxed_local()
    }
}

/// Where system events go (the `sysevent` command in the daemon, through its ledger).
pub(super) trait SysEventSink {
    /// `owner` (a client's state name; `object_path` its TR-181 object) now wants `all` set;
    /// what changed goes out, retried until it is set. Never blocks.
    fn desire(&self, owner: &str, object_path: &str, all: SysEvents);
    /// Whether a client's values are handed over before its interface is configured (the
    /// profile's choice: the C manager's order) rather than after.
    fn before_configuring(&self) -> bool;
}

impl SysEventSink for SysEventSender {
    fn desire(&self, owner: &str, object_path: &str, all: SysEvents) {
        SysEventSender::desire(self, owner, object_path, all);
    }

    fn before_configuring(&self) -> bool {
        self.profile().before_configuring()
    }
}

/// Starts the supervision of a client's process.
pub(super) trait Processes {
    fn start(&self, key: ClientKey, launch: SharedLaunchSpec) -> Supervisor;
}

/// Real processes under [`Supervisor`]s that report to the controller loop.
pub(super) struct Supervised {
    pub reports: mpsc::UnboundedSender<(ClientKey, Report)>,
}

impl Processes for Supervised {
    fn start(&self, key: ClientKey, launch: SharedLaunchSpec) -> Supervisor {
        Supervisor::start(key, launch, RestartPolicy::default(), self.reports.clone())
    }
}

/// The programs clients run.
pub(super) struct Programs {
    pub udhcpc: UdhcpcProgram,
    /// The udhcpc script.
    pub plugin: PathBuf,
    pub dibbler: PathBuf,
    /// What dibbler-client's script wrapper runs.
    pub dibbler_plugin: PathBuf,
}

/// Everything a client needs from the controller to act.
pub(super) struct Services {
    pub net: Box<dyn NetOps>,
    pub store: StateStore,
    pub sysevents: Box<dyn SysEventSink>,
    pub updates: UpdateSender,
    pub processes: Box<dyn Processes>,
    pub programs: Programs,
    pub run_dir: PathBuf,
    /// The IPC socket the plugins talk to.
    pub socket: PathBuf,
    pub spool_dir: PathBuf,
    /// The interfaces as rtnetlink last told them.
    pub links: Links,
    /// Where rapid-commit DHCPv6 clients have dibbler's bindings file watched (`None`
    /// without inotify).
    pub bindings: Option<Rc<BindingsWatch>>,
}
