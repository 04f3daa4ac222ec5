//! One WebSocket session: its filter, its token bucket (the daemon's [`Bucket`]), its drop
//! counts, the idle timer, and the page's requests for saved filters (passed to the daemon).
//! Events leave in the order the daemon sent them; a session that reads too slowly loses the
//! oldest it had not read (counted as `lagged`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use dhcpmgr_shield::filter::Filter;
use dhcpmgr_shield::hub::Bucket;
use dhcpmgr_shield::proto::Request;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::upstream::{self, Feed};
use crate::web::protocol::{self, ClientMessage, Drops};

/// How often drop counts are reported (when they changed) and the idle timer is checked.
const TICK: Duration = Duration::from_secs(1);

/// What a session may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionLimits {
    pub events_per_second: u32,
    pub burst: u32,
    pub idle_timeout: Duration,
}

/// Runs the session until the page leaves, misbehaves at the WebSocket level, or is idle.
pub(crate) async fn run<S>(mut ws: WebSocketStream<S>, feed: Arc<Feed>, limits: SessionLimits)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut events = feed.subscribe();
    let mut daemon = feed.connected();
    let mut filter = Filter::all();
    let mut bucket = Bucket::new(
        limits.events_per_second,
        limits.burst,
        std::time::Instant::now(),
    );
    let upstream_base = feed.upstream_dropped.load(Ordering::Relaxed);
    let mut drops = Drops::default();
    let mut reported = drops;
    let mut last_heard = Instant::now();
    let mut last_ping = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    let hello = protocol::hello(
        limits.events_per_second,
        limits.burst,
        *daemon.borrow_and_update(),
    );
    if ws.send(Message::text(hello)).await.is_err() {
        return;
    }
    send_saved(&mut ws, &feed).await;
    loop {
        let outcome = tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(message)) => {
                    last_heard = Instant::now();
                    on_frame(&mut ws, &feed, &mut filter, message).await
                }
                Some(Err(e)) => {
                    tracing::info!(error = %e, "WebSocket session ended by a protocol error");
                    Flow::Stop
                }
                None => Flow::Stop,
            },
            received = events.recv() => match received {
                Ok(item) => {
                    if !filter.matches(&item.event) {
                        Flow::Go
                    } else if bucket.take(std::time::Instant::now()) {
                        match ws.send(Message::Text(item.message.clone())).await {
                            Ok(()) => Flow::Go,
                            Err(_) => Flow::Stop,
                        }
                    } else {
                        drops.rate_limited += 1;
                        Flow::Go
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    drops.lagged += n;
                    Flow::Go
                }
                Err(RecvError::Closed) => Flow::Stop,
            },
            changed = daemon.changed() => match changed {
                Ok(()) => {
                    let up = *daemon.borrow_and_update();
                    send(&mut ws, protocol::daemon(up)).await
                }
                Err(_) => Flow::Stop,
            },
            _ = tick.tick() => {
                drops.upstream = feed.upstream_dropped.load(Ordering::Relaxed).saturating_sub(upstream_base);
                if last_heard.elapsed() >= limits.idle_timeout {
                    let _ = ws.close(Some(CloseFrame {
                        code: CloseCode::Away,
                        reason: "idle timeout".into(),
                    })).await;
                    tracing::info!("WebSocket session closed after its idle timeout");
                    Flow::Stop
                } else if drops != reported {
                    reported = drops;
                    send(&mut ws, protocol::dropped(drops)).await
                } else if last_ping.elapsed() >= limits.idle_timeout / 3 {
                    // A live page answers with a pong, which counts as heard from.
                    last_ping = Instant::now();
                    match ws.send(Message::Ping(Default::default())).await {
                        Ok(()) => Flow::Go,
                        Err(_) => Flow::Stop,
                    }
                } else {
                    Flow::Go
                }
            }
        };
        if outcome == Flow::Stop {
            break;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

async fn send<S>(ws: &mut WebSocketStream<S>, text: String) -> Flow
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match ws.send(Message::text(text)).await {
        Ok(()) => Flow::Go,
        Err(_) => Flow::Stop,
    }
}

async fn on_frame<S>(
    ws: &mut WebSocketStream<S>,
    feed: &Feed,
    filter: &mut Filter,
    message: Message,
) -> Flow
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let text = match message {
        Message::Text(text) => text,
        Message::Close(_) => return Flow::Stop,
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Flow::Go,
        Message::Binary(_) => {
            return send(ws, protocol::error("text frames only (JSON messages)")).await
        }
    };
    match protocol::parse_client(&text) {
        Err(e) => send(ws, protocol::error(&e)).await,
        Ok(ClientMessage::UpdateFilters { filters }) => match protocol::compile(&filters) {
            Ok(f) => {
                tracing::debug!(filter = %f.source(), "session filter updated");
                *filter = f;
                send(ws, protocol::filters_updated(filter)).await
            }
            Err(e) => send(ws, protocol::error(&e)).await,
        },
        Ok(ClientMessage::ListFilters) => {
            send_saved(ws, feed).await;
            Flow::Go
        }
        Ok(ClientMessage::SaveFilter { name, filter }) => {
            daemon_change(ws, feed, Request::SaveFilter { name, filter }).await
        }
        Ok(ClientMessage::DeleteFilter { name }) => {
            daemon_change(ws, feed, Request::DeleteFilter { name }).await
        }
    }
}

/// Sends the daemon's saved filters (or why they cannot be had).
async fn send_saved<S>(ws: &mut WebSocketStream<S>, feed: &Feed)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let text = match upstream::request(&feed.socket, &Request::Filters).await {
        Ok(answer) => {
            let filters: BTreeMap<String, Value> =
                serde_json::from_value(answer["filters"].clone()).unwrap_or_default();
            protocol::saved_filters(&filters)
        }
        Err(e) => protocol::error(&format!("saved filters unavailable: {e}")),
    };
    let _ = ws.send(Message::text(text)).await;
}

/// Saves or deletes a filter in the daemon, then sends the new list.
async fn daemon_change<S>(ws: &mut WebSocketStream<S>, feed: &Feed, request: Request) -> Flow
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match upstream::request(&feed.socket, &request).await {
        Ok(_) => {
            send_saved(ws, feed).await;
            Flow::Go
        }
        Err(e) => send(ws, protocol::error(&e.to_string())).await,
    }
}
