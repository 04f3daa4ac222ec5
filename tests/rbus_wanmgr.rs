//! WAN Manager's sequence against the real daemon over RDK's real bus: rtrouted and librbus
//! built from rdkcentral/rbus (scripts/install-deps.sh), a consumer compiled from rbus's public
//! headers (tests/rbus/client.c) doing what `WanManager_StartDhcpv4Client` does, real udhcpc and
//! Kea in the lab's namespaces. Needs root; fails with a clear message without rtrouted/librbus.
//!
//! The consumer sets `Interface` to the Linux name as WAN Manager does; `X_RDK_LinuxInterface`
//! reads the same name back.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/rbus.rs"]
mod rbus;

use std::time::Duration;

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Lab, WAN_IF};
use rbus::{Broker, Client, Daemon};

const EVENTS: &str = "Device.DHCPv4.Client.1.Events";
const CLIENT: &str = "Device.DHCPv4.Client.1.";
/// How long a lease event may take (udhcpc, Kea, the daemon, the bus, under load).
const EVENT_WAIT: Duration = Duration::from_secs(30);

/// `dbus-monitor` on the lab's bus for one signal member.
struct DbusSignals {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl DbusSignals {
    fn watch(address: &str, member: &str) -> DbusSignals {
        use std::io::BufRead;
        let mut child = std::process::Command::new("dbus-monitor")
            .args([
                "--address",
                address,
                &format!("type='signal',member='{member}'"),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dbus-monitor (package dbus-bin): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        // dbus-monitor prints its own NameAcquired once it listens.
        let _ = lines.recv_timeout(Duration::from_secs(5));
        DbusSignals { child, lines }
    }

    /// Whether a line with `text` comes within `timeout`.
    fn saw(&self, text: &str, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for DbusSignals {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn daemon_log(lab: &Lab) -> String {
    let text = std::fs::read_to_string(lab.daemon_log_path()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The lab with Kea (MTU and a time offset besides the defaults), rtrouted, the daemon with
/// `[rbus] enable` and one DHCPv4 client that WAN Manager has not started yet (disabled, on an
/// interface name it will overwrite), and the test consumer.
fn setup() -> Option<Rig> {
    let mut lab = lab_or_skip()?;
    rbus::require_rbus();
    lab.start_kea4(Kea4Options {
        mtu: Some(1480),
        extra_option_data: vec![serde_json::json!({"name": "time-offset", "data": "-3600"})],
        ..Kea4Options::default()
    });
    let mut config = lab.daemon_config();
    let client = &mut config.v4_clients[0];
    client.enable = false;
    client.interface = "erouter9".into();
    client.request_options.push(2);
    config.extra_toml = "[rbus]\nenable = true\n".into();
    let config = lab.write_daemon_config(&config);
    let broker = Broker::start(lab.dir());
    let daemon = Daemon::start(&lab, &broker, &config);
    // In the lab's directory: the broker's namespace sees it.
    let exe = rbus::compile("client.c", lab.dir(), true);
    let client = Client {
        broker: &broker,
        exe: exe.clone(),
    };
    if let Err(why) = client.wait_until_served(Duration::from_secs(10)) {
        panic!(
            "dhcpmgr did not answer on RBUS within 10 s: {why}\n{}",
            daemon_log(&lab)
        );
    }
    Some(Rig {
        lab,
        broker,
        _daemon: daemon,
        exe,
    })
}

/// What [`setup`] starts; fields drop in order (daemon before broker before lab).
struct Rig {
    _daemon: Daemon,
    broker: Broker,
    lab: Lab,
    exe: std::path::PathBuf,
}

impl Rig {
    fn client(&self) -> Client<'_> {
        Client {
            broker: &self.broker,
            exe: self.exe.clone(),
        }
    }
}

/// `Device.DHCPv4.Client.1.<name>`.
fn p(name: &str) -> String {
    format!("{CLIENT}{name}")
}

#[test]
fn wan_manager_starts_renews_and_stops_a_client_over_rbus() {
    let Some(rig) = setup() else { return };
    let (lab, client) = (&rig.lab, rig.client());

    // WanManager_StartDhcpv4Client: subscribe, set the interface, enable.
    let events = client.listen(EVENTS);
    client
        .set(&[(&p("Interface"), "string", WAN_IF)])
        .expect("set Interface to the Linux interface name");
    client
        .set(&[(&p("Enable"), "boolean", "true")])
        .expect("Enable=true");
    let (lease, before) = events.wait_for(3, EVENT_WAIT);
    assert!(
        before
            .iter()
            .any(|e| e.msg_type() == Some(0) && e.get("IfName") == Some(WAN_IF)),
        "DHCP_CLIENT_STARTED (0) on {WAN_IF} comes before the lease: {before:?}"
    );

    // Every LeaseInfo field against Kea's lease and what Kea was told to send.
    let kea = lab
        .kea4_leases()
        .into_iter()
        .rfind(|l| l.is_active())
        .expect("Kea granted a lease");
    let address = kea.address.to_string();
    assert_eq!(lease.name, EVENTS);
    assert_eq!(lease.get("IfName"), Some(WAN_IF));
    assert_eq!(
        lease.get("LeaseInfo.len"),
        Some("372"),
        "sizeof(DHCP_MGR_IPV4_MSG)"
    );
    for (field, want) in [
        ("ifname", WAN_IF),
        ("address", address.as_str()),
        ("netmask", "255.255.255.0"),
        ("gateway", "192.0.2.1"),
        ("dnsServer", "192.0.2.53"),
        ("dnsServer1", ""),
        ("timeZone", ""),
        ("mtuSize", "1480"),
        ("timeOffset", "-3600"),
        ("isTimeOffsetAssigned", "1"),
        ("upstreamCurrRate", "0"),
        ("downstreamCurrRate", "0"),
    ] {
        assert_eq!(
            lease.get(&format!("lease.{field}")),
            Some(want),
            "LeaseInfo.{field}"
        );
    }
    assert_eq!(lab.cpe().ipv4_addrs(WAN_IF), vec![(kea.address, 24)]);

    // Gets of the data model, and the Events property answering with the current lease.
    assert_eq!(client.get(&p("IPAddress")), address);
    assert_eq!(client.get(&p("DHCPStatus")), "Bound");
    assert_eq!(client.get(&p("Enable")), "true");
    assert_eq!(client.get(&p("Interface")), WAN_IF);
    assert_eq!(client.get(&p("X_RDK_LinuxInterface")), WAN_IF);
    let current = client.run(&["getevents", EVENTS]);
    let current = String::from_utf8_lossy(&current.stdout).into_owned();
    assert!(
        current.contains("MsgType=3") && current.contains(&format!("lease.address={address}")),
        "get {EVENTS}: {current}"
    );

    // Renew=true: the client renews with Kea and the event says so.
    client
        .set(&[(&p("Renew"), "boolean", "true")])
        .expect("Renew=true");
    let (renewed, _) = events.wait_for(5, EVENT_WAIT);
    assert_eq!(renewed.get("IfName"), Some(WAN_IF));
    assert_eq!(
        client.get(&p("IPAddress")),
        address,
        "same lease after renew"
    );

    // WanManager_StopDhcpv4Client: Enable=false, then unsubscribe.
    client
        .set(&[(&p("Enable"), "boolean", "false")])
        .expect("Enable=false");
    let (stopped, _) = events.wait_for(1, EVENT_WAIT);
    assert_eq!(stopped.get("IfName"), Some(WAN_IF));
    assert_eq!(client.get(&p("Enable")), "false");
    assert!(
        events.unsubscribe(),
        "the consumer unsubscribed from {EVENTS}"
    );
}

#[test]
fn sets_are_validated_atomic_and_refused_on_read_only_parameters() {
    let Some(rig) = setup() else { return };
    let (lab, client) = (&rig.lab, rig.client());
    // What CcspBaseIf_getHealth asks the component: Green (3).
    let health = client.run(&["health", "eRT.com.cisco.spvtg.ccsp.dhcpmgr"]);
    let health = String::from_utf8_lossy(&health.stdout).into_owned();
    assert!(
        health.lines().any(|l| l == "status=3"),
        "GetHealth(): {health}"
    );
    // A value-change subscription: librbus polls the parameter and publishes its new value.
    let changes = client.listen(&p("Alias"));
    // RBUS_ERROR_NOT_WRITABLE (27) for a read-only parameter.
    assert_eq!(
        client.set(&[(&p("IPAddress"), "string", "192.0.2.9")]),
        Err(27)
    );
    // RBUS_ERROR_INVALID_PARAMETER_VALUE (30) for a bad value, and nothing of the set is kept.
    assert_eq!(
        client.set(&[
            (&p("Alias"), "string", "renamed"),
            (
                &p("X_RDK_LinuxInterface"),
                "string",
                "not an interface name"
            ),
        ]),
        Err(30)
    );
    assert_eq!(client.get(&p("Alias")), "wan");
    assert_eq!(client.get(&p("X_RDK_LinuxInterface")), "erouter9");
    // Both values of a good multi-parameter set land, in the one tree D-Bus serves too (with
    // ValuesChanged there).
    let signals = DbusSignals::watch(lab.dbus_address(), "ValuesChanged");
    client
        .set(&[
            (&p("Alias"), "string", "renamed"),
            (&p("X_RDK_LinuxInterface"), "string", "erouter8"),
        ])
        .expect("a valid setMulti");
    assert_eq!(client.get(&p("Alias")), "renamed");
    assert_eq!(client.get(&p("X_RDK_LinuxInterface")), "erouter8");
    assert_eq!(lab.tr181_value(&p("Alias")), "renamed");
    assert!(
        signals.saw("\"renamed\"", Duration::from_secs(10)),
        "D-Bus ValuesChanged carries the RBUS write"
    );
    let changed = changes
        .next(Duration::from_secs(10))
        .expect("a value-change event for Alias");
    assert_eq!(changed.name, p("Alias"));
    assert_eq!(changed.get("value"), Some("renamed"));
    assert!(changes.unsubscribe());

    // Rows: add a client, write it, delete it; and the MAP object is there.
    let added = client.run(&["addrow", "Device.DHCPv4.Client."]);
    let added = String::from_utf8_lossy(&added.stdout).into_owned();
    let instance = added
        .lines()
        .find_map(|l| l.strip_prefix("instance="))
        .unwrap_or_else(|| panic!("addrow: {added}"))
        .to_string();
    let row = format!("Device.DHCPv4.Client.{instance}.");
    assert_eq!(client.get(&format!("{row}Enable")), "false");
    assert_eq!(client.get("Device.DHCPv4.ClientNumberOfEntries"), "2");
    client
        .set(&[(&format!("{row}Alias"), "string", "second")])
        .expect("write the new row");
    assert_eq!(client.get(&format!("{row}Alias")), "second");
    assert!(
        client.run(&["delrow", &row]).status.success(),
        "delrow {row}"
    );
    assert_eq!(client.get("Device.DHCPv4.ClientNumberOfEntries"), "1");
    assert!(!client
        .run(&["get", &format!("{row}Enable")])
        .status
        .success());
    assert_eq!(client.get("Device.MAP.DomainNumberOfEntries"), "0");
}

#[test]
fn the_daemon_registers_once_the_broker_comes_up() {
    let Some(lab) = lab_or_skip() else { return };
    rbus::require_rbus();
    let mut config = lab.daemon_config();
    config.v4_clients[0].enable = false;
    config.extra_toml = "[rbus]\nenable = true\n".into();
    let config = lab.write_daemon_config(&config);
    // The bus is not up at boot: the daemon serves D-Bus and keeps trying RBUS.
    let mut broker = Broker::prepare(lab.dir());
    let _daemon = Daemon::start(&lab, &broker, &config);
    lab.wait_until(Duration::from_secs(10), "the daemon on D-Bus", || {
        lab.bus_has_name("org.dhcpmgr")
    });
    assert_eq!(lab.tr181_value("Device.DHCPv4.Client.1.Alias"), "wan");
    std::thread::sleep(Duration::from_secs(3));
    broker.start_router();
    let exe = rbus::compile("client.c", lab.dir(), true);
    let client = Client {
        broker: &broker,
        exe,
    };
    if let Err(why) = client.wait_until_served(Duration::from_secs(15)) {
        panic!(
            "dhcpmgr did not register on RBUS after the broker came up: {why}\n{}",
            daemon_log(&lab)
        );
    }
    // The rows the tree had before the bus came are registered too.
    assert_eq!(client.get("Device.DHCPv4.Client.1.Alias"), "wan");
    assert_eq!(
        client.get("Device.DHCPv4.Client.1.ReqOption.1.Enable"),
        "true"
    );
}
