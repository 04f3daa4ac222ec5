//! Shield benchmark (docs/performance.md#budgets): a plain binary (`harness = false`) that prints what it
//! measured — a table, then one `BENCH_JSON {…}` line — and never asserts a timing. It fails
//! only when something does not work at all.
//!
//! 1. **Engine, one core, no kernel**: packets/s through inspect + track + decide + record for
//!    a DISCOVER from one client, DISCOVERs from random MACs, and the reference captures' frames.
//! 2. **Kernel path**: the daemon with the shield on `brlan0` in the lab; this benchmark's own
//!    traffic generator (an AF_PACKET socket opened inside the `lan` namespace) sends DHCP
//!    DISCOVER frames into the bridge:
//!    - added latency at ~1k packets/s: DISCOVER→OFFER round trips to the LAN's dnsmasq with no
//!      shield (daemon stopped, no rules), in observe mode and in inline mode, interleaved in
//!      blocks (`SHIELD_PROBES`, default 2000, each); p50/p99 of each and the differences;
//!    - per mode: packets/s per CPU-second of the daemon and CPU per 1k packets through the
//!      kernel path → parse → decide (→ verdict);
//!    - control command latency (observe): 500 set/clear, answered after kernel ACK + fsync;
//!    - per mode: memory under a flood of `SHIELD_FLOOD` (default 1,000,000) random MACs;
//!    - per mode: packets userspace saw from a denied MAC flooding 100k frames (should be 0).
//!
//! Run as root (network namespaces, busybox, Kea, dbus-daemon, dnsmasq, nft, iptables):
//!
//! ```sh
//! cargo build --release --workspace
//! DHCPMGR_BIN_DIR=$PWD/target/release cargo bench --bench shield
//! ```

