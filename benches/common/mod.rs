//! Helpers shared by the benchmarks (`lease_hop`, `v6_lease`): counts from the environment, a
//! thread inside the lab's `cpe` namespace, the sysevent record follower, the netlink address
//! monitor (IPv4 or IPv6), process memory from /proc, and percentile figures.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::fs::{self, File};
use std::io::{ErrorKind, Read as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
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
use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, String>;

/// How often the sysevent record file is read while a hop is in flight.
pub const SYSEVENT_POLL: Duration = Duration::from_micros(100);

/// A positive count from `var`, or `default` when unset.
pub fn env_count(var: &str, default: usize) -> Result<usize> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{var}={text:?} is not a positive whole number")),
        },
    }
}

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

/// A thread that reads the lab's sysevent record file every [`SYSEVENT_POLL`] and hands over
/// each new line with the time it was first seen; stops when dropped.
pub struct SyseventWatch {
    pub path: PathBuf,
    pub lines: Receiver<Result<(Instant, String)>>,
    stop: Arc<AtomicBool>,
}

impl SyseventWatch {
    pub fn start(path: PathBuf) -> Result<Self> {
        let (tx, lines) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let mut tail = RecordTail::new(path.clone());
        thread::Builder::new()
            .name("sysevent-poll".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    let new = tail.read_new();
                    let at = Instant::now();
                    match new {
                        Ok(new) => {
                            if new.into_iter().any(|l| tx.send(Ok((at, l))).is_err()) {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                    thread::sleep(SYSEVENT_POLL);
                }
            })
            .map_err(|e| format!("spawn the sysevent poller: {e}"))?;
        Ok(Self { path, lines, stop })
    }
}

impl Drop for SyseventWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Follows the lab's sysevent record file as it grows.
struct RecordTail {
    path: PathBuf,
    file: Option<File>,
    partial: Vec<u8>,
}

impl RecordTail {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            partial: Vec::new(),
        }
    }

    /// Complete lines appended since the last call (none while the file does not exist).
    fn read_new(&mut self) -> Result<Vec<String>> {
        let failed = |e: std::io::Error| format!("read {}: {e}", self.path.display());
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(failed(e)),
            }
        }
        if let Some(file) = self.file.as_mut() {
            file.read_to_end(&mut self.partial).map_err(failed)?;
        }
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        Ok(String::from_utf8_lossy(&complete)
            .lines()
            .map(str::to_owned)
            .collect())
    }
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

/// Memory of a process, from /proc (KiB).
#[derive(Default)]
pub struct Memory {
    pub pid: u32,
    pub rss: u64,
    pub hwm: u64,
    pub pss: Option<u64>,
    pub threads: u64,
}

impl Memory {
    pub fn read(pid: u32) -> Result<Memory> {
        let path = format!("/proc/{pid}/status");
        let status = fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
        let field = |text: &str, name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        let need = |name: &str| field(&status, name).ok_or(format!("no {name} in {path}"));
        let pss = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .ok()
            .and_then(|t| field(&t, "Pss"));
        Ok(Memory {
            pid,
            rss: need("VmRSS")?,
            hwm: need("VmHWM")?,
            pss,
            threads: need("Threads")?,
        })
    }

    pub fn json(&self) -> Value {
        json!({
            "pid": self.pid,
            "vm_rss_kib": self.rss,
            "vm_hwm_kib": self.hwm,
            "pss_kib": self.pss,
            "threads": self.threads,
        })
    }

    pub fn line(&self) -> String {
        let pss = self.pss.map_or("n/a".into(), kib);
        format!(
            "VmRSS {}  VmHWM {}  Pss {pss}  threads {}  (pid {})",
            kib(self.rss),
            kib(self.hwm),
            self.threads,
            self.pid
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/// Nearest-rank percentiles.
pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |q: f64| {
            let i = (q * sorted.len() as f64).ceil() as usize;
            sorted.get(i.saturating_sub(1)).copied().unwrap_or_default()
        };
        Stats {
            n: sorted.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    pub fn json(&self) -> Value {
        json!({ "n": self.n, "p50": ms(self.p50), "p99": ms(self.p99), "max": ms(self.max) })
    }

    pub fn row(&self, label: &str) -> String {
        format!(
            "  {label:<44} {:>8.3} {:>8.3} {:>8.3}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

pub fn median(samples: &[Duration]) -> Duration {
    Stats::of(samples).p50
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn kib(k: u64) -> String {
    format!("{k} KiB ({:.2} MiB)", k as f64 / 1024.0)
}

/// Calls `f` every 10 ms until it returns something or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
