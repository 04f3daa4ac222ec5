//! The daemon side: one `stream` subscription (all events, unfiltered) on the shield socket,
//! fanned out to the web sessions through a broadcast channel and offered to the exporter; and
//! one-shot requests (saved filters). The subscription is re-opened every [`RETRY`] while the
//! daemon is away; [`Feed::connected`] says whether it is up. Filtering happens here, per web
//! session, with the daemon's own filter code, so the daemon serves one subscriber whatever
//! the number of browsers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dhcpmgr_shield::proto::{Dropped, Request};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How long between attempts to reach the daemon.
pub const RETRY: Duration = Duration::from_secs(2);
/// Events a slow web session may fall behind before it loses some.
const FANOUT: usize = 1024;
/// A line from the daemon longer than this is refused (the daemon's events are a few KiB).
const MAX_LINE: usize = 256 * 1024;
/// How long a one-shot request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why talking to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The daemon's shield socket could not be reached (the daemon is down, or the shield is off).
    #[error("cannot reach the shield at {path}: {source}")]
    Connect {
        /// The socket's path.
        path: String,
        /// Why connecting failed.
        source: std::io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("shield socket: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon's answer is not JSON.
    #[error("the daemon's answer is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The daemon refused the request (its `error`), hung up, or sent a line too long.
    #[error("the daemon refused: {0}")]
    Refused(String),
    /// The daemon did not answer within this long.
    #[error("the daemon did not answer within {0:?}")]
    Timeout(Duration),
}

/// One event as received: its JSON for filtering and export, and the WebSocket message that
/// carries it (built once, shared by every session).
#[derive(Debug)]
pub struct StreamEvent {
    /// The event as JSON, for filters and the exporter.
    pub event: Value,
    /// The WebSocket text message that carries it to the sessions.
    pub message: Utf8Bytes,
}

/// Receives every event the daemon streams.
pub trait EventSink: Send + Sync {
    /// Takes one event; must not block (the feed calls it for every event).
    fn offer(&self, event: &StreamEvent);
}

/// What the sessions share: the fan-out, the daemon's state and its drop totals.
pub struct Feed {
    events: broadcast::Sender<Arc<StreamEvent>>,
    connected: watch::Sender<bool>,
    /// Events the daemon dropped for this subscription (its rate limit and queue).
    pub upstream_dropped: AtomicU64,
    /// The daemon's shield socket the feed follows.
    pub socket: PathBuf,
}

impl Feed {
    /// A feed of the daemon at `socket`, with no session yet and not connected.
    pub fn new(socket: PathBuf) -> Arc<Feed> {
        Arc::new(Feed {
            events: broadcast::channel(FANOUT).0,
            connected: watch::channel(false).0,
            upstream_dropped: AtomicU64::new(0),
            socket,
        })
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StreamEvent>> {
        self.events.subscribe()
    }

    /// Whether the feed is connected to the daemon, and each change of it.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }

    /// Hands `event` to the sessions (none listening is fine).
    pub fn publish(&self, event: StreamEvent) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(Arc::new(event));
        }
    }
}

/// The WebSocket message for the daemon's stream line `{"event":{…}}`: the same object with
/// `"type":"event"` in front, without parsing it again.
fn event_message(line: &str) -> Option<Utf8Bytes> {
    let rest = line.strip_prefix('{')?;
    Some(format!("{{\"type\":\"event\",{rest}").into())
}

/// Follows the daemon's stream until the process ends, re-subscribing after every loss.
pub async fn follow(feed: Arc<Feed>, sink: Option<Arc<dyn EventSink>>) {
    loop {
        match subscribe(&feed, sink.as_deref()).await {
            Ok(()) => tracing::warn!("the daemon closed the shield stream; subscribing again"),
            Err(e) => {
                tracing::warn!(error = %e, retry_secs = RETRY.as_secs(), "shield stream unavailable")
            }
        }
        feed.connected.send_replace(false);
        tokio::time::sleep(RETRY).await;
    }
}