// Test code: a failed `unwrap`/`expect` is a failed test with its message; `unsafe` is
// only the libc calls (setns, kill, raw sockets) the lab needs.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use dhcpmgr::config::Config;
use dhcpmgr_lab::{bin, bin_dir, lab_or_skip, Lab, LAN_BRIDGE};
use dhcpmgr_shield::action::Mac;
use dhcpmgr_shield::engine::Engine;
use dhcpmgr_shield::nfqueue::QueuedPacket;
use dhcpmgr_shield::pcap;
use serde_json::{json, Value};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pcaps");

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn mac(&mut self) -> Mac {
        let b = self.next().to_be_bytes();
        // Locally administered unicast.
        Mac([(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]])
    }
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 DHCPDISCOVER (broadcast, 0.0.0.0:68 → 255.255.255.255:67).
fn discover_ip(chaddr: Mac, xid: u32) -> Vec<u8> {
    let mut bootp = vec![0u8; 236];
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    bootp[4..8].copy_from_slice(&xid.to_be_bytes());
    bootp[10] = 0x80; // broadcast flag: replies come back broadcast
    bootp[28..34].copy_from_slice(&chaddr.0);
    bootp.extend_from_slice(&[99, 130, 83, 99, 53, 1, 1, 55, 4, 1, 3, 6, 15, 12, 5]);
    bootp.extend_from_slice(b"bench");
    bootp.push(255);
    let udp_len = 8 + bootp.len();
    let total = 20 + udp_len;
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    ip.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 255]);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&68u16.to_be_bytes());
    ip.extend_from_slice(&67u16.to_be_bytes());
    ip.extend_from_slice(&(udp_len as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(&bootp);
    ip
}

fn frame(src: Mac, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

// ---- 1. the engine alone ----

fn engine_rate(
    name: &str,
    packets: &[QueuedPacket],
    rounds: usize,
    out: &mut BTreeMap<String, Value>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::parse("").expect("default config").shield;
    cfg.journal = false;
    let mut engine = Engine::standalone(&cfg, dir.path()).expect("standalone engine");
    let start = Instant::now();
    let mut n = 0u64;
    for _ in 0..rounds {
        for p in packets {
            std::hint::black_box(engine.process(p));
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let pps = n as f64 / secs;
    println!(
        "engine, one core, {name:<28} {pps:>12.0} packets/s ({n} packets, tracked {})",
        engine.tracked()
    );
    out.insert(format!("engine_pps_{name}"), json!(pps.round()));
}

fn engine_benchmarks(out: &mut BTreeMap<String, Value>) {
    let mut rng = Rng(0x5eed);
    let one = Mac([2, 0, 0, 0, 0, 1]);
    let same: Vec<QueuedPacket> = (0..10_000)
        .map(|i| QueuedPacket {
            id: i,
            source_mac: Some(one),
            indev: Some(1),
            payload: discover_ip(one, i),
            ..QueuedPacket::default()
        })
        .collect();
    engine_rate("one_client_discover", &same, 30, out);
    let random: Vec<QueuedPacket> = (0..100_000)
        .map(|i| {
            let mac = rng.mac();
            QueuedPacket {
                id: i,
                source_mac: Some(mac),
                indev: Some(1),
                payload: discover_ip(mac, i),
                ..QueuedPacket::default()
            }
        })
        .collect();
    engine_rate("random_macs_discover", &random, 3, out);
    let mut corpus = Vec::new();
    if let Ok(dir) = fs::read_dir(CAPTURES) {
        for entry in dir.flatten() {
            let Ok(frames) = fs::read(entry.path()).map(|b| pcap::read(&b)) else {
                continue;
            };
            for f in frames.into_iter().flatten().take(200) {
                if let Some((src, _, ip)) = pcap::ip_packet(&f) {
                    corpus.push(QueuedPacket {
                        id: corpus.len() as u32,
                        source_mac: src,
                        payload: ip.to_vec(),
                        ..QueuedPacket::default()
                    });
                }
            }
        }
    }
    if corpus.is_empty() {
        println!("engine, reference captures: {CAPTURES} not found, skipped");
    } else {
        engine_rate("reference_captures", &corpus, 20, out);
    }
}

// ---- 2. the kernel path ----

/// An AF_PACKET socket opened inside a network namespace, bound to one interface.
struct RawSocket {
    fd: i32,
}

impl RawSocket {
    fn open(netns: &str, ifname: &str) -> RawSocket {
        let path = format!("/var/run/netns/{netns}");
        let ifname = ifname.to_string();
        // setns changes only the calling thread; the socket keeps its namespace afterwards.
        std::thread::spawn(move || {
            let ns = fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: plain syscalls on valid descriptors and initialized structs.
            unsafe {
                use std::os::fd::AsRawFd;
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    panic!("setns {path}: {}", std::io::Error::last_os_error());
                }
                let fd = libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW,
                    (libc::ETH_P_ALL as u16).to_be() as i32,
                );
                assert!(
                    fd >= 0,
                    "AF_PACKET socket: {}",
                    std::io::Error::last_os_error()
                );
                let cname = std::ffi::CString::new(ifname.clone()).expect("interface name");
                let index = libc::if_nametoindex(cname.as_ptr());
                assert!(index != 0, "no interface {ifname} in {path}");
                let mut addr: libc::sockaddr_ll = std::mem::zeroed();
                addr.sll_family = libc::AF_PACKET as u16;
                addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
                addr.sll_ifindex = index as i32;
                let rc = libc::bind(
                    fd,
                    &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                );
                assert!(
                    rc == 0,
                    "bind AF_PACKET: {}",
                    std::io::Error::last_os_error()
                );
                let tv = libc::timeval {
                    tv_sec: 0,
                    tv_usec: 20_000,
                };
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const libc::timeval as *const libc::c_void,
                    std::mem::size_of::<libc::timeval>() as u32,
                );
                RawSocket { fd }
            }
        })
        .join()
        .expect("raw socket thread")
    }

    fn send(&self, frame: &[u8]) -> bool {
        // SAFETY: the buffer is valid for its length.
        unsafe {
            libc::send(self.fd, frame.as_ptr().cast(), frame.len(), 0) == frame.len() as isize
        }
    }

    /// The next frame, or `None` after the receive timeout.
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        (n > 0).then_some(n as usize)
    }
}

