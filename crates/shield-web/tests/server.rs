//! The HTTP and WebSocket handling of `dhcpmgr-shield-web` over real sockets, against a
//! stand-in for the daemon's shield socket (it speaks the socket's protocol: one request line,
//! one answer, then `{"event":…}` lines): paths, token refusals, the upgrade, invalid JSON,
//! filter errors, oversized frames, filtering, rate limits and drop counts, the session limit
//! and the idle timeout. The real daemon is in `browser_lab.rs`.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use dhcpmgr_shield_web::config::WebConfig;
use dhcpmgr_shield_web::token;
use dhcpmgr_shield_web::upstream::{self, Feed};
use dhcpmgr_shield_web::web::server::{self, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixListener};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

struct Rig {
    addr: std::net::SocketAddr,
    token: String,
    events: broadcast::Sender<String>,
    dir: tempfile::TempDir,
}

/// The stand-in daemon: streams what the test sends on `events`, answers `filters`.
async fn fake_daemon(listener: UnixListener, events: broadcast::Sender<String>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let mut rx = events.subscribe();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(read).read_line(&mut line).await.is_err() {
                return;
            }
            let request: Value = serde_json::from_str(&line).unwrap_or_default();
            let answer = match request["cmd"].as_str() {
                Some("stream") => json!({"ok": true}),
                Some("filters") => json!({"ok": true, "filters": {"discovers":
                    {"logic": "AND", "rules": [{"field": "message_type", "operator": "eq", "value": "DISCOVER"}]}}}),
                _ => json!({"ok": false, "error": "not in this stand-in"}),
            };
            if write
                .write_all(format!("{answer}\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            if request["cmd"] == "stream" {
                while let Ok(event) = rx.recv().await {
                    if write
                        .write_all(format!("{{\"event\":{event}}}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
    }
}

async fn rig(max_connections: usize, rate: u32, idle: Duration) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("shield.sock");
    let token_file: PathBuf = dir.path().join("shield-web.token");
    token::ensure(&token_file).expect("token");
    let token = token::read(&token_file).expect("token");
    let (events, _) = broadcast::channel(4096);
    let listener = UnixListener::bind(&socket).expect("bind the stand-in socket");
    tokio::spawn(fake_daemon(listener, events.clone()));
    let config = WebConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections,
        events_per_second: rate,
        burst: rate,
        idle_timeout: idle,
    };
    let listener = server::bind(&config).await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let feed = Feed::new(socket);
    tokio::spawn(upstream::follow(feed.clone(), None));
    tokio::spawn(server::serve(
        listener,
        Server::new(config, token_file, feed.clone()),
    ));
    // Wait for the subscription, so that events sent from now on are streamed.
    let mut up = feed.connected();
    tokio::time::timeout(Duration::from_secs(5), up.wait_for(|c| *c))
        .await
        .expect("the web program subscribes to the stand-in daemon")
        .expect("watch");
    Rig {
        addr,
        token,
        events,
        dir,
    }
}

/// One raw HTTP exchange; the whole answer.
async fn http(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
}

async fn ws(rig: &Rig, token: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!("ws://{}/api/ws/dhcp-events?token={token}", rig.addr);
    let tcp = TcpStream::connect(rig.addr).await.expect("connect");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .map(|(ws, _)| ws)
}

/// The next text message of `type`, skipping others (5 s).
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sends JSON");
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended while waiting for {kind}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} message within 5 s"))
}

fn event(seq: u64, kind: &str) -> String {
    json!({"seq": seq, "proto": "v4", "message_type": kind, "verdict": "accept", "mark": 0,
           "matched_rule": "unknown", "option_count": 0, "dhcp_options": {}})
    .to_string()
}

