//! Throughput of the built `dhcpmgr-shield-web` (release profile under `cargo bench`): a
//! stand-in for the daemon's shield socket streams realistic events at rising rates; one
//! WebSocket client (all events, a high per-session limit) and the collector export (TCP,
//! octet counting, to a counting sink) take them. Prints, per rate: events offered,
//! delivered to the WebSocket, dropped (the session's counts), received by the collector,
//! and the web program's CPU time per 1000 events; then its idle and busy RSS.
//!
//!     cargo bench -p dhcpmgr-shield-web --bench stream
//!     SHIELD_WEB_BENCH_RATES=1000,5000 SHIELD_WEB_BENCH_SECS=2 cargo bench …
//!     SHIELD_WEB_BENCH_TLS=1 cargo bench …    # the export over TLS (certificates made with
//!                                              # the openssl command)
//!
//! Then, when chromium is installed, the page itself: headless chromium shows the stream
//! (a second session) at rising rates; printed are the events the page counted and the drops
//! it shows (a page that cannot keep up makes its session lag, and the server counts those).

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An event shaped like the shield's (a DHCPv4 REQUEST with its options).
fn event(seq: u64) -> String {
    json!({"seq": seq, "time": "2026-12-02T16:37:40.558Z", "proto": "v4", "interface": "brlan0",
        "message_type": "REQUEST", "xid": format!("0x{:08x}", seq as u32), "client_mac": "02:00:00:00:0b:01",
        "source_mac": "02:00:00:00:0b:01", "dest_mac": "ff:ff:ff:ff:ff:ff", "source_ip": "0.0.0.0",
        "dest_ip": "255.255.255.255", "source_port": 68, "dest_port": 67, "op_code": "BOOTREQUEST",
        "hw_type": "ethernet", "vendor_class": "udhcp 1.35.0", "client_identifier": "01020000000b01",
        "server_ip": "192.168.1.66", "requested_ip": "192.168.1.52", "option_count": 7,
        "dhcp_options": {"50": "c0a80134", "53": "03", "54": "c0a80142", "55": "01030627", "57": "0240",
        "60": "udhcp 1.35.0", "61": "01020000000b01"}, "verdict": "accept", "mark": 1152581633u32,
        "matched_rule": "unknown", "processing_time_ms": 0.021})
    .to_string()
}

/// The stand-in daemon: answers `stream` and sends what the bench queues, paced by `rate`.
struct Daemon {
    rate: Arc<AtomicU64>,
    budget: Arc<AtomicU64>,
}

fn stand_in(listener: UnixListener) -> Daemon {
    let rate = Arc::new(AtomicU64::new(0));
    let budget = Arc::new(AtomicU64::new(0));
    let (r, b) = (rate.clone(), budget.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut line = String::new();
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let request: Value = serde_json::from_str(&line).unwrap_or_default();
            if request["cmd"] != "stream" {
                let _ = conn.write_all(b"{\"ok\":true,\"filters\":{}}\n");
                continue;
            }
            let _ = conn.write_all(b"{\"ok\":true}\n");
            let (rate, budget) = (r.clone(), b.clone());
            std::thread::spawn(move || {
                let mut seq = 0u64;
                loop {
                    let n = budget.swap(0, Ordering::AcqRel);
                    if n == 0 {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    let per_sec = rate.load(Ordering::Acquire).max(1);
                    let start = Instant::now();
                    for i in 0..n {
                        seq += 1;
                        let text = format!("{{\"event\":{}}}\n", event(seq));
                        if conn.write_all(text.as_bytes()).is_err() {
                            return;
                        }
                        let due = start + Duration::from_nanos((i + 1) * 1_000_000_000 / per_sec);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                }
            });
        }
    });
    Daemon { rate, budget }
}

#[path = "../tests/common/certs.rs"]
mod certs;
// The bench drives the page with the browser test's DevTools client (not all of it).
#[allow(dead_code)]
#[path = "../tests/common/browser.rs"]
mod browser;

