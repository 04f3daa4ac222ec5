//! WAN Manager's sequence against the real daemon over RDK's real bus: rtrouted and librbus
//! built from rdkcentral/rbus (scripts/install-deps.sh), a consumer compiled from rbus's public
//! headers (tests/rbus/client.c) doing what `WanManager_StartDhcpv4Client` does, real udhcpc and
//! Kea in the lab's namespaces. Needs root; fails with a clear message without rtrouted/librbus.
//!
//! The consumer sets `Interface` to the Linux name as WAN Manager does; `X_RDK_LinuxInterface`
//! reads the same name back. Besides: gets and sets, rows, `GetHealth()`, `GetAttributes()`, a
//! broker that comes up after the daemon, and one that crashes and restarts under it.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "support/rbus.rs"]
mod rbus;

use std::time::{Duration, Instant};

use dhcpmgr_lab::{lab_or_skip, Kea4Options, Lab, WAN_IF};
use rbus::{daemon_log, Broker, Client, Daemon};

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
    if let Err(why) = client.wait_until_served(&p("Enable"), Duration::from_secs(10)) {
        panic!(
            "dhcpmgr did not answer on RBUS within 10 s: {why}\n{}",
            daemon_log(&lab)
        );
    }
    Some(Rig {
        lab,
        broker,
        daemon,
        exe,
    })
}

/// What [`setup`] starts; fields drop in order (daemon before broker before lab).
struct Rig {
    daemon: Daemon,
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
    let (dbus, events) = rbus::start_like_wan_manager(&client, lab, CLIENT);
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
    let want = [
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
    ];
    for (field, value) in want {
        assert_eq!(
            lease.get(&format!("lease.{field}")),
            Some(value),
            "LeaseInfo.{field}"
        );
    }
    // The D-Bus Event of the same lease carries the same fields by name.
    let signal = dbus.wait_for("LeaseUpdated", EVENT_WAIT, |_| true);
    rbus::assert_named_lease(&signal, "Device.DHCPv4.Client.1", &want);
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
    rbus::stop_like_wan_manager(&client, CLIENT, events);
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
    // What CcspBaseIf_getParameterAttributes asks: access from the data model, notification
    // off; a partial path stands for every parameter below it; a bad name fails the call.
    let attributes = client.run(&[
        "attributes",
        "eRT.com.cisco.spvtg.ccsp.dhcpmgr",
        &p("Alias"),
        &p("IPAddress"),
        &p("ReqOption.1."),
    ]);
    let attributes = String::from_utf8_lossy(&attributes.stdout).into_owned();
    let lines: Vec<&str> = attributes.lines().collect();
    let req_option: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with(&p("ReqOption.1.")))
        .copied()
        .collect();
    assert_eq!(
        lines.first(),
        Some(&format!("size={}", 2 + req_option.len()).as_str()),
        "GetAttributes(): {attributes}"
    );
    assert!(
        lines.contains(&format!("{} 0 0 1 0 0 0", p("Alias")).as_str()),
        "Alias: read-write, notification off: {attributes}"
    );
    assert!(
        lines.contains(&format!("{} 0 0 0 0 0 0", p("IPAddress")).as_str()),
        "IPAddress: read-only: {attributes}"
    );
    assert!(
        req_option.contains(&format!("{} 0 0 1 0 0 0", p("ReqOption.1.Enable")).as_str())
            && req_option.contains(&format!("{} 0 0 0 0 0 0", p("ReqOption.1.Value")).as_str()),
        "the rows' parameters: {attributes}"
    );
    let bad = client.run(&[
        "attributes",
        "eRT.com.cisco.spvtg.ccsp.dhcpmgr",
        &p("NoSuchParameter"),
    ]);
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stdout).contains(" 17 "),
        "RBUS_ERROR_ELEMENT_DOES_NOT_EXIST for a bad name: {}",
        String::from_utf8_lossy(&bad.stdout)
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
    if let Err(why) = client.wait_until_served(&p("Enable"), Duration::from_secs(15)) {
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

#[test]
fn the_daemon_registers_again_after_rtrouted_restarts() {
    let Some(mut rig) = setup() else { return };
    let before = rig.client().listen(EVENTS);
    // rtrouted crashes and comes back: librbus reconnects the socket, but the broker has
    // forgotten every element the daemon registered.
    rig.broker.restart(rig.daemon.pid());
    let (lab, client) = (&rig.lab, rig.client());
    if let Err(why) = client.wait_until_served(&p("Enable"), Duration::from_secs(30)) {
        panic!(
            "dhcpmgr did not register again after rtrouted restarted: {why}\n{}",
            daemon_log(lab)
        );
    }
    // Gets, rows and sets work again, in the one tree D-Bus serves.
    assert_eq!(client.get(&p("Alias")), "wan");
    assert_eq!(client.get(&p("ReqOption.1.Enable")), "true");
    client
        .set(&[(&p("Alias"), "string", "after-restart")])
        .expect("a set after the broker restarted");
    assert_eq!(client.get(&p("Alias")), "after-restart");
    assert_eq!(lab.tr181_value(&p("Alias")), "after-restart");
    // A subscription made now gets the lease events; so does the one made before the restart
    // (librbus re-attaches a provider's cached subscribers when it registers again).
    let after = client.listen(EVENTS);
    client
        .set(&[(&p("Interface"), "string", WAN_IF)])
        .expect("set Interface");
    client
        .set(&[(&p("Enable"), "boolean", "true")])
        .expect("Enable=true");
    let (lease, _) = after.wait_for(3, EVENT_WAIT);
    assert_eq!(lease.get("lease.ifname"), Some(WAN_IF));
    // The consumer made before the restart reconnects on librbus's own schedule, which under
    // load can come after this lease: it must get the lease events from then on (each Renew
    // publishes the lease again, MsgType 5, and the update, MsgType 3).
    let deadline = Instant::now() + EVENT_WAIT;
    let old = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the subscription made before the restart got no lease event within {EVENT_WAIT:?}"
        );
        match before.next(left.min(Duration::from_secs(5))) {
            Some(e) if matches!(e.msg_type(), Some(3 | 5)) => break e,
            Some(_) => {}
            None => {
                client
                    .set(&[(&p("Renew"), "boolean", "true")])
                    .expect("Renew=true");
            }
        }
    };
    assert_eq!(old.get("IfName"), Some(WAN_IF));
}