#[tokio::test]
async fn paths_methods_and_tokens() {
    let r = rig(2, 100, Duration::from_secs(60)).await;
    let page = http(r.addr, &get("/")).await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("<title>DHCP Stream</title>"));
    assert!(http(r.addr, &get("/app.js"))
        .await
        .contains("update_filters"));
    for bad in ["/nope", "/app.js/..", "/%2e%2e/etc/passwd", "/api/ws"] {
        let a = http(r.addr, &get(bad)).await;
        assert!(a.starts_with("HTTP/1.1 404 "), "{bad}: {a}");
    }
    let post = http(r.addr, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let garbage = http(r.addr, "\x16\x03\x01 not http\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
    assert!(http(r.addr, &huge).await.starts_with("HTTP/1.1 400 "));

    assert!(http(r.addr, &get("/api/auth"))
        .await
        .starts_with("HTTP/1.1 401 "));
    assert!(http(r.addr, &get("/api/auth?token=00"))
        .await
        .starts_with("HTTP/1.1 401 "));
    let ok = http(r.addr, &get(&format!("/api/auth?token={}", r.token))).await;
    assert!(ok.starts_with("HTTP/1.1 204 "), "{ok}");

    // The WebSocket without or with a wrong token: 401, nothing streamed.
    for bad in ["", "0123", &"f".repeat(64)] {
        match ws(&r, bad).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401, "token {bad:?}")
            }
            other => panic!("token {bad:?}: expected 401, got {other:?}"),
        }
    }
    let plain = http(
        r.addr,
        &get(&format!("/api/ws/dhcp-events?token={}", r.token)),
    )
    .await;
    assert!(plain.starts_with("HTTP/1.1 400 "), "{plain}");
}

