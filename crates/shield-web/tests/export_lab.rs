//! Export to a real collector: the real daemon's shield inspects DHCPDISCOVERs sent from a LAN
//! host, `dhcpmgr-shield-web` ships them as RFC 5424 messages over TCP (octet counting) to
//! Debian's rsyslog in the ISP namespace, which parses the structured data (mmpstrucdata) and
//! writes each message's SD as JSON. 10 000 events arrive intact and parseable; rsyslog
//! stopped for 30 s: the shield keeps inspecting, the exporter's queue fills and its drops are
//! counted and shown by `dhcpmgrctl shield status`, nothing else is lost; rsyslog started
//! again: delivery resumes. Root, rsyslog, busybox, nft and iptables are required
//! (`DHCPMGR_SKIP_LAB=1` skips).

// Test code: a failed `unwrap`/`expect` is a failed test with its message; `unsafe` is
// only the libc calls (setns, kill, raw sockets) the lab needs.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dhcpmgr_lab::{Lab, ISP_V4, LAN_GW, WAN_IF};
use serde_json::Value;

use common::certs::{make_certs, Certs};
use common::{ctl, in_netns, shield_lab, start_web, ShieldLab, CLIENT_MAC};

const COLLECTOR_PORT: u16 = 10514;
const QUEUE: u64 = 5000;
const HOST_ADDR: &str = "192.168.1.20";
/// Packets per second the generator sends (the shield's NFQUEUE would bypass a burst).
const RATE: u64 = 1000;

/// rsyslogd in the ISP namespace, killed when dropped.
struct Rsyslog {
    child: Child,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Rsyslog {
    /// Stops rsyslogd (SIGTERM, as a service stop does) and waits for it.
    fn stop(mut self) {
        // SAFETY: a signal to our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// rsyslog's config: imtcp on the collector's address (with the gtls driver when `certs`),
/// mmpstrucdata, and each message's header parts and SD as JSON, one line each, in `out`.
fn rsyslog_config(dir: &Path, out: &Path, certs: Option<&Certs>) -> PathBuf {
    let work = dir.join("rsyslog-work");
    std::fs::create_dir_all(&work).expect("rsyslog work dir");
    let conf = dir.join("rsyslog.conf");
    let (tls_global, tls_module) = match certs {
        Some(c) => (
            format!(
                r#" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{}" DefaultNetstreamDriverCertFile="{}" DefaultNetstreamDriverKeyFile="{}""#,
                c.ca.display(),
                c.cert.display(),
                c.key.display()
            ),
            r#" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon""#,
        ),
        None => (String::new(), ""),
    };
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k"{tls_global})
module(load="imtcp"{tls_module})
module(load="mmpstrucdata")
template(name="sd" type="list") {{
  property(name="app-name") constant(value=" ") property(name="msgid") constant(value=" ")
  property(name="hostname") constant(value=" ") property(name="$!rfc5424-sd") constant(value="\n")
}}
ruleset(name="shield") {{
  action(type="mmpstrucdata")
  action(type="omfile" file="{out}" template="sd")
}}
input(type="imtcp" address="{ISP_V4}" port="{COLLECTOR_PORT}" ruleset="shield")
"#,
            work = work.display(),
            out = out.display()
        ),
    )
    .expect("write the rsyslog config");
    conf
}

fn start_rsyslog(lab: &Lab, conf: &Path) -> Rsyslog {
    if common::find_program("rsyslogd").is_none() {
        panic!("rsyslogd not found: apt-get install rsyslog (scripts/install-deps.sh)");
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.dir().join("rsyslogd.log"))
        .expect("rsyslogd log");
    let pid = lab.dir().join("rsyslogd.pid");
    let child = lab
        .isp()
        .command("rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(conf)
        .arg("-i")
        .arg(&pid)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("start rsyslogd");
    let isp = lab.isp().name().to_string();
    let listening = (0..100).any(|_| {
        let ns = isp.clone();
        let up = in_netns(&ns, || {
            std::net::TcpStream::connect((ISP_V4, COLLECTOR_PORT)).is_ok()
        });
        if !up {
            std::thread::sleep(Duration::from_millis(100));
        }
        up
    });
    assert!(
        listening,
        "rsyslogd does not listen on {ISP_V4}:{COLLECTOR_PORT}: {}",
        std::fs::read_to_string(lab.dir().join("rsyslogd.log")).unwrap_or_default()
    );
    Rsyslog { child }
}

/// A DHCPDISCOVER from `mac` with transaction id `xid` (BOOTP header, cookie, option 53).
fn discover(xid: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1;
    p[1] = 1;
    p[2] = 6;
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[28..34].copy_from_slice(&mac);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, 1, 255]);
    p
}

