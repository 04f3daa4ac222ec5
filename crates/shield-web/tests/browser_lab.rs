//! The stream page in a real browser: Debian's chromium, headless, driven over the DevTools
//! protocol, against the real daemon and `dhcpmgr-shield-web` in the lab. A busybox udhcpc
//! client on the LAN takes a real lease from a DHCP server on another LAN host (the shield
//! inspects what arrives from the LAN, so that server's OFFER and ACK are seen as well as the
//! client's DISCOVER and REQUEST); the page fills with all four, a row opens its detail view,
//! a filter typed into the page (`message_type eq DISCOVER`) leaves only DISCOVERs, and a
//! wrong token shows the authentication error. Screenshots go to
//! `target/shield-web-artifacts/`. Root, chromium, busybox, dnsmasq, nft and iptables are
//! required (`DHCPMGR_SKIP_LAB=1` skips).

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

use common::{artifacts_dir, in_netns, shield_lab, start_web, CLIENT_MAC, SERVER_MAC};

const LISTEN: &str = "192.168.1.1:8080";

/// Headless chromium in the gateway's namespace, killed when dropped.
struct Chromium {
    child: Child,
    endpoint: String,
    _profile: tempfile::TempDir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chromium(ns: &dhcpmgr_lab::Netns) -> Chromium {
    let profile = tempfile::tempdir().expect("a fresh chromium profile dir");
    let mut child = ns
        .command("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1600,900",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=9222",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium (apt-get install chromium): {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(Ok(url.trim().to_string()));
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    let endpoint = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(url)) => url,
        Ok(Err(out)) => panic!("chromium exited without a DevTools endpoint:\n{out}"),
        Err(_) => panic!("chromium gave no DevTools endpoint within 30 s"),
    };
    Chromium {
        child,
        endpoint,
        _profile: profile,
    }
}

/// A DevTools protocol session with one page.
struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    fn connect(ns: &str, endpoint: &str) -> Cdp {
        let url = endpoint.to_string();
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port in the endpoint")
            .to_string();
        let stream = in_netns(ns, move || {
            TcpStream::connect(addr).expect("connect to DevTools")
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        let mut cdp = Cdp {
            ws,
            next_id: 0,
            session: None,
        };
        let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = cdp.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        cdp.session = Some(
            attached["sessionId"]
                .as_str()
                .expect("a session")
                .to_string(),
        );
        cdp.call("Page.enable", json!({}));
        cdp
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
        loop {
            let frame = self
                .ws
                .read()
                .unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("DevTools sends JSON");
            if v["id"] == id {
                if let Some(err) = v.get("error") {
                    panic!("DevTools {method} failed: {err}");
                }
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("page script failed: {expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Evaluates `expression` until it gives `true`; panics with `what` and `explain`'s value.
    fn wait_for(&mut self, expression: &str, timeout: Duration, what: &str, explain: &str) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.eval(expression) == Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{what} (within {timeout:?}); page: {}", self.eval(explain));
    }

    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    fn screenshot(&mut self, name: &str) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let data = shot["data"].as_str().expect("screenshot data");
        let png = data_encoding::BASE64
            .decode(data.as_bytes())
            .expect("the screenshot is base64");
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).expect("write the screenshot");
        eprintln!("screenshot: {}", path.display());
    }
}

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
    let chromium = start_chromium(s.lab.cpe());
    let mut page = Cdp::connect(&cpe, &chromium.endpoint);

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
    page.screenshot("browser-lease.png");

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
    page.screenshot("browser-detail.png");
    page.eval("document.getElementById('detail-close').click(); true");

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
    page.screenshot("browser-filtered.png");

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
    page.screenshot("browser-auth-error.png");
    drop(chromium);
    assert!(web.running(), "the web program died:\n{}", web.log_tail());
}
