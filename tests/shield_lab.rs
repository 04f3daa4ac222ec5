//! The DHCP shield in the lab (docs/testing.md#the-lab): a LAN client behind the shield gets its lease from a
//! dnsmasq LAN server while events are recorded and streamed; DHCP keeps flowing when the
//! daemon is SIGSTOPped or SIGKILLed (fail-open); a denied client gets nothing and costs
//! userspace nothing; a rogue server on the LAN is detected and the gateway's own is not; the
//! rules are gone after a stop. Observe mode (the default) watches copies and leaves
//! enforcement to the kernel; inline mode holds each packet for a verdict.
//! Root, busybox, dnsmasq, nft and iptables are required (`DHCPMGR_SKIP_LAB=1` skips).

// Test code: a failed `unwrap`/`expect` is a failed test with its message; `unsafe` is
// only the libc calls (setns, kill, raw sockets) the lab needs.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dhcpmgr_lab::{bin, lab_or_skip, DaemonProcess, Lab, Lan, LanHost, Signal, LAN_BRIDGE, LAN_GW};
use serde_json::Value;

const CLIENT_MAC: &str = "02:00:00:00:0a:01";
const ROGUE_MAC: &str = "02:00:00:00:0a:66";

struct Setup {
    lan: Lan,
    client: LanHost,
    config: PathBuf,
    socket: PathBuf,
    lab: Lab,
}

/// A lab with the LAN, its DHCP server, one client host and a daemon config with the shield on
/// `brlan0` (plus `shield_extra` lines in `[shield]`, and `extra` tables after it).
fn setup(shield_extra: &str, extra: &str) -> Option<Setup> {
    let lab = lab_or_skip()?;
    let mut lan = lab.lan();
    let client = lan.host(CLIENT_MAC);
    lan.start_dhcp_server();
    let mut config = lab.daemon_config();
    config.v4_clients.clear();
    config.extra_toml = format!(
        "[shield]\nenable = true\ninterfaces = [\"{LAN_BRIDGE}\"]\n{shield_extra}\n{extra}"
    );
    let socket = config.run_dir.join("shield.sock");
    let config = lab.write_daemon_config(&config);
    Some(Setup {
        lan,
        client,
        config,
        socket,
        lab,
    })
}

impl Setup {
    fn start(&self) -> DaemonProcess {
        let daemon = self.lab.start_daemon(&self.config);
        // The socket answers from the start; the shield enforces once its rules are in place
        // and its sets reconciled.
        self.lab
            .wait_until(Duration::from_secs(10), "the shield enforces", || {
                self.lab
                    .shield_request(&self.socket, &serde_json::json!({"cmd": "status"}))
                    .is_ok_and(|s| s["enforcing"] == true)
            });
        daemon
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("dhcpmgrctl"))
            .arg("shield")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run dhcpmgrctl shield")
    }

    fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "dhcpmgrctl shield {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.lab.diagnostics()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.ctl_ok(&["status"])).expect("status is JSON")
    }

    fn events(&self, filter: &str) -> Vec<Value> {
        self.ctl_ok(&["events", "--limit", "1000", "--filter", filter])
            .lines()
            .map(|l| serde_json::from_str(l).expect("events are JSON lines"))
            .collect()
    }

    /// `iptables -t mangle -S` and `nft list tables` in the CPE namespace.
    fn rules(&self) -> String {
        let cpe = self.lab.cpe();
        let ipt = cpe.run(&["iptables", "-w", "-t", "mangle", "-S"]);
        let ip6t = cpe.run(&["ip6tables", "-w", "-t", "mangle", "-S"]);
        let nft = cpe.run(&["nft", "list", "tables"]);
        [ipt, ip6t, nft]
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn lease(&self, host: &LanHost, tries: u32) -> Option<std::net::Ipv4Addr> {
        self.lan.udhcpc(host, tries).addr
    }

    fn must_lease(&self, host: &LanHost, tries: u32, what: &str) -> std::net::Ipv4Addr {
        let got = self.lan.udhcpc(host, tries);
        got.addr.unwrap_or_else(|| {
            let status = self.ctl(&["status"]);
            panic!(
                "{what}: the LAN client got no lease\nudhcpc: {}{}\nshield status: {}{}\n{}",
                String::from_utf8_lossy(&got.output.stdout),
                String::from_utf8_lossy(&got.output.stderr),
                String::from_utf8_lossy(&status.stdout),
                String::from_utf8_lossy(&status.stderr),
                self.lab.diagnostics()
            )
        })
    }
}