impl Drop for RawSocket {
    fn drop(&mut self) {
        // SAFETY: our own descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// Whether `frame` is a DHCP OFFER for `xid`.
fn is_offer(frame: &[u8], xid: u32) -> bool {
    let Some(ip) = frame.get(14..) else {
        return false;
    };
    let ihl = usize::from(ip.first().map_or(0, |b| b & 0xf)) * 4;
    let udp = ip.get(ihl..).unwrap_or_default();
    udp.get(2..4) == Some(&[0, 68][..]) && udp.get(12..16) == Some(&xid.to_be_bytes()[..])
}

fn round_trips(sock: &RawSocket, mac: Mac, count: usize) -> Vec<f64> {
    let mut buf = vec![0u8; 2048];
    let mut rtts = Vec::with_capacity(count);
    for i in 0..count {
        let xid = 0x4000_0000 + i as u32;
        let start = Instant::now();
        sock.send(&frame(mac, &discover_ip(mac, xid)));
        while start.elapsed() < Duration::from_millis(200) {
            if let Some(n) = sock.recv(&mut buf) {
                if is_offer(&buf[..n], xid) {
                    rtts.push(start.elapsed().as_secs_f64() * 1e6);
                    break;
                }
            }
        }
        // About 1k probes per second.
        let spent = start.elapsed();
        if spent < Duration::from_millis(1) {
            std::thread::sleep(Duration::from_millis(1) - spent);
        }
    }
    rtts.sort_by(f64::total_cmp);
    rtts
}

fn proc_status(pid: u32, key: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix(" kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// utime + stime of all threads, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r.split(' ').collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn shield_ctl(socket: &Path, args: &[&str]) -> Value {
    let out = std::process::Command::new(bin("dhcpmgrctl"))
        .arg("shield")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run dhcpmgrctl");
    assert!(
        out.status.success(),
        "dhcpmgrctl shield {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn packets_seen(socket: &Path) -> u64 {
    shield_ctl(socket, &["status"])["counters"]["packets"]
        .as_u64()
        .unwrap_or(0)
}

/// Control command latency: `set` / `clear` answered (kernel ACK and fsync included), each on
/// a connection of its own as `dhcpmgrctl` makes them.
fn control_latency(lab: &Lab, socket: &Path, out: &mut BTreeMap<String, Value>) {
    const COMMANDS: usize = 500;
    let mut took = Vec::with_capacity(COMMANDS);
    for i in 0..COMMANDS {
        let mac = Mac([2, 0, 0, 0, 0x0e, (i / 2 % 250) as u8]).to_string();
        let request = if i % 2 == 0 {
            json!({"cmd": "set", "client": mac, "action": "block", "duration": "10m"})
        } else {
            json!({"cmd": "clear", "client": mac})
        };
        let t0 = Instant::now();
        let answer = lab
            .shield_request(socket, &request)
            .unwrap_or_else(|e| panic!("{request}: {e}"));
        took.push(t0.elapsed().as_secs_f64() * 1e6);
        assert_eq!(answer["ok"], true, "{request}: {answer}");
    }
    took.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&took, 0.5), percentile(&took, 0.99));
    println!(
        "control commands ({COMMANDS} set/clear, answered after kernel ACK + fsync): p50 {p50:.0} µs, p99 {p99:.0} µs"
    );
    out.insert("control_p50_us".into(), json!(p50.round()));
    out.insert("control_p99_us".into(), json!(p99.round()));
}

fn stats(name: &str, rtts: &mut [f64]) -> (f64, f64) {
    rtts.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(rtts, 0.5), percentile(rtts, 0.99));
    println!(
        "DISCOVER→OFFER round trip, ~1k/s, {name}: p50 {p50:.0} µs, p99 {p99:.0} µs ({} answered)",
        rtts.len()
    );
    (p50, p99)
}

fn kernel_benchmarks(lab: &Lab, out: &mut BTreeMap<String, Value>) {
    let mut lan = lab.lan();
    let host = lan.host("02:00:00:00:0b:01");
    lan.start_dhcp_server();
    let mut config = lab.daemon_config();
    config.v4_clients.clear();
    let socket = config.run_dir.join("shield.sock");
    let sock = RawSocket::open(lan.ns().name(), &host.ifname);
    let probe_mac = Mac([2, 0, 0, 0, 0x0b, 0x01]);
    let probes: usize = std::env::var("SHIELD_PROBES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);

    // The daemon's idle memory without the shield, for comparison.
    {
        let path = lab.write_daemon_config(&config);
        let daemon = lab.start_daemon(&path);
        std::thread::sleep(Duration::from_secs(1));
        let rss = proc_status(daemon.pid(), "VmRSS:");
        println!("daemon idle without the shield: VmRSS {rss} KiB");
        out.insert("rss_idle_without_shield_kib".into(), json!(rss));
        daemon.terminate();
    }
    let start = |mode: &str| {
        let mut c = config.clone();
        c.extra_toml = format!(
            "[shield]\nenable = true\nmode = \"{mode}\"\ninterfaces = [\"{LAN_BRIDGE}\"]\nipv6 = false\n\
             journal = false\nqueue_maxlen = 4096\nqueue_rate = 0\n\
             mac_rate = 100000\nmac_burst = 100000\n"
        );
        let daemon = lab.start_daemon(&lab.write_daemon_config(&c));
        lab.wait_until(Duration::from_secs(10), "the shield enforces", || {
            lab.shield_request(&socket, &json!({"cmd": "status"}))
                .is_ok_and(|s| s["enforcing"] == true && s["mode"] == mode)
        });
        daemon
    };

    // Round trips without the shield (no daemon, no rules), in observe and in inline mode,
    // interleaved in blocks so drift of the machine's load falls on all three alike.
    const BLOCKS: usize = 4;
    let per_block = probes.div_ceil(BLOCKS);
    let (mut off, mut observe, mut inline) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..BLOCKS {
        let _ = round_trips(&sock, probe_mac, 20);
        off.extend(round_trips(&sock, probe_mac, per_block));
        for (mode, into) in [("observe", &mut observe), ("inline", &mut inline)] {
            let daemon = start(mode);
            let _ = round_trips(&sock, probe_mac, 20);
            into.extend(round_trips(&sock, probe_mac, per_block));
            daemon.terminate();
        }
    }
    let (p50_off, p99_off) = stats("no shield", &mut off);
    for (mode, rtts) in [("observe", &mut observe), ("inline", &mut inline)] {
        let (p50, p99) = stats(mode, rtts);
        println!(
            "  {mode} adds: p50 {:.0} µs, p99 {:.0} µs",
            p50 - p50_off,
            p99 - p99_off
        );
        out.insert(format!("rtt_p50_us_{mode}"), json!(p50.round()));
        out.insert(format!("rtt_p99_us_{mode}"), json!(p99.round()));
        out.insert(
            format!("added_p50_us_{mode}"),
            json!((p50 - p50_off).round()),
        );
        out.insert(
            format!("added_p99_us_{mode}"),
            json!((p99 - p99_off).round()),
        );
    }
    out.insert("rtt_p50_us_without".into(), json!(p50_off.round()));
    out.insert("rtt_p99_us_without".into(), json!(p99_off.round()));

    let flood: usize = std::env::var("SHIELD_FLOOD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    for mode in ["observe", "inline"] {
        let daemon = start(mode);
        let pid = daemon.pid();
        std::thread::sleep(Duration::from_secs(1));
        let idle_rss = proc_status(pid, "VmRSS:");
        println!("{mode}: daemon idle with the shield: VmRSS {idle_rss} KiB");
        out.insert(format!("rss_idle_kib_{mode}"), json!(idle_rss));
        let _ = round_trips(&sock, probe_mac, 200);
        if mode == "inline" {
            in_shield_time(&socket, out);
        } else {
            control_latency(lab, &socket, out);
        }
        kernel_path(mode, &sock, &socket, pid, out);
        flood_memory(mode, flood, &sock, &socket, pid, idle_rss, out);
        denied_flood(mode, lab, &sock, &socket, out);
        daemon.terminate();
    }
}

/// The shield's own time per packet (parse + decide + record, before the verdict is sent).
fn in_shield_time(socket: &Path, out: &mut BTreeMap<String, Value>) {
    let events = std::process::Command::new(bin("dhcpmgrctl"))
        .arg("shield")
        .arg("--socket")
        .arg(socket)
        .args(["events", "--limit", "100000"])
        .output()
        .expect("run dhcpmgrctl");
    let mut inside: Vec<f64> = String::from_utf8_lossy(&events.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["processing_time_ms"].as_f64())
        .map(|ms| ms * 1000.0)
        .collect();
    inside.sort_by(f64::total_cmp);
    println!(
        "in the shield per packet ({} events): p50 {:.1} µs, p99 {:.1} µs",
        inside.len(),
        percentile(&inside, 0.5),
        percentile(&inside, 0.99)
    );
    out.insert(
        "processing_p50_us".into(),
        json!((percentile(&inside, 0.5) * 10.0).round() / 10.0),
    );
    out.insert(
        "processing_p99_us".into(),
        json!((percentile(&inside, 0.99) * 10.0).round() / 10.0),
    );
}

/// Throughput: a burst of random-MAC DISCOVERs through the kernel path into the shield.
fn kernel_path(
    mode: &str,
    sock: &RawSocket,
    socket: &Path,
    pid: u32,
    out: &mut BTreeMap<String, Value>,
) {
    let mut rng = Rng(0xf100d);
    let burst: Vec<Vec<u8>> = (0..200_000)
        .map(|i| {
            let mac = rng.mac();
            frame(mac, &discover_ip(mac, i))
        })
        .collect();
    let seen0 = packets_seen(socket);
    let cpu0 = cpu_secs(pid);
    let t0 = Instant::now();
    let sent = burst.iter().filter(|f| sock.send(f)).count();
    let send_secs = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let seen = packets_seen(socket) - seen0;
    let cpu = cpu_secs(pid) - cpu0;
    let per_core = seen as f64 / cpu.max(1e-9);
    let cpu_per_1k_ms = cpu * 1e6 / (seen.max(1) as f64);
    println!(
        "{mode}: kernel path: sent {sent} in {send_secs:.2} s ({:.0}/s offered), shield processed {seen} using {cpu:.2} CPU-s \
         = {per_core:.0} packets per CPU-second, {cpu_per_1k_ms:.1} ms CPU per 1k packets (the rest passed uninspected: fail-open)",
        sent as f64 / send_secs
    );
    out.insert(
        format!("kernel_offered_pps_{mode}"),
        json!((sent as f64 / send_secs).round()),
    );
    out.insert(format!("kernel_processed_{mode}"), json!(seen));
    out.insert(
        format!("kernel_pps_per_cpu_second_{mode}"),
        json!(per_core.round()),
    );
    out.insert(
        format!("cpu_ms_per_1k_packets_{mode}"),
        json!((cpu_per_1k_ms * 10.0).round() / 10.0),
    );
}

/// Memory under a flood of `flood` random MACs.
fn flood_memory(
    mode: &str,
    flood: usize,
    sock: &RawSocket,
    socket: &Path,
    pid: u32,
    idle_rss: u64,
    out: &mut BTreeMap<String, Value>,
) {
    let mut rng = Rng(0x5eed_0000 + flood as u64);
    let seen0 = packets_seen(socket);
    let t0 = Instant::now();
    for i in 0..flood {
        let mac = rng.mac();
        sock.send(&frame(mac, &discover_ip(mac, i as u32)));
    }
    std::thread::sleep(Duration::from_secs(2));
    let status = shield_ctl(socket, &["status"]);
    let seen = packets_seen(socket) - seen0;
    let (rss, hwm) = (proc_status(pid, "VmRSS:"), proc_status(pid, "VmHWM:"));
    println!(
        "{mode}: flood of {flood} random MACs in {:.1} s: shield saw {seen}; RSS idle {idle_rss} KiB → {rss} KiB (peak {hwm} KiB); \
         tracked {} evicted {}",
        t0.elapsed().as_secs_f64(),
        status["counters"]["clients_tracked"],
        status["counters"]["clients_evicted"]
    );
    out.insert(format!("rss_after_flood_kib_{mode}"), json!(rss));
    out.insert(format!("hwm_after_flood_kib_{mode}"), json!(hwm));
    out.insert("flood_macs".into(), json!(flood));
    out.insert(format!("flood_seen_{mode}"), json!(seen));
}

/// A denied MAC flooding: userspace should see none of it.
fn denied_flood(
    mode: &str,
    lab: &Lab,
    sock: &RawSocket,
    socket: &Path,
    out: &mut BTreeMap<String, Value>,
) {
    let denied = Mac([2, 0, 0, 0, 0x0d, 0x0d]);
    shield_ctl(
        socket,
        &["set", &denied.to_string(), "deny", "--reason", "bench"],
    );
    // Answered means in the kernel.
    assert!(lab
        .shield_set("deny")
        .is_some_and(|s| s.contains(&denied.to_string())));
    let seen0 = packets_seen(socket);
    for i in 0..100_000u32 {
        sock.send(&frame(denied, &discover_ip(denied, i)));
    }
    std::thread::sleep(Duration::from_secs(1));
    let seen = packets_seen(socket) - seen0;
    println!("{mode}: denied MAC flooding 100000 frames: userspace saw {seen}");
    out.insert(format!("denied_flood_seen_{mode}"), json!(seen));
}

fn main() {
    let mut out = BTreeMap::new();
    println!("shield benchmark (binaries from {})", bin_dir().display());
    engine_benchmarks(&mut out);
    match lab_or_skip() {
        Some(lab) => kernel_benchmarks(&lab, &mut out),
        None => println!("kernel path skipped (DHCPMGR_SKIP_LAB=1)"),
    }
    println!(
        "BENCH_JSON {}",
        serde_json::to_string(&out).unwrap_or_default()
    );
}