#[tokio::test]
async fn messages_filters_and_errors() {
    let r = rig(2, 10_000, Duration::from_secs(60)).await;
    let mut c = ws(&r, &r.token).await.expect("WebSocket with the token");
    let hello = next_of(&mut c, "hello").await;
    assert_eq!(hello["daemon_connected"], true);
    let saved = next_of(&mut c, "saved_filters").await;
    assert!(saved["filters"]["discovers"].is_object(), "{saved}");

    // Invalid JSON, an unknown message, a bad filter: an error each, the session stays.
    c.send(Message::text("{not json")).await.unwrap();
    let e = next_of(&mut c, "error").await;
    assert!(
        e["error"].as_str().unwrap().starts_with("bad message"),
        "{e}"
    );
    c.send(Message::text(r#"{"type":"reboot"}"#)).await.unwrap();
    next_of(&mut c, "error").await;
    c.send(Message::text(
        r#"{"type":"update_filters","filters":{"logic":"AND","rules":[{"field":"lease_time","operator":"regex","value":"1"}]}}"#,
    ))
    .await
    .unwrap();
    let e = next_of(&mut c, "error").await;
    assert!(
        e["error"].as_str().unwrap().contains("rules[0].operator"),
        "{e}"
    );
    c.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    next_of(&mut c, "error").await;

    // A good filter: only matching events come.
    c.send(Message::text(
        r#"{"type":"update_filters","filters":{"logic":"OR","rules":[{"field":"message_type","operator":"eq","value":"discover"}]}}"#,
    ))
    .await
    .unwrap();
    next_of(&mut c, "filters_updated").await;
    for (seq, kind) in [(1, "OFFER"), (2, "DISCOVER"), (3, "ACK"), (4, "DISCOVER")] {
        r.events.send(event(seq, kind)).unwrap();
    }
    let a = next_of(&mut c, "event").await;
    let b = next_of(&mut c, "event").await;
    assert_eq!(
        (a["event"]["seq"].as_u64(), b["event"]["seq"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(a["event"]["message_type"], "DISCOVER");

    // An oversized frame ends the session (the WebSocket limit is 64 KiB).
    c.send(Message::text("x".repeat(70 * 1024))).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match c.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "an oversized frame should end the session");
}

#[tokio::test]
async fn rate_limit_counts_drops() {
    let r = rig(2, 5, Duration::from_secs(60)).await;
    let mut c = ws(&r, &r.token).await.expect("WebSocket");
    next_of(&mut c, "hello").await;
    for seq in 0..50 {
        r.events.send(event(seq, "DISCOVER")).unwrap();
    }
    // Drop counts are reported once a second, so a report may come while events still flow:
    // read until every event is accounted for, as delivered or as dropped.
    let (mut delivered, mut last) = (0u64, Value::Null);
    let settled = tokio::time::timeout(Duration::from_secs(10), async {
        while delivered + last["rate_limited"].as_u64().unwrap_or(0) < 50 {
            match c.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
                    match v["type"].as_str() {
                        Some("event") => delivered += 1,
                        Some("dropped") => last = v,
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the session ended: {other:?}"),
            }
        }
    })
    .await;
    assert!(settled.is_ok(), "{delivered} delivered, last report {last}");
    assert_eq!(delivered, 5, "the burst of 5 goes through");
    assert_eq!(last["rate_limited"], 45, "the other 45 are dropped: {last}");
    assert_eq!(last["total"], 45, "{last}");
}

#[tokio::test]
async fn session_limit_and_idle_timeout() {
    let r = rig(1, 100, Duration::from_secs(2)).await;
    let mut first = ws(&r, &r.token).await.expect("first session");
    next_of(&mut first, "hello").await;
    match ws(&r, &r.token).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("a second session should get 503, got {other:?}"),
    }
    // The client library answers pings only while it reads; a silent client is closed.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match first.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.reason.to_string()),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the idle session is closed");
    assert_eq!(closed.as_deref(), Some("idle timeout"));
    // Its slot is free again.
    let mut again = ws(&r, &r.token)
        .await
        .expect("a new session after the idle one");
    next_of(&mut again, "hello").await;
}

#[tokio::test]
async fn a_rotated_token_applies_to_the_next_request() {
    let r = rig(2, 100, Duration::from_secs(60)).await;
    let dir = r.dir.path().to_path_buf();
    let config = dir.join("shield-web.toml");
    std::fs::write(
        &config,
        format!(
            "token_file = \"{}\"\n[web]\nlisten = \"127.0.0.1:1\"\n",
            dir.join("shield-web.token").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dhcpmgr-shield-web"))
        .arg("--config")
        .arg(&config)
        .arg("--rotate-token")
        .output()
        .expect("run dhcpmgr-shield-web --rotate-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(new.len(), token::TOKEN_LEN, "{new:?}");
    assert_ne!(new, r.token);
    let old = http(r.addr, &get(&format!("/api/auth?token={}", r.token))).await;
    assert!(
        old.starts_with("HTTP/1.1 401 "),
        "the old token still works: {old}"
    );
    let fresh = http(r.addr, &get(&format!("/api/auth?token={new}"))).await;
    assert!(fresh.starts_with("HTTP/1.1 204 "), "{fresh}");
    let mut c = ws(&r, &new).await.expect("a session with the new token");
    next_of(&mut c, "hello").await;
}

#[tokio::test]
async fn dhcpmgrctl_rotates_the_token_the_page_checks() {
    let r = rig(2, 100, Duration::from_secs(60)).await;
    let file = r.dir.path().join("shield-web.token");
    let out = std::process::Command::new(dhcpmgr_lab::bin("dhcpmgrctl"))
        .args(["shield", "rotate-token", "--token-file"])
        .arg(&file)
        .output()
        .expect("run dhcpmgrctl shield rotate-token (cargo build --workspace first)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(new.len(), token::TOKEN_LEN, "{new:?}");
    assert_ne!(new, r.token);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("token file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the token file is root's only");
    let old = http(r.addr, &get(&format!("/api/auth?token={}", r.token))).await;
    assert!(
        old.starts_with("HTTP/1.1 401 "),
        "the old token still works: {old}"
    );
    let fresh = http(r.addr, &get(&format!("/api/auth?token={new}"))).await;
    assert!(fresh.starts_with("HTTP/1.1 204 "), "{fresh}");
}