fn mac_filter(mac: &str) -> String {
    format!(
        r#"{{"logic":"AND","rules":[{{"field":"client_mac","operator":"eq","value":"{mac}"}}]}}"#
    )
}

/// `dhcpmgrctl shield stream …` with its stdout lines delivered to a channel.
fn stream(setup: &Setup, filter: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(bin("dhcpmgrctl"))
        .arg("shield")
        .arg("--socket")
        .arg(&setup.socket)
        .args(["stream", "--filter", filter])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dhcpmgrctl shield stream");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn rules_gone(rules: &str) -> bool {
    !rules.contains("DHCPMGR_SHIELD") && !rules.contains("dhcpmgr_shield")
}

#[test]
fn lan_client_gets_a_lease_while_events_are_recorded_and_streamed() {
    let Some(s) = setup("mode = \"inline\"", "") else {
        return;
    };
    let daemon = s.start();
    let rules = s.rules();
    assert!(
        rules.contains("-j DHCPMGR_SHIELD")
            && rules.contains("--queue-bypass")
            && rules.contains("dhcpmgr_shield"),
        "rules not installed:\n{rules}"
    );
    // The table that went in over netlink reads back as the rules it stands for.
    let table = s
        .lab
        .cpe()
        .run_ok(&["nft", "list", "table", "inet", "dhcpmgr_shield"]);
    for rule in [
        "type filter hook prerouting priority mangle - 5; policy accept;",
        "iifname \"brlan0\" udp dport 67-68 jump dhcp",
        "iifname \"brlan0\" udp dport 546-547 jump dhcp",
        "ether saddr @deny counter packets",
        "ether saddr @throttle update @throttle_meter { ether saddr limit rate over 10/minute burst 10 packets } counter packets",
        "update @mac_meter { ether saddr limit rate over 20/second burst 40 packets } counter packets",
        "flags dynamic,timeout",
    ] {
        assert!(table.contains(rule), "{rule:?} not in\n{table}");
    }
    let (mut follower, lines) = stream(&s, &mac_filter(CLIENT_MAC));
    // Let the subscription register before the client starts.
    s.lab.wait_until(
        Duration::from_secs(5),
        "the stream has a subscriber",
        || s.status()["subscribers"] == 1,
    );
    let addr = s.must_lease(&s.client, 5, "behind the shield");
    assert!(
        addr.octets()[..3] == [192, 168, 1],
        "unexpected lease {addr}"
    );

    let mut streamed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(streamed
        .iter()
        .any(|e: &Value| e["message_type"] == "DISCOVER")
        && streamed.iter().any(|e| e["message_type"] == "REQUEST"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => streamed.push(serde_json::from_str(&line).expect("stream lines are JSON")),
            Err(_) => panic!(
                "stream did not deliver DISCOVER and REQUEST: {streamed:?}\n{}",
                s.lab.diagnostics()
            ),
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    for e in &streamed {
        assert_eq!(
            e["client_mac"], CLIENT_MAC,
            "the server-side filter let through {e}"
        );
        assert_eq!(e["source_mac"], CLIENT_MAC);
        assert_eq!(e["interface"], LAN_BRIDGE);
        assert_eq!(e["verdict"], "accept");
        assert_eq!(e["proto"], "v4");
        assert!(e["mark"].as_u64().is_some_and(|m| m & 0xff == 1), "{e}");
    }
    // Recorded in the ring too, and counted.
    let recorded = s.events(&mac_filter(CLIENT_MAC));
    assert!(recorded.len() >= 2, "{recorded:?}");
    let status = s.status();
    assert!(
        status["counters"]["packets"].as_u64() >= Some(2),
        "{status}"
    );
    assert_eq!(status["queue_hook"], "iptables");
    // A bad filter is refused with a clear message.
    let bad = s.ctl(&[
        "stream",
        "--filter",
        r#"{"logic":"AND","rules":[{"field":"nope","operator":"eq","value":1}]}"#,
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("rules[0].field: unknown field"),
        "{bad:?}"
    );

    // Saved filters: saved, listed, used by name.
    s.ctl_ok(&["save-filter", "mine", &mac_filter(CLIENT_MAC)]);
    assert!(s.ctl_ok(&["filters"]).contains("\"mine\""));
    let unknown = s.ctl(&["stream", "--saved", "nope"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no saved filter named \"nope\""));

    let status = daemon.terminate();
    assert!(status.success(), "daemon exit: {status}");
    let rules = s.rules();
    assert!(
        rules_gone(&rules),
        "rules left after a clean stop:\n{rules}"
    );
    assert!(!s.socket.exists());
    // The on-disk journal has the client's events; the saved filter persisted.
    let state = s.lab.dir().join("state");
    let journal: String = std::fs::read_dir(state.join("shield-journal"))
        .expect("the journal directory exists")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    assert!(
        journal
            .lines()
            .any(|l| l.contains(CLIENT_MAC) && l.contains("\"DISCOVER\"")),
        "{journal}"
    );
    let saved = std::fs::read_to_string(state.join("shield-filters.json")).expect("saved filters");
    assert!(saved.contains("mine"));
    // Read back from the journal through a new daemon.
    let daemon = s.start();
    let history = s.ctl_ok(&[
        "events",
        "--journal",
        "--limit",
        "10",
        "--filter",
        &mac_filter(CLIENT_MAC),
    ]);
    assert!(
        history.lines().any(|l| l.contains("\"REQUEST\"")),
        "{history}"
    );
    daemon.terminate();
}

#[test]
fn dhcp_keeps_flowing_when_the_daemon_is_stopped_or_killed() {
    // A small queue: a stopped daemon holds at most 2 packets before the kernel fails open.
    let Some(s) = setup("mode = \"inline\"\nqueue_maxlen = 2", "") else {
        return;
    };
    let mut daemon = s.start();
    s.must_lease(&s.client, 5, "with the daemon running");

    daemon.signal(Signal::SIGSTOP);
    let stopped = s.lease(&s.client, 8);
    daemon.signal(Signal::SIGCONT);
    assert!(
        stopped.is_some(),
        "no lease while the daemon was SIGSTOPped\n{}",
        s.lab.diagnostics()
    );

    let status = daemon.sigkill();
    assert!(!status.success());
    s.must_lease(&s.client, 5, "after the daemon was SIGKILLed");
    // The killed daemon's rules are still there; the next start replaces them, its stop
    // removes them.
    assert!(!rules_gone(&s.rules()));
    let daemon = s.start();
    s.must_lease(&s.client, 5, "after a restart");
    daemon.terminate();
    let rules = s.rules();
    assert!(rules_gone(&rules), "rules left:\n{rules}");
}

#[test]
fn denied_client_gets_nothing_and_costs_userspace_nothing() {
    let deny = format!(
        "[[shield.client]]\nclient = \"{CLIENT_MAC}\"\naction = \"deny\"\nreason = \"lab\"\n"
    );
    let Some(s) = setup("", &deny) else { return };
    let daemon = s.start();
    // The kernel set is filled by the enforcer thread right after start.
    s.lab.wait_until(
        Duration::from_secs(5),
        "the deny set holds the client",
        || {
            let out = s
                .lab
                .cpe()
                .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "deny"]);
            String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        },
    );
    assert_eq!(s.lease(&s.client, 3), None, "a denied client got a lease");
    let status = s.status();
    assert_eq!(
        status["counters"]["packets"], 0,
        "denied packets reached userspace: {status}"
    );
    let chain = s
        .lab
        .cpe()
        .run_ok(&["nft", "list", "chain", "inet", "dhcpmgr_shield", "dhcp"]);
    assert!(
        !chain.contains("@deny counter packets 0 "),
        "the deny rule dropped nothing:\n{chain}"
    );
    assert!(s.ctl_ok(&["actions"]).contains("deny"));

    s.ctl_ok(&["clear", CLIENT_MAC]);
    s.lab
        .wait_until(Duration::from_secs(5), "the deny set is empty", || {
            let out = s
                .lab
                .cpe()
                .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "deny"]);
            !String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        });
    s.must_lease(&s.client, 5, "after the deny was cleared");
    let audit = s.ctl_ok(&["audit"]);
    assert!(
        audit.contains("\"who\":\"config\"") && audit.contains("\"what\":\"clear\""),
        "{audit}"
    );

    // Set at run time through the control socket: a block.
    s.ctl_ok(&[
        "set",
        CLIENT_MAC,
        "block",
        "--duration",
        "10m",
        "--reason",
        "lab test",
    ]);
    s.lab
        .wait_until(Duration::from_secs(5), "the block is in the kernel", || {
            let out = s
                .lab
                .cpe()
                .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "deny"]);
            String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        });
    assert_eq!(s.lease(&s.client, 2), None, "a blocked client got a lease");
    daemon.terminate();
}

