//! The lab's network namespaces seen from the bench: a thread inside one (`setns`), and the
//! netlink address monitor that follows IPv4 or IPv6 addresses on [`WAN_IF`] in the `cpe`
//! namespace.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr_lab::WAN_IF;
// nix's `sched` feature (setns) is switched on by rtnetlink, a dependency of the daemon.
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{
    bind, recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use rtnetlink::constants::{RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;

use super::Result;

/// Runs `f` on a thread that has entered network namespace `netns`; processes it spawns start
/// there too.
pub fn in_netns<R: Send>(netns: &str, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    thread::scope(|s| {
        s.spawn(|| {
            enter_netns(netns)?;
            f()
        })
        .join()
        .map_err(|_| format!("the thread inside netns {netns} panicked"))?
    })
}

pub fn enter_netns(netns: &str) -> Result<()> {
    let path = format!("/var/run/netns/{netns}");
    let file = File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
    setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns into {netns}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Netlink: address events on erouter0
// ---------------------------------------------------------------------------------------------

/// An address family the monitor can follow.
pub trait Family: Copy + Ord + Debug + Send + 'static {
    /// The rtnetlink multicast group, and its name for messages.
    const GROUP: (u32, &'static str);
    /// The address of this family an `RTM_NEWADDR`/`RTM_DELADDR` attribute carries, if it is
    /// one the monitor follows.
    fn pick(address: IpAddr) -> Option<Self>;
}

impl Family for Ipv4Addr {
    const GROUP: (u32, &'static str) = (RTMGRP_IPV4_IFADDR, "RTMGRP_IPV4_IFADDR");

    fn pick(address: IpAddr) -> Option<Self> {
        match address {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }
    }
}

/// IPv6: every address but the link-local ones (the kernel's own, never touched by DHCPv6).
impl Family for Ipv6Addr {
    const GROUP: (u32, &'static str) = (RTMGRP_IPV6_IFADDR, "RTMGRP_IPV6_IFADDR");

    fn pick(address: IpAddr) -> Option<Self> {
        match address {
            IpAddr::V6(v6) if !v6.is_unicast_link_local() => Some(v6),
            _ => None,
        }
    }
}

struct AddrEvent<A> {
    at: Instant,
    added: bool,
    address: A,
}

/// Addresses of family `A` on [`WAN_IF`] as the kernel announces them (RTNLGRP_IPV4_IFADDR or
/// RTNLGRP_IPV6_IFADDR), seen from a thread inside the `cpe` namespace. Starts from an interface
/// without such addresses.
pub struct AddrMonitor<A: Family> {
    events: Receiver<Result<AddrEvent<A>>>,
    pub present: BTreeSet<A>,
    /// Every change of `present` applied so far, oldest first.
    changes: Vec<AddrChange<A>>,
}

/// An address that appeared on or vanished from [`WAN_IF`], and when the event arrived.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // read by v6_lease only
pub struct AddrChange<A> {
    pub at: Instant,
    pub added: bool,
    pub address: A,
}

impl<A: Family> AddrMonitor<A> {
    pub fn start(netns: &str) -> Result<Self> {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let netns = netns.to_owned();
        thread::Builder::new()
            .name("addr-monitor".into())
            .spawn(move || match open_monitor::<A>(&netns) {
                Ok((socket, index)) => {
                    let _ = ready_tx.send(Ok(()));
                    forward_events(&socket, index, &tx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| format!("spawn the netlink thread: {e}"))?;
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| format!("netlink monitor did not start: {e}"))??;
        Ok(Self {
            events: rx,
            present: BTreeSet::new(),
            changes: Vec::new(),
        })
    }

    /// Applies address events until `cond` holds for the addresses present; returns when the
    /// event that made it hold arrived (now, if it held already).
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        what: &str,
        cond: impl Fn(&BTreeSet<A>) -> bool,
    ) -> Result<Instant> {
        if cond(&self.present) {
            return Ok(Instant::now());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(event)) => {
                    self.apply(&event);
                    if cond(&self.present) {
                        return Ok(event.at);
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "timed out after {timeout:?} waiting until {what}; {WAN_IF} has {:?}",
                        self.present
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the netlink monitor stopped".into())
                }
            }
        }
    }

    /// Applies the events that have arrived; returns every change of the addresses present
    /// so far, oldest first.
    #[allow(dead_code)] // v6_lease only
    pub fn changes(&mut self) -> Result<&[AddrChange<A>]> {
        loop {
            match self.events.try_recv() {
                Ok(Ok(event)) => self.apply(&event),
                Ok(Err(e)) => return Err(e),
                Err(mpsc::TryRecvError::Empty) => return Ok(&self.changes),
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Err("the netlink monitor stopped".into())
                }
            }
        }
    }

    fn apply(&mut self, event: &AddrEvent<A>) {
        let changed = if event.added {
            self.present.insert(event.address)
        } else {
            self.present.remove(&event.address)
        };
        if changed {
            self.changes.push(AddrChange {
                at: event.at,
                added: event.added,
                address: event.address,
            });
        }
    }
}

/// Enters `netns` and subscribes to address events of family `A`; returns the socket and the
/// index of [`WAN_IF`].
fn open_monitor<A: Family>(netns: &str) -> Result<(OwnedFd, u32)> {
    enter_netns(netns)?;
    let index =
        nix::net::if_::if_nametoindex(WAN_IF).map_err(|e| format!("{WAN_IF} in {netns}: {e}"))?;
    let socket = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|e| format!("netlink socket: {e}"))?;
    setsockopt(&socket, sockopt::RcvBuf, &(1usize << 20)).map_err(|e| format!("SO_RCVBUF: {e}"))?;
    let (group, name) = A::GROUP;
    bind(socket.as_raw_fd(), &NetlinkAddr::new(0, group))
        .map_err(|e| format!("bind netlink socket to {name}: {e}"))?;
    Ok((socket, index))
}

/// Reads address events until the receiver goes away; a read or parse failure is passed on.
fn forward_events<A: Family>(
    socket: &OwnedFd,
    index: u32,
    tx: &mpsc::Sender<Result<AddrEvent<A>>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let len = match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(len) => len,
            Err(e) => {
                let _ = tx.send(Err(format!("netlink recv: {e}")));
                return;
            }
        };
        let at = Instant::now();
        let mut offset = 0;
        while offset < len {
            let message =
                match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[offset..len]) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Err(format!("netlink message: {e}")));
                        return;
                    }
                };
            let step = message.header.length as usize;
            let event = match message.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
                    address::<A>(&m, index).map(|a| (true, a))
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
                    address::<A>(&m, index).map(|a| (false, a))
                }
                _ => None,
            };
            if let Some((added, address)) = event {
                if tx.send(Ok(AddrEvent { at, added, address })).is_err() {
                    return;
                }
            }
            if step == 0 {
                break;
            }
            offset += step.next_multiple_of(4);
        }
    }
}

fn address<A: Family>(message: &AddressMessage, index: u32) -> Option<A> {
    if message.header.index != index {
        return None;
    }
    let find = |local: bool| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if local => A::pick(*ip),
            AddressAttribute::Address(ip) if !local => A::pick(*ip),
            _ => None,
        })
    };
    find(true).or_else(|| find(false))
}
