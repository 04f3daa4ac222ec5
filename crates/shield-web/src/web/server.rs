//! The listener on the configured LAN address: reads each request head (at most
//! [`MAX_HEAD`] bytes within [`HEAD_TIMEOUT`]), serves the embedded page, checks the token
//! (`?token=`, compared with the token file read anew for each request) and upgrades
//! `/api/ws/dhcp-events` to a WebSocket [`session`]. Limits: `max_connections` sessions at once
//! (503 beyond), a few more plain HTTP requests in flight, nothing streamed without the token
//! (401).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::config::WebConfig;
use crate::token;
use crate::upstream::Feed;
use crate::web::assets::asset;
use crate::web::http::{self, Head, Route, MAX_HEAD, TOKEN_PARAM};
use crate::web::protocol::MAX_CLIENT_MESSAGE;
use crate::web::session::{self, SessionLimits};

/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Plain HTTP requests in flight besides the sessions.
const EXTRA_REQUESTS: usize = 8;

/// What every connection needs.
pub struct Server {
    /// `[web]`.
    pub config: WebConfig,
    /// The access token file every request is checked against.
    pub token_file: PathBuf,
    /// The events the sessions follow.
    pub feed: Arc<Feed>,
    sessions: Arc<Semaphore>,
    connections: Arc<Semaphore>,
}

impl Server {
    /// A server for `config`, with room for `max_connections` sessions.
    pub fn new(config: WebConfig, token_file: PathBuf, feed: Arc<Feed>) -> Arc<Server> {
        Arc::new(Server {
            sessions: Arc::new(Semaphore::new(config.max_connections)),
            connections: Arc::new(Semaphore::new(config.max_connections + EXTRA_REQUESTS)),
            config,
            token_file,
            feed,
        })
    }
}

/// Binds exactly the configured address (never a wildcard the configuration did not allow).
pub async fn bind(config: &WebConfig) -> std::io::Result<TcpListener> {
    TcpListener::bind(config.listen).await
}

/// Accepts until the process ends.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = server.connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: too many at once");
            continue;
        };
        let server = server.clone();
        tokio::spawn(async move {
            connection(stream, &server).await;
            drop(permit);
        });
    }
}

/// Reads a request head; the head and whatever followed it.
async fn read_head(stream: &mut TcpStream) -> Result<(Head, Vec<u8>), Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(Vec::new()),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        match http::parse_head(&buf) {
            Ok(Some((head, len))) => return Ok((head, buf.split_off(len))),
            Ok(None) if buf.len() < MAX_HEAD => {}
            Ok(None) | Err(http::HttpError::TooLarge) => {
                return Err(http::text(400, "request head too large"))
            }
            Err(e) => return Err(http::text(400, &e.to_string())),
        }
    }
}

fn authorized(server: &Server, head: &Head) -> bool {
    let Some(given) = http::query_param(head.query.as_deref(), TOKEN_PARAM) else {
        return false;
    };
    match token::read(&server.token_file) {
        Ok(expected) => token::matches(&expected, &given),
        Err(e) => {
            tracing::error!(path = %server.token_file.display(), error = %e, "cannot read the access token; refusing every request");
            false
        }
    }
}

async fn connection(mut stream: TcpStream, server: &Server) {
    let (head, rest) = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(got)) => got,
        Ok(Err(answer)) => {
            let _ = stream.write_all(&answer).await;
            return;
        }
        Err(_) => return,
    };
    let answer = match http::route(&head) {
        Route::Asset(a) => {
            let (content_type, body) = asset(a);
            http::response(200, content_type, body)
        }
        Route::Auth if authorized(server, &head) => http::response(204, "text/plain", b""),
        Route::Auth => http::text(401, "missing or wrong token"),
        Route::Events => match upgrade(stream, server, &head, rest).await {
            Some(answer) => return write_closing(answer).await,
            None => return,
        },
        Route::NotFound => http::text(404, "not found"),
        Route::MethodNotAllowed => http::text(405, "only GET is served"),
    };
    let _ = stream.write_all(&answer).await;
    let _ = stream.shutdown().await;
}

/// A refused upgrade's answer and stream, to be written and closed.
struct Refusal {
    stream: TcpStream,
    answer: Vec<u8>,
}

async fn write_closing(mut refusal: Refusal) {
    let _ = refusal.stream.write_all(&refusal.answer).await;
    let _ = refusal.stream.shutdown().await;
}

/// Checks the token, the upgrade headers and the session limit, then runs the session.
/// A refusal comes back with its answer (401, 400, 503).
async fn upgrade(
    mut stream: TcpStream,
    server: &Server,
    head: &Head,
    rest: Vec<u8>,
) -> Option<Refusal> {
    if !authorized(server, head) {
        tracing::info!("WebSocket refused: missing or wrong token");
        return Some(Refusal {
            stream,
            answer: http::text(401, "missing or wrong token"),
        });
    }
    let switching = match http::upgrade(head) {
        Ok(answer) => answer,
        Err(why) => {
            return Some(Refusal {
                stream,
                answer: http::text(400, why),
            })
        }
    };
    let Ok(permit) = server.sessions.clone().try_acquire_owned() else {
        tracing::info!(
            max = server.config.max_connections,
            "WebSocket refused: too many sessions"
        );
        return Some(Refusal {
            stream,
            answer: http::text(503, "too many connections"),
        });
    };
    if stream.write_all(&switching).await.is_err() {
        return None;
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    let ws =
        WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(ws_config)).await;
    tracing::info!("WebSocket session opened");
    session::run(
        ws,
        server.feed.clone(),
        SessionLimits {
            events_per_second: server.config.events_per_second,
            burst: server.config.burst,
            idle_timeout: server.config.idle_timeout,
        },
    )
    .await;
    drop(permit);
    tracing::info!("WebSocket session closed");
    None
}