#[test]
fn throttled_client_is_limited_in_the_kernel() {
    let throttle = format!("[[shield.client]]\nclient = \"{CLIENT_MAC}\"\naction = \"throttle\"\n");
    let Some(s) = setup("throttle_per_minute = 2", &throttle) else {
        return;
    };
    let _daemon = s.start();
    s.lab.wait_until(
        Duration::from_secs(5),
        "the throttle set holds the client",
        || {
            let out =
                s.lab
                    .cpe()
                    .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "throttle"]);
            String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        },
    );
    // Three udhcpc runs (a DISCOVER and a REQUEST when served, two DISCOVERs when not): at
    // most 2 packets a minute may reach userspace.
    let mut said = String::new();
    for _ in 0..3 {
        let got = s.lan.udhcpc(&s.client, 2);
        said += &String::from_utf8_lossy(&got.output.stdout);
        said += &String::from_utf8_lossy(&got.output.stderr);
    }
    let sent =
        said.matches("broadcasting discover").count() + said.matches("broadcasting select").count();
    let seen = s.events(&mac_filter(CLIENT_MAC)).len();
    assert!(sent >= 3, "udhcpc sent only {sent} packets: {said}");
    assert!(
        seen <= 2,
        "a throttled client got {seen} of {sent} packets to userspace (2/minute allowed)"
    );
    let chain = s
        .lab
        .cpe()
        .run_ok(&["nft", "list", "chain", "inet", "dhcpmgr_shield", "dhcp"]);
    assert!(
        !chain.contains("burst 2 packets } counter packets 0 "),
        "the throttle meter dropped nothing:\n{chain}"
    );
}

