//! The stream page in a real browser: Debian's chromium, headless, driven over the DevTools
//! protocol, against the real daemon and `dhcpmgr-shield-web` in the lab. A busybox udhcpc
//! client on the LAN takes a real lease from a DHCP server on another LAN host (the shield
//! inspects what arrives from the LAN, so that server's OFFER and ACK are seen as well as the
//! client's DISCOVER and REQUEST); the page fills with all four, a row opens its detail view,
//! the daemon's saved filter is listed and loads, a filter typed into the page
//! (`message_type eq DISCOVER`) leaves only DISCOVERs, and a wrong token shows the
//! authentication error. Screenshots go to `target/shield-web-artifacts/`. Root, chromium,
//! busybox, dnsmasq, nft and iptables are required (`DHCPMGR_SKIP_LAB=1` skips).

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::browser::{start_chromium, Cdp};
use common::{artifacts_dir, in_netns, shield_lab, start_web, CLIENT_MAC, SERVER_MAC};

const LISTEN: &str = "192.168.1.1:8080";

/// The client-MAC rows of the table: `[[type, client_mac], …]`.
const ROWS: &str = "JSON.stringify([...document.querySelectorAll('#events tbody tr')].map(r => [r.dataset.type, r.cells[4].textContent]))";

fn types_of_client(rows: &Value) -> Vec<String> {
    let rows: Vec<(String, String)> =
        serde_json::from_str(rows.as_str().unwrap_or("[]")).unwrap_or_default();
    rows.into_iter()
        .filter(|(_, mac)| mac == CLIENT_MAC)
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn the_page_shows_a_real_lease_filters_it_and_refuses_a_wrong_token() {
    let Some(mut s) = shield_lab("") else { return };
    let server = s.lan.host(SERVER_MAC);
    s.lan.start_rogue_server(&server);
    let mut web = start_web(
        &s,
        &format!("[web]\nlisten = \"{LISTEN}\"\nidle_timeout_secs = 60\n"),
    );
    let cpe = s.lab.cpe().name().to_string();
    let ready = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ns = cpe.clone();
            if in_netns(&ns, || TcpStream::connect(LISTEN).is_ok()) {
                break true;
            }
            if Instant::now() > deadline || !web.running() {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(
        ready,
        "dhcpmgr-shield-web does not listen on {LISTEN}:\n{}",
        web.log_tail()
    );
    let token = web.token();
    // A filter saved in the daemon (by root, as this program runs) is offered by the page.
    common::ctl(
        &s,
        &[
            "save-filter",
            "offers-only",
            r#"{"logic":"AND","rules":[{"field":"message_type","operator":"eq","value":"OFFER"}]}"#,
        ],
    );
    let chromium = start_chromium(s.lab.cpe().command("chromium"));
    let mut page = Cdp::connect(&chromium.endpoint, |addr| {
        in_netns(&cpe, move || {
            TcpStream::connect(addr).expect("connect to DevTools")
        })
    });

    page.navigate(&format!("http://{LISTEN}/?token={token}"));
    page.wait_for(
        "document.getElementById('status')?.className === 'connected'",
        Duration::from_secs(15),
        "the page connects",
        "document.getElementById('status')?.textContent ?? document.documentElement.outerHTML",
    );

    // A real lease: DISCOVER, OFFER, REQUEST and ACK fill the table.
    let lease = s.lan.udhcpc(&s.client, 5);
    assert!(
        lease.addr.is_some(),
        "the LAN client got no lease: {}\n{}",
        String::from_utf8_lossy(&lease.output.stderr),
        s.lab.diagnostics()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut types = Vec::new();
    while Instant::now() < deadline {
        types = types_of_client(&page.eval(ROWS));
        if ["DISCOVER", "OFFER", "REQUEST", "ACK"]
            .iter()
            .all(|t| types.iter().any(|x| x == t))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for t in ["DISCOVER", "OFFER", "REQUEST", "ACK"] {
        assert!(
            types.iter().any(|x| x == t),
            "no {t} row for {CLIENT_MAC}: {types:?}\n{}",
            web.log_tail()
        );
    }
    let counted = page.eval("Number(document.getElementById('count-events').textContent)");
    assert!(counted.as_u64() >= Some(4), "event count {counted}");
    page.screenshot(&artifacts_dir().join("browser-lease.png"));

    // A row opens the full decoded packet.
    page.eval("document.querySelector('#events tbody tr[data-type=\"ACK\"]').click(); true");
    let detail = page.eval(
        "JSON.stringify({hidden: document.getElementById('detail').hidden, \
         text: document.getElementById('detail-body').textContent, \
         options: document.querySelectorAll('#detail-options tr').length})",
    );
    let detail: Value = serde_json::from_str(detail.as_str().unwrap_or("{}")).expect("JSON");
    assert_eq!(detail["hidden"], false, "{detail}");
    let text = detail["text"].as_str().unwrap_or("");
    for section in [
        "Packet Header",
        "Addresses",
        "Network Layer",
        "Processing",
        "DHCP Message Type",
        "IP Address Lease Time3600 s",
    ] {
        assert!(
            text.contains(section),
            "the detail view lacks {section}: {text}"
        );
    }
    assert!(detail["options"].as_u64() > Some(2), "{detail}");
    page.screenshot(&artifacts_dir().join("browser-detail.png"));
    page.eval("document.getElementById('detail-close').click(); true");

    // The daemon's saved filter, loaded from the page's list, is put in force by the server.
    page.wait_for(
        "[...document.getElementById('saved').options].some(o => o.value === 'offers-only')",
        Duration::from_secs(5),
        "the page lists the daemon's saved filter",
        "document.getElementById('saved').innerHTML",
    );
    page.eval(
        "document.getElementById('saved').value = 'offers-only'; \
         document.getElementById('saved-load').click(); true",
    );
    page.wait_for(
        "document.getElementById('filter-active').textContent.includes('OFFER')",
        Duration::from_secs(5),
        "the saved filter is in force",
        "document.getElementById('filter-active').textContent + document.getElementById('filter-error').textContent",
    );

    // A filter typed into the page: only DISCOVERs from now on.
    page.eval(
        "document.getElementById('filter-text').value = 'message_type eq DISCOVER'; \
         document.getElementById('filter-apply').click(); \
         document.getElementById('clear').click(); true",
    );
    page.wait_for(
        "document.getElementById('filter-active').textContent.includes('DISCOVER')",
        Duration::from_secs(5),
        "the server confirms the filter",
        "document.getElementById('filter-error').textContent",
    );
    let again = s.lan.udhcpc(&s.client, 5);
    assert!(again.addr.is_some(), "the second lease failed");
    page.wait_for(
        "document.querySelectorAll('#events tbody tr').length > 0",
        Duration::from_secs(10),
        "DISCOVER rows after the filter",
        ROWS,
    );
    // Let the rest of the exchange arrive (the page shows events within 100 ms).
    std::thread::sleep(Duration::from_secs(2));
    let rows: Vec<(String, String)> =
        serde_json::from_str(page.eval(ROWS).as_str().unwrap_or("[]")).expect("rows");
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|(t, _)| t == "DISCOVER"),
        "the filter let other types through: {rows:?}"
    );
    page.screenshot(&artifacts_dir().join("browser-filtered.png"));

    // A filter the daemon's parser refuses: an error on the page, the session stays.
    page.eval(
        "document.getElementById('filter-text').value = 'lease_time contains 1'; \
         document.getElementById('filter-apply').click(); true",
    );
    page.wait_for(
        "document.getElementById('filter-error').textContent.includes('numeric')",
        Duration::from_secs(5),
        "the filter error is shown",
        "document.getElementById('filter-error').textContent",
    );
    assert_eq!(
        page.eval("document.getElementById('status').className"),
        "connected"
    );

    // A wrong token: the authentication error, no stream.
    page.navigate(&format!("http://{LISTEN}/?token={}", "0".repeat(64)));
    page.wait_for(
        "document.getElementById('status')?.className === 'auth-error'",
        Duration::from_secs(10),
        "the page shows the authentication error",
        "document.getElementById('status')?.textContent",
    );
    let status = page.eval("document.getElementById('status').textContent");
    assert!(
        status
            .as_str()
            .is_some_and(|t| t.contains("authentication failed")),
        "{status}"
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#events tbody tr').length"),
        0
    );
    page.screenshot(&artifacts_dir().join("browser-auth-error.png"));
    drop(chromium);
    assert!(web.running(), "the web program died:\n{}", web.log_tail());
}