fn mac_bytes(mac: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (o, part) in out.iter_mut().zip(mac.split(':')) {
        *o = u8::from_str_radix(part, 16).expect("hex MAC");
    }
    out
}

/// Sends DISCOVERs with xids `first..first+count` from the LAN host to the gateway, paced.
fn send_discovers(lan_ns: &str, first: u32, count: u32) {
    in_netns(lan_ns, move || {
        let socket = UdpSocket::bind((HOST_ADDR, 68)).expect("bind the LAN host's port 68");
        let mac = mac_bytes(CLIENT_MAC);
        let start = Instant::now();
        for i in 0..count {
            socket
                .send_to(&discover(first + i, mac), (LAN_GW, 67))
                .expect("send a DISCOVER");
            let due = start + Duration::from_micros(u64::from(i + 1) * 1_000_000 / RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    });
}

/// What rsyslog wrote: the events' SD parameters by xid, the audit records' in order, and
/// the number of event lines.
struct Collected {
    events: BTreeMap<String, Value>,
    audit: Vec<Value>,
    lines: usize,
}

fn collected(path: &Path) -> Collected {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut got = Collected {
        events: BTreeMap::new(),
        audit: Vec::new(),
        lines: 0,
    };
    for line in text.lines() {
        let mut parts = line.splitn(4, ' ');
        let (app, msgid, host, sd) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        assert_eq!(
            (app, host),
            ("dhcpmgr-shield", "gw-lab"),
            "header of {line}"
        );
        let sd: Value = serde_json::from_str(sd)
            .unwrap_or_else(|e| panic!("rsyslog's structured data is not JSON ({e}): {line}"));
        let fields = sd["dhcp@32473"].clone();
        match msgid {
            "dhcp-event" => {
                got.lines += 1;
                let xid = fields["xid"].as_str().unwrap_or("").to_string();
                assert!(
                    got.events.insert(xid.clone(), fields).is_none(),
                    "xid {xid} arrived twice"
                );
            }
            "audit" => got.audit.push(fields),
            other => panic!("unexpected MSGID {other:?}: {line}"),
        }
    }
    got
}

fn xid(n: u32) -> String {
    format!("0x{n:08x}")
}

fn export_status(s: &ShieldLab) -> Value {
    let status: Value = serde_json::from_str(&ctl(s, &["status"])).expect("status JSON");
    status
}

fn wait(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("timed out: {what}");
    false
}

/// The lab with the shield's limits raised for a steady 1000 packets/s, an address for the
/// LAN host and one for the gateway's WAN side (the collector's network).
fn lab() -> Option<ShieldLab> {
    let s = shield_lab(
        "mac_rate = 100000\nmac_burst = 100000\nqueue_rate = 10000\nqueue_burst = 10000\n\
         queue_maxlen = 1024\nstream_rate = 100000\nstream_burst = 100000\njournal = false",
    )?;
    s.lan.ns().ip(&[
        "addr",
        "add",
        &format!("{HOST_ADDR}/24"),
        "dev",
        &s.client.ifname,
    ]);
    s.lab
        .cpe()
        .ip(&["addr", "add", "192.0.2.2/24", "dev", WAN_IF]);
    Some(s)
}

/// `[export]` to the lab's collector over TLS, trusting `ca`.
fn tls_export(ca: &Path) -> String {
    format!(
        "[export]\ncollector = \"{ISP_V4}:{COLLECTOR_PORT}\"\ntransport = \"tls\"\n\
         ca_file = \"{}\"\nhostname = \"gw-lab\"\n",
        ca.display()
    )
}

#[test]
fn events_reach_rsyslog_over_tls() {
    let Some(s) = lab() else { return };
    let lan_ns = s.lan.ns().name().to_string();
    let certs = make_certs(s.lab.dir(), ISP_V4.into());
    let out = s.lab.dir().join("collected-tls.log");
    let conf = rsyslog_config(s.lab.dir(), &out, Some(&certs));
    let _rsyslog = start_rsyslog(&s.lab, &conf);
    let mut web = start_web(&s, &tls_export(&certs.ca));
    assert!(
        wait(
            "the exporter connects over TLS",
            Duration::from_secs(15),
            || {
                let st = export_status(&s);
                st["export"]["connected"] == true && st["subscribers"] == 1
            }
        ),
        "the exporter did not connect over TLS: {}\n{}",
        export_status(&s),
        web.log_tail()
    );
    const FIRST: u32 = 0x7105_0000;
    const COUNT: u32 = 3000;
    send_discovers(&lan_ns, FIRST, COUNT);
    wait(
        "the messages at the collector",
        Duration::from_secs(30),
        || collected(&out).lines >= COUNT as usize,
    );
    let Collected {
        events: got, lines, ..
    } = collected(&out);
    assert_eq!(lines, COUNT as usize, "status: {}", export_status(&s));
    for n in FIRST..FIRST + COUNT {
        let f = got
            .get(&xid(n))
            .unwrap_or_else(|| panic!("xid {} never arrived over TLS", xid(n)));
        assert_eq!(f["message_type"], "DISCOVER", "{f}");
    }
    assert_eq!(export_status(&s)["export"]["transport"], "tls");

    // An action change reaches the collector as an audit record.
    ctl(
        &s,
        &["set", "02:00:00:00:0b:99", "deny", "--reason", "lab audit"],
    );
    let arrived = wait("the audit record", Duration::from_secs(15), || {
        !collected(&out).audit.is_empty()
    });
    let audit = collected(&out).audit;
    assert!(
        arrived,
        "no audit record at the collector:\n{}",
        web.log_tail()
    );
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["client"], "02:00:00:00:0b:99");
    assert_eq!(audit[0]["action"], "deny");
    assert_eq!(audit[0]["what"], "set");
    assert_eq!(audit[0]["why"], "lab audit");
    assert!(
        audit[0]["who"]
            .as_str()
            .is_some_and(|w| w.starts_with("uid:")),
        "{audit:?}"
    );
    assert!(web.running(), "the exporter died:\n{}", web.log_tail());
    drop(web);

    // A collector whose certificate does not chain to the configured CA is refused.
    let other = s.lab.dir().join("other-ca");
    std::fs::create_dir_all(&other).expect("dir");
    let stranger = make_certs(&other, ISP_V4.into());
    let web = start_web(&s, &tls_export(&stranger.ca));
    assert!(
        wait("the handshake is refused", Duration::from_secs(15), || {
            web.log_tail().contains("certificate verify failed")
        }),
        "no certificate failure in the log:\n{}",
        web.log_tail()
    );
    assert_eq!(export_status(&s)["export"]["connected"], false);
}

#[test]
fn events_reach_rsyslog_and_survive_a_collector_outage() {
    let Some(s) = lab() else { return };
    let lan_ns = s.lan.ns().name().to_string();
    let out = s.lab.dir().join("collected.log");
    let conf = rsyslog_config(s.lab.dir(), &out, None);
    let rsyslog = start_rsyslog(&s.lab, &conf);
    let mut web = start_web(
        &s,
        &format!(
            "[export]\ncollector = \"{ISP_V4}:{COLLECTOR_PORT}\"\ntransport = \"tcp\"\n\
             queue = {QUEUE}\nhostname = \"gw-lab\"\n"
        ),
    );
    assert!(
        wait("the exporter connects", Duration::from_secs(15), || {
            export_status(&s)["export"]["connected"] == true
                && export_status(&s)["subscribers"] == 1
        }),
        "the exporter did not connect: {}\n{}",
        export_status(&s),
        web.log_tail()
    );

    // 10 000 events, all delivered and parseable.
    const FIRST: u32 = 0x5e00_0000;
    send_discovers(&lan_ns, FIRST, 10_000);
    wait(
        "10 000 messages at the collector",
        Duration::from_secs(30),
        || collected(&out).lines >= 10_000,
    );
    let Collected {
        events: got, lines, ..
    } = collected(&out);
    assert_eq!(lines, 10_000, "status: {}", export_status(&s));
    for n in FIRST..FIRST + 10_000 {
        let f = got
            .get(&xid(n))
            .unwrap_or_else(|| panic!("xid {} never arrived", xid(n)));
        assert_eq!(f["message_type"], "DISCOVER", "{f}");
        assert_eq!(f["client_mac"], CLIENT_MAC, "{f}");
        assert_eq!(f["proto"], "v4", "{f}");
        assert_eq!(f["dest_port"], "67", "{f}");
        assert_eq!(f["dhcp_options.53"], "01", "{f}");
        assert!(
            f["seq"].as_str().is_some_and(|q| q.parse::<u64>().is_ok()),
            "{f}"
        );
    }
    // The status file is rewritten every second.
    wait(
        "the status file counts 10 000 sent",
        Duration::from_secs(5),
        || export_status(&s)["export"]["sent"] == 10_000,
    );
    let before = export_status(&s);
    assert_eq!(before["export"]["dropped"], 0, "{before}");
    assert_eq!(before["export"]["sent"], 10_000, "{before}");

    // The collector stops for 30 s.
    rsyslog.stop();
    let stopped = Instant::now();
    assert!(
        wait("the exporter notices", Duration::from_secs(10), || {
            export_status(&s)["export"]["connected"] == false
        }),
        "the exporter still thinks it is connected: {}",
        export_status(&s)
    );
    let packets_before = before["counters"]["packets"].as_u64().unwrap_or(0);
    const OUTAGE: u32 = 8000;
    send_discovers(&lan_ns, FIRST + 10_000, OUTAGE);
    wait(
        "the exporter counts the outage's events",
        Duration::from_secs(5),
        || {
            let e = &export_status(&s)["export"];
            e["queued"].as_u64().unwrap_or(0) + e["dropped"].as_u64().unwrap_or(0)
                == 10_000 + u64::from(OUTAGE)
        },
    );
    let during = export_status(&s);
    let inspected = during["counters"]["packets"].as_u64().unwrap_or(0) - packets_before;
    assert!(
        inspected >= u64::from(OUTAGE),
        "the shield stopped inspecting while the collector was away: {inspected} of {OUTAGE}: {during}"
    );
    let dropped = during["export"]["dropped"].as_u64().unwrap_or(0);
    assert!(
        dropped >= u64::from(OUTAGE) - QUEUE - 1,
        "a full queue of {QUEUE} should drop the rest of {OUTAGE}: {during}"
    );
    assert_eq!(during["export"]["connected"], false, "{during}");
    if let Some(rest) = Duration::from_secs(30).checked_sub(stopped.elapsed()) {
        std::thread::sleep(rest);
    }

    // The collector is back: the queue drains, new events flow again.
    let _rsyslog = start_rsyslog(&s.lab, &conf);
    assert!(
        wait("the queue drains", Duration::from_secs(60), || {
            let st = export_status(&s);
            st["export"]["connected"] == true && st["export"]["queue"] == 0
        }),
        "delivery did not resume: {}\n{}",
        export_status(&s),
        web.log_tail()
    );
    send_discovers(&lan_ns, FIRST + 10_000 + OUTAGE, 1000);
    wait("the last 1000 arrive", Duration::from_secs(30), || {
        collected(&out).lines >= 10_000 + (OUTAGE as usize - dropped as usize) + 1000
    });
    let total = 10_000 + u64::from(OUTAGE) + 1000;
    wait(
        "the status file counts every event",
        Duration::from_secs(5),
        || {
            let e = &export_status(&s)["export"];
            e["queued"].as_u64().unwrap_or(0) + e["dropped"].as_u64().unwrap_or(0) == total
        },
    );
    let got = collected(&out).events;
    let outage_arrived = (FIRST + 10_000..FIRST + 10_000 + OUTAGE)
        .filter(|n| got.contains_key(&xid(*n)))
        .count() as u64;
    let after = export_status(&s);
    assert_eq!(
        outage_arrived + after["export"]["dropped"].as_u64().unwrap_or(0),
        u64::from(OUTAGE),
        "every event of the outage is either delivered or counted as dropped: {after}"
    );
    for n in FIRST + 10_000 + OUTAGE..FIRST + 10_000 + OUTAGE + 1000 {
        assert!(
            got.contains_key(&xid(n)),
            "xid {} after the restart never arrived",
            xid(n)
        );
    }
    assert!(web.running(), "the exporter died:\n{}", web.log_tail());
    eprintln!("export status after the outage: {}", after["export"]);
}