/// Sends one DHCPv6 SOLICIT (DUID-LL of `mac`, IA_NA) from `ifname` in namespace `netns` to
/// ff02::1:2 port 547, from a UDP socket opened inside the namespace.
fn send_solicit(netns: &str, ifname: &str, mac: [u8; 6]) {
    let path = format!("/var/run/netns/{netns}");
    let ifname = ifname.to_string();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(&path).expect("open the lan namespace");
        // SAFETY: setns on a valid descriptor; affects only this thread.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let sock =
            std::net::UdpSocket::bind("[::]:546").expect("bind [::]:546 in the lan namespace");
        let index = nix::net::if_::if_nametoindex(ifname.as_str()).expect("the host interface");
        let mut solicit = vec![1, 0x12, 0x34, 0x56];
        let mut option = |code: u16, value: &[u8]| {
            solicit.extend_from_slice(&code.to_be_bytes());
            solicit.extend_from_slice(&(value.len() as u16).to_be_bytes());
            solicit.extend_from_slice(value);
        };
        option(1, &[[0, 3, 0, 1].as_slice(), &mac].concat());
        option(8, &[0, 0]);
        option(3, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        option(6, &[0, 23, 0, 24]);
        let to = std::net::SocketAddrV6::new("ff02::1:2".parse().expect("address"), 547, 0, index);
        for _ in 0..3 {
            sock.send_to(&solicit, to).expect("send the SOLICIT");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .join()
    .expect("the SOLICIT thread");
}

#[test]
fn dhcpv6_from_the_lan_is_inspected() {
    let Some(s) = setup("", "") else { return };
    let _daemon = s.start();
    send_solicit(
        s.lan.ns().name(),
        &s.client.ifname,
        [2, 0, 0, 0, 0x0a, 0x01],
    );
    s.lab
        .wait_until(Duration::from_secs(5), "a DHCPv6 event is recorded", || {
            !s.events(r#"{"logic":"AND","rules":[{"field":"proto","operator":"eq","value":"v6"}]}"#)
                .is_empty()
        });
    let events =
        s.events(r#"{"logic":"AND","rules":[{"field":"proto","operator":"eq","value":"v6"}]}"#);
    let e = &events[0];
    assert_eq!(e["message_type"], "SOLICIT", "{e}");
    assert_eq!(e["client_duid"], "00030001020000000a01");
    assert_eq!(e["duid_type"], "LL");
    assert_eq!(e["client_mac"], CLIENT_MAC);
    assert_eq!(e["ia_type"], "IA_NA");
    assert_eq!(e["interface"], LAN_BRIDGE);
    assert_eq!(e["xid"], "0x123456");
}

#[test]
fn a_denied_duid_is_dropped_in_the_kernel_after_its_first_packet() {
    let Some(s) = setup("", "") else { return };
    let _daemon = s.start();
    s.ctl_ok(&[
        "set",
        "duid:00030001020000000a01",
        "deny",
        "--reason",
        "lab",
    ]);
    let v6 = r#"{"logic":"AND","rules":[{"field":"proto","operator":"eq","value":"v6"}]}"#;
    send_solicit(
        s.lan.ns().name(),
        &s.client.ifname,
        [2, 0, 0, 0, 0x0a, 0x01],
    );
    s.lab.wait_until(
        Duration::from_secs(5),
        "the DUID's MAC is in the deny set",
        || {
            let out = s
                .lab
                .cpe()
                .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "deny"]);
            String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        },
    );
    let before = s.status()["counters"]["packets"].as_u64().unwrap_or(0);
    assert!(
        (1..=3).contains(&before),
        "{before} packets reached userspace"
    );
    send_solicit(
        s.lan.ns().name(),
        &s.client.ifname,
        [2, 0, 0, 0, 0x0a, 0x01],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.status()["counters"]["packets"].as_u64(),
        Some(before),
        "the kernel let the denied MAC through"
    );
    assert!(s.events(v6).is_empty(), "a denied DUID generated events");
    s.ctl_ok(&["clear", "duid:00030001020000000a01"]);
    s.lab
        .wait_until(Duration::from_secs(5), "the MAC left the deny set", || {
            let out = s
                .lab
                .cpe()
                .run(&["nft", "list", "set", "inet", "dhcpmgr_shield", "deny"]);
            !String::from_utf8_lossy(&out.stdout).contains(CLIENT_MAC)
        });
}

#[test]
fn a_config_rule_assigns_its_action() {
    let rule = r#"[[shield.rule]]
name = "busybox-clients"
action = "monitor"
filter = { logic = "AND", rules = [{ field = "vendor_class", operator = "startswith", value = "udhcp" }] }
"#;
    let Some(s) = setup("", rule) else { return };
    let _daemon = s.start();
    s.must_lease(&s.client, 5, "a monitored client");
    let events = s.events(&mac_filter(CLIENT_MAC));
    let first = events.first().expect("events for the client");
    assert_eq!(first["matched_rule"], "busybox-clients", "{first}");
    assert!(
        events.iter().all(|e| e["action"] == "monitor"),
        "{events:?}"
    );
    assert!(events
        .iter()
        .all(|e| e["mark"].as_u64().is_some_and(|m| m & 0xff == 3)));
    let actions = s.ctl_ok(&["actions"]);
    assert!(
        actions.contains("monitor") && actions.contains("rule:busybox-clients"),
        "{actions}"
    );
}

#[test]
fn rogue_server_on_the_lan_is_detected_and_the_gateways_own_is_not() {
    let Some(mut s) = setup("", "") else { return };
    let rogue = s.lan.host(ROGUE_MAC);
    s.lan.start_rogue_server(&rogue);
    let _daemon = s.start();
    let server_replies = r#"{"logic":"AND","rules":[{"field":"message_type","operator":"in","value":["OFFER","ACK"]}]}"#;
    // Broadcast replies, so the gateway's own loop back into PREROUTING; until both servers'
    // replies were seen (the client takes whichever offer comes first).
    s.lab.wait_until(
        Duration::from_secs(30),
        "both the gateway's and the rogue's replies are recorded",
        || {
            let _ = s.lan.udhcpc_broadcast(&s.client, 2);
            let replies = s.events(server_replies);
            let from = |ip: &str| replies.iter().any(|e| e["source_ip"] == ip);
            from(&LAN_GW.to_string()) && from("192.168.1.66")
        },
    );
    let replies = s.events(server_replies);
    let flagged = |e: &Value| {
        e["detections"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d == "rogue_server"))
    };
    for e in &replies {
        if e["source_ip"] == LAN_GW.to_string() {
            assert!(
                !flagged(e),
                "the gateway's own dnsmasq flagged as a rogue: {e}"
            );
        } else {
            assert_eq!(e["source_mac"], ROGUE_MAC, "{e}");
            assert!(flagged(e), "the rogue's reply is not flagged: {e}");
        }
    }
    let rogue_replies = replies.iter().filter(|e| flagged(e)).count() as u64;
    let counted = s.status()["counters"]["detections"]["rogue_server"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        counted >= rogue_replies && counted > 0,
        "{counted} rogue_server detections counted for {rogue_replies} rogue replies"
    );
}

#[test]
fn sighup_applies_a_changed_shield_section() {
    let Some(s) = setup("mode = \"inline\"", "") else {
        return;
    };
    let mut daemon = s.start();
    assert!(s.rules().contains("-j DHCPMGR_SHIELD"));
    let text = std::fs::read_to_string(&s.config).expect("config");
    std::fs::write(&s.config, text.replace("enable = true", "enable = false")).expect("write");
    daemon.signal(Signal::SIGHUP);
    s.lab
        .wait_until(Duration::from_secs(10), "the shield stopped", || {
            rules_gone(&s.rules())
        });
    s.must_lease(&s.client, 5, "with the shield off");
    std::fs::write(&s.config, text).expect("write");
    daemon.signal(Signal::SIGHUP);
    s.lab
        .wait_until(Duration::from_secs(10), "the shield started again", || {
            s.rules().contains("-j DHCPMGR_SHIELD")
        });
    s.must_lease(&s.client, 5, "with the shield on again");
    assert!(daemon.is_running());
}

#[test]
fn observe_mode_watches_copies_and_leaves_enforcement_to_the_kernel() {
    let Some(s) = setup("", "") else { return };
    let mut daemon = s.start();
    let status = s.status();
    assert_eq!(
        status["mode"], "observe",
        "observe is the default: {status}"
    );
    assert_eq!(status["queue_hook"], "nflog", "{status}");
    let rules = s.rules();
    assert!(
        !rules.contains("DHCPMGR_SHIELD"),
        "observe mode needs no iptables rule:\n{rules}"
    );
    let table = s
        .lab
        .cpe()
        .run_ok(&["nft", "list", "table", "inet", "dhcpmgr_shield"]);
    assert!(
        table.contains("limit rate 2000/second burst 4000 packets log group 67"),
        "no copy to userspace behind the global meter:\n{table}"
    );

    s.must_lease(&s.client, 5, "watched in observe mode");
    s.lab.wait_until(
        Duration::from_secs(5),
        "the client's copies are recorded",
        || {
            let events = s.events(&mac_filter(CLIENT_MAC));
            ["DISCOVER", "REQUEST"]
                .iter()
                .all(|t| events.iter().any(|e| e["message_type"] == *t))
        },
    );
    let events = s.events(&mac_filter(CLIENT_MAC));
    assert!(
        events.iter().all(|e| e["verdict"] == "accept"),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| e["interface"] == LAN_BRIDGE),
        "{events:?}"
    );

    // Nothing is held: a stopped daemon costs the LAN nothing.
    daemon.signal(Signal::SIGSTOP);
    let stopped = s.lease(&s.client, 3);
    daemon.signal(Signal::SIGCONT);
    assert!(
        stopped.is_some(),
        "no lease while the daemon was stopped\n{}",
        s.lab.diagnostics()
    );

    // Enforcement is the kernel's: a denied client's packets never reach userspace.
    s.ctl_ok(&["set", CLIENT_MAC, "deny", "--reason", "lab"]);
    let before = s.status()["counters"]["packets"].as_u64();
    assert_eq!(s.lease(&s.client, 3), None, "a denied client got a lease");
    assert_eq!(
        s.status()["counters"]["packets"].as_u64(),
        before,
        "a denied client's packets were copied to userspace"
    );
    s.ctl_ok(&["clear", CLIENT_MAC]);
    s.must_lease(&s.client, 5, "after the deny was cleared");
    daemon.terminate();
    let rules = s.rules();
    assert!(rules_gone(&rules), "rules left:\n{rules}");
}