/// A TLS acceptor with a certificate for 127.0.0.1, and its CA's file.
fn acceptor(dir: &std::path::Path) -> (SslAcceptor, std::path::PathBuf) {
    let made = certs::make_certs(dir, [127, 0, 0, 1].into());
    let mut acceptor =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).expect("acceptor");
    acceptor
        .set_certificate_chain_file(&made.cert)
        .expect("cert");
    acceptor
        .set_private_key_file(&made.key, SslFiletype::PEM)
        .expect("key");
    (acceptor.build(), made.ca)
}

/// A collector counting octet-counted messages (inside TLS with `tls`).
fn sink(listener: TcpListener, count: Arc<AtomicU64>, tls: Option<Arc<SslAcceptor>>) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let count = count.clone();
            let tls = tls.clone();
            std::thread::spawn(move || {
                let conn: Box<dyn Read + Send> = match tls {
                    Some(acceptor) => match acceptor.accept(conn) {
                        Ok(s) => Box::new(s),
                        Err(_) => return,
                    },
                    None => Box::new(conn),
                };
                let mut r = BufReader::with_capacity(1 << 16, conn);
                let mut len = Vec::new();
                let mut body = vec![0u8; 65536];
                loop {
                    len.clear();
                    if r.read_until(b' ', &mut len).map_or(true, |n| n == 0) {
                        return;
                    }
                    let n: usize = std::str::from_utf8(&len[..len.len() - 1])
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    if n == 0 || n > body.len() || r.read_exact(&mut body[..n]).is_err() {
                        return;
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
}

/// utime + stime of `pid` in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let rates: Vec<u64> = std::env::var("SHIELD_WEB_BENCH_RATES")
        .unwrap_or_else(|_| "500,1000,2000,5000,10000,20000,40000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("SHIELD_WEB_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("shield.sock");
    let daemon = stand_in(UnixListener::bind(&socket).expect("bind the stand-in"));
    let collector = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
    let collector_addr = collector.local_addr().expect("addr");
    let exported = Arc::new(AtomicU64::new(0));
    let tls = std::env::var_os("SHIELD_WEB_BENCH_TLS").is_some_and(|v| v == "1");
    let (acceptor, transport) = if tls {
        let (acceptor, ca) = acceptor(dir.path());
        (
            Some(Arc::new(acceptor)),
            format!("transport = \"tls\"\nca_file = \"{}\"\n", ca.display()),
        )
    } else {
        (None, "transport = \"tcp\"\n".to_string())
    };
    sink(collector, exported.clone(), acceptor);
    let web_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = dir.path().join("shield-web.toml");
    std::fs::write(
        &config,
        format!(
            "socket = \"{}\"\ntoken_file = \"{}\"\n[web]\nlisten = \"127.0.0.1:{web_port}\"\n\
             events_per_second = 1000000\nburst_multiplier = 1\n[export]\ncollector = \"{collector_addr}\"\n\
             queue = 10000\nhostname = \"bench\"\n{transport}",
            socket.display(),
            dir.path().join("token").display()
        ),
    )
    .expect("write config");
    let binary = env!("CARGO_BIN_EXE_dhcpmgr-shield-web");
    let web = Killed(
        Command::new(binary)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start dhcpmgr-shield-web"),
    );
    let pid = web.0.id();
    let size = std::fs::metadata(binary).map_or(0, |m| m.len());
    let mut ws = None;
    let mut token = String::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        let Ok(text) = std::fs::read_to_string(dir.path().join("token")) else {
            continue;
        };
        token = text.trim().to_string();
        let Ok(tcp) = TcpStream::connect(("127.0.0.1", web_port)) else {
            continue;
        };
        let url = format!("ws://127.0.0.1:{web_port}/api/ws/dhcp-events?token={token}");
        if let Ok((c, _)) = tungstenite::client(url.as_str(), tcp) {
            ws = Some(c);
            break;
        }
    }
    let mut ws = ws.expect("a WebSocket session with dhcpmgr-shield-web");
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_kib(pid);
    let delivered = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(Mutex::new(Value::Null));
    {
        let (delivered, dropped) = (delivered.clone(), dropped.clone());
        std::thread::spawn(move || loop {
            let Ok(Message::Text(t)) = ws.read() else {
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
            match v["type"].as_str() {
                Some("event") => {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
                Some("dropped") => *dropped.lock().unwrap_or_else(|p| p.into_inner()) = v,
                _ => {}
            }
        });
    }
    println!(
        "dhcpmgr-shield-web {binary}: {size} bytes, idle RSS {idle_rss} KiB, export over {}",
        if tls { "TLS" } else { "TCP" }
    );
    println!(
        "{:>8} {:>9} {:>10} {:>9} {:>10} {:>12}",
        "rate/s", "offered", "websocket", "dropped", "exported", "cpu ms/1k"
    );
    let mut offered_total = 0;
    for rate in rates {
        let n = rate * secs;
        // (delivered, dropped, exported, CPU ticks) so far.
        let sample = || {
            let dropped = dropped.lock().unwrap_or_else(|p| p.into_inner())["total"]
                .as_u64()
                .unwrap_or(0);
            (
                delivered.load(Ordering::Relaxed),
                dropped,
                exported.load(Ordering::Relaxed),
                cpu_ticks(pid),
            )
        };
        let (d0, drop0, e0, c0) = sample();
        daemon.rate.store(rate, Ordering::Release);
        daemon.budget.store(n, Ordering::Release);
        offered_total += n;
        std::thread::sleep(Duration::from_secs(secs) + Duration::from_millis(1500));
        let (d1, drop1, e1, c1) = sample();
        let cpu_ms = (c1 - c0) as f64 * 10.0;
        println!(
            "{rate:>8} {n:>9} {:>10} {:>9} {:>10} {:>12.1}",
            d1 - d0,
            drop1 - drop0,
            e1 - e0,
            cpu_ms * 1000.0 / n as f64
        );
    }
    println!("busy RSS {} KiB after {offered_total} events", rss_kib(pid));
    if which("chromium") {
        page(&daemon, web_port, &token, pid, secs);
    } else {
        println!("chromium not installed: no figures for the page");
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// The page in headless chromium at rising rates: what it counted and the drops it shows.
fn page(daemon: &Daemon, web_port: u16, token: &str, pid: u32, secs: u64) {
    let chromium = browser::start_chromium(Command::new("chromium"));
    let mut page = browser::Cdp::connect(&chromium.endpoint, |addr| {
        TcpStream::connect(addr).expect("connect to DevTools")
    });
    page.navigate(&format!("http://127.0.0.1:{web_port}/?token={token}"));
    page.wait_for(
        "document.getElementById('status')?.className === 'connected'",
        Duration::from_secs(15),
        "the page connects",
        "document.getElementById('status')?.textContent",
    );
    let counts = |page: &mut browser::Cdp| {
        let v = page.eval(
            "[Number(document.getElementById('count-events').textContent), \
              Number(document.getElementById('count-dropped').textContent)]",
        );
        (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
    };
    println!("the page in headless chromium:");
    println!(
        "{:>8} {:>9} {:>10} {:>9} {:>12}",
        "rate/s", "offered", "page", "dropped", "cpu ms/1k"
    );
    let rates: Vec<u64> = std::env::var("SHIELD_WEB_BENCH_PAGE_RATES")
        .unwrap_or_else(|_| "200,500,1000,2000,5000,10000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    for rate in rates {
        let n = rate * secs;
        let ((e0, d0), c0) = (counts(&mut page), cpu_ticks(pid));
        daemon.rate.store(rate, Ordering::Release);
        daemon.budget.store(n, Ordering::Release);
        std::thread::sleep(Duration::from_secs(secs) + Duration::from_millis(2500));
        let ((e1, d1), c1) = (counts(&mut page), cpu_ticks(pid));
        println!(
            "{rate:>8} {n:>9} {:>10} {:>9} {:>12.1}",
            e1 - e0,
            d1 - d0,
            (c1 - c0) as f64 * 10.0 * 1000.0 / n as f64
        );
    }
}