async fn connect(socket: &Path) -> Result<UnixStream, UpstreamError> {
    UnixStream::connect(socket)
        .await
        .map_err(|source| UpstreamError::Connect {
            path: socket.display().to_string(),
            source,
        })
}

async fn send_request(stream: &mut UnixStream, request: &Request) -> Result<(), UpstreamError> {
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    Ok(())
}

/// The daemon's first answer line: `{"ok":true,…}` or its error.
fn check_answer(line: &str) -> Result<Value, UpstreamError> {
    let answer: Value = serde_json::from_str(line.trim())?;
    if answer["ok"] == Value::Bool(true) {
        Ok(answer)
    } else {
        Err(UpstreamError::Refused(
            answer["error"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string(),
        ))
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at the end of the stream.
async fn read_line(
    reader: &mut BufReader<UnixStream>,
    line: &mut String,
) -> Result<Option<()>, UpstreamError> {
    line.clear();
    let mut limited = (&mut *reader).take(MAX_LINE as u64);
    let n = limited.read_line(line).await?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with('\n') && n >= MAX_LINE {
        return Err(UpstreamError::Refused(format!(
            "a stream line longer than {MAX_LINE} bytes"
        )));
    }
    Ok(Some(()))
}

async fn subscribe(feed: &Feed, sink: Option<&dyn EventSink>) -> Result<(), UpstreamError> {
    let mut stream = connect(&feed.socket).await?;
    send_request(
        &mut stream,
        &Request::Stream {
            filter: None,
            saved: None,
        },
    )
    .await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if read_line(&mut reader, &mut line).await?.is_none() {
        return Err(UpstreamError::Refused("the daemon hung up".into()));
    }
    check_answer(&line)?;
    feed.connected.send_replace(true);
    tracing::info!(socket = %feed.socket.display(), "following the shield stream");
    let mut base: Option<u64> = None;
    while read_line(&mut reader, &mut line).await?.is_some() {
        let text = line.trim_end();
        let Ok(mut msg) = serde_json::from_str::<Value>(text) else {
            tracing::debug!("unreadable line on the shield stream skipped");
            continue;
        };
        if let Some(event) = msg.get_mut("event").map(Value::take) {
            let Some(message) = event_message(text) else {
                continue;
            };
            let item = StreamEvent { event, message };
            if let Some(sink) = sink {
                sink.offer(&item);
            }
            feed.publish(item);
        } else if let Some(d) = msg.get("dropped") {
            if let Ok(d) = serde_json::from_value::<Dropped>(d.clone()) {
                // Totals for this subscription; a new subscription starts again from zero.
                let total = d.rate_limited + d.overflow;
                let before = *base.get_or_insert(0);
                feed.upstream_dropped
                    .fetch_add(total.saturating_sub(before), Ordering::Relaxed);
                base = Some(total);
            }
        }
    }
    Ok(())
}

/// Sends one request and returns the daemon's answer (`ok` true), within [`REQUEST_TIMEOUT`].
pub async fn request(socket: &Path, request: &Request) -> Result<Value, UpstreamError> {
    let exchange = async {
        let mut stream = connect(socket).await?;
        send_request(&mut stream, request).await?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        if read_line(&mut reader, &mut line).await?.is_none() {
            return Err(UpstreamError::Refused("the daemon hung up".into()));
        }
        check_answer(&line)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| UpstreamError::Timeout(REQUEST_TIMEOUT))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_message_keeps_the_event_text() {
        let m = event_message(r#"{"event":{"seq":1,"message_type":"ACK"}}"#).unwrap();
        let v: Value = serde_json::from_str(m.as_str()).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["event"]["message_type"], "ACK");
        assert!(event_message("no object").is_none());
    }

    #[test]
    fn answers() {
        assert_eq!(check_answer(r#"{"ok":true,"x":1}"#).unwrap()["x"], 1);
        let e = check_answer(r#"{"ok":false,"error":"permission denied"}"#).unwrap_err();
        assert_eq!(e.to_string(), "the daemon refused: permission denied");
        assert!(check_answer("garbage").is_err());
    }
}