/// Sends `count` DHCPDISCOVERs with random chaddrs and vendor class `vendor` from 192.168.1.77
/// (a LAN host's address, added by the caller) in namespace `netns`, as UDP broadcasts.
fn send_discovers(netns: &str, vendor: &str, count: u32) {
    let path = format!("/var/run/netns/{netns}");
    let vendor = vendor.as_bytes().to_vec();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(&path).expect("open the lan namespace");
        // SAFETY: setns on a valid descriptor; affects only this thread.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let sock = std::net::UdpSocket::bind("192.168.1.77:68").expect("bind :68");
        sock.set_broadcast(true).expect("SO_BROADCAST");
        let mut state = 0x2545_f491_u64;
        for xid in 0..count {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_be_bytes();
            let mut m = vec![0u8; 236];
            m[..3].copy_from_slice(&[1, 1, 6]);
            m[4..8].copy_from_slice(&xid.to_be_bytes());
            m[28..34].copy_from_slice(&[2, b[1], b[2], b[3], b[4], b[5]]);
            m.extend_from_slice(&[99, 130, 83, 99, 53, 1, 1, 60, vendor.len() as u8]);
            m.extend_from_slice(&vendor);
            m.push(255);
            sock.send_to(&m, "255.255.255.255:67")
                .expect("send a DISCOVER");
        }
    })
    .join()
    .expect("the DISCOVER thread");
}

#[test]
fn a_rule_flood_never_crowds_out_the_operator_nor_floods_the_disk() {
    let rule = r#"[[shield.rule]]
name = "printers"
action = "monitor"
filter = { logic = "AND", rules = [{ field = "vendor_class", operator = "startswith", value = "HP" }] }
"#;
    let Some(s) = setup(
        "max_clients = 64\nmac_rate = 100000\nmac_burst = 100000\nqueue_rate = 0",
        rule,
    ) else {
        return;
    };
    let _daemon = s.start();
    s.lan
        .ns()
        .ip(&["addr", "add", "192.168.1.77/24", "dev", &s.client.ifname]);
    let started = Instant::now();
    send_discovers(s.lan.ns().name(), "HP LaserJet", 4000);
    s.lab
        .wait_until(Duration::from_secs(10), "the rule budget is full", || {
            s.status()["actions"] == 64
        });
    // The operator's action still has room, and is in force when answered.
    s.ctl_ok(&["set", CLIENT_MAC, "deny", "--reason", "lab"]);
    assert!(
        s.lab
            .shield_set("deny")
            .is_some_and(|m| m.contains(CLIENT_MAC)),
        "an answered deny is not in the kernel"
    );
    let status = s.status();
    assert_eq!(status["actions"], 65, "{status}");
    let writes = status["counters"]["actions_writes"].as_u64().unwrap_or(0);
    let allowed = 2 + started.elapsed().as_secs() / 5;
    assert!(
        writes <= allowed,
        "4000 rule matches made {writes} writes of the actions file (at most {allowed}: \
         one per 5 s for rules, one for the operator's set)"
    );
    assert!(
        status["counters"]["packets"].as_u64() >= Some(1000),
        "the flood did not reach the shield: {status}"
    );
}

#[test]
fn a_kernel_state_it_cannot_read_keeps_the_shield_off_and_says_so() {
    let Some(s) = setup("", "") else { return };
    // A `deny` set of the wrong type, with an element no MAC listing can read, where the
    // shield's own set belongs.
    let cpe = s.lab.cpe();
    cpe.run_ok(&["nft", "add", "table", "inet", "dhcpmgr_shield"]);
    cpe.run_ok(&[
        "nft",
        "add",
        "set",
        "inet",
        "dhcpmgr_shield",
        "deny",
        "{ type ipv4_addr; }",
    ]);
    cpe.run_ok(&[
        "nft",
        "add",
        "element",
        "inet",
        "dhcpmgr_shield",
        "deny",
        "{ 10.0.0.1 }",
    ]);
    let daemon = s.lab.start_daemon(&s.config);
    s.lab
        .wait_until(Duration::from_secs(10), "the shield says it is off", || {
            s.lab
                .shield_request(&s.socket, &serde_json::json!({"cmd": "status"}))
                .is_ok_and(|st| st["off_reason"].is_string())
        });
    let status = s.status();
    assert_eq!(status["enforcing"], false, "{status}");
    let why = status["off_reason"].as_str().unwrap_or_default();
    assert!(
        why.contains("cannot put the kernel rules in place")
            || why.contains("cannot reconcile the kernel's sets"),
        "{why}"
    );
    // Off means no rules at all (fail-open), and no change is pretended.
    let rules = s.rules();
    assert!(rules_gone(&rules), "rules left while off:\n{rules}");
    s.must_lease(&s.client, 5, "with the shield off");
    let refused = s.ctl(&["set", CLIENT_MAC, "deny"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the shield is off"),
        "{refused:?}"
    );
    let log = std::fs::read_to_string(s.lab.daemon_log_path()).unwrap_or_default();
    assert!(
        log.contains("the DHCP shield is off"),
        "the log does not say so"
    );
    daemon.terminate();
}

#[test]
fn a_flood_of_bad_requests_is_logged_a_line_per_interval_not_a_line_each() {
    let Some(s) = setup("", "") else { return };
    let _daemon = s.start();
    let log_lines = || {
        std::fs::read_to_string(s.lab.daemon_log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("shield input rejected"))
            .count()
    };
    let before = log_lines();
    for i in 0..2000 {
        let request = if i % 2 == 0 {
            serde_json::json!({"cmd": "launch"})
        } else {
            serde_json::json!({"cmd": "set", "client": "aa:bb", "action": "deny", "x": 1})
        };
        let answer = s
            .lab
            .shield_request(&s.socket, &request)
            .expect("an answer to a bad request");
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("bad request")),
            "{answer}"
        );
    }
    let logged = log_lines() - before;
    assert!(
        (1..=3).contains(&logged),
        "2000 bad requests gave {logged} warning lines (one per 10 s expected)"
    );
    // The daemon still answers good requests.
    assert!(s.status()["counters"].is_object());
}
