//! The Unix-socket server the plugins talk to: one framed envelope per connection, checked
//! for size, version, schema and sender (SO_PEERCRED: root or our own uid), handed to the
//! controller, and answered with the controller's verdict. Bad input is rejected with a
//! logged reason and changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use dhcpmgr_ipc::{
    decode_envelope, encode_frame, frame_len, DecodeError, Envelope, FrameError, Reply,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a peer gets to send its whole message.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the controller gets to apply a message before the plugin is told it failed.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rejected messages logged: at most 5 lines per 10 s, then a count of those left out.
static REJECTIONS: crate::log_limit::LogLimiter =
    crate::log_limit::LogLimiter::new(Duration::from_secs(10), 5);

/// One accepted envelope waiting for the controller's verdict.
#[derive(Debug)]
pub(super) struct IpcRequest {
    pub envelope: Envelope,
    pub reply: oneshot::Sender<Reply>,
}

/// Binds the socket at `path`, replacing a stale one, readable and writable by owner only.
pub(super) fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts connections until `shutdown`, each served on its own task.
pub(super) async fn serve(
    listener: UnixListener,
    requests: mpsc::Sender<IpcRequest>,
    shutdown: CancellationToken,
) {
    let own_uid = nix::unistd::geteuid().as_raw();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, requests.clone(), own_uid));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "IPC accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn handle(mut stream: UnixStream, requests: mpsc::Sender<IpcRequest>, own_uid: u32) {
    let reply = match receive(&mut stream, own_uid).await {
        Ok(envelope) => forward(envelope, &requests).await,
        Err(refusal) => {
            if let Some(suppressed) = REJECTIONS.check() {
                tracing::warn!(reason = %refusal, suppressed, "rejected IPC message");
            }
            Reply::rejected(refusal.to_string())
        }
    };
    let body = serde_json::to_vec(&reply).unwrap_or_default();
    if let Ok(frame) = encode_frame(&body) {
        if let Err(e) = stream.write_all(&frame).await {
            tracing::debug!(error = %e, "plugin went away before the reply");
        }
    }
}

/// Why a plugin's message was refused before it reached the controller.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// The whole frame did not arrive within [`READ_TIMEOUT`].
    #[error("timed out waiting for a whole message")]
    Timeout,
    /// The frame is empty, too large, cut short, or the socket failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// SO_PEERCRED failed.
    #[error("cannot read peer credentials: {0}")]
    PeerCred(std::io::Error),
    /// The sender is neither root nor the daemon's own user.
    #[error("sender uid {uid} (pid {pid:?}) is neither root nor the daemon's uid")]
    Sender { uid: u32, pid: Option<i32> },
    /// The body is not an envelope of this protocol version.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

async fn receive(stream: &mut UnixStream, own_uid: u32) -> Result<Envelope, Refusal> {
    // Read the whole message first, so that even a refused sender gets its answer rather than
    // a reset connection.
    let body = tokio::time::timeout(READ_TIMEOUT, read_body(stream))
        .await
        .map_err(|_| Refusal::Timeout)??;
    let cred = stream.peer_cred().map_err(Refusal::PeerCred)?;
    if cred.uid() != 0 && cred.uid() != own_uid {
        return Err(Refusal::Sender {
            uid: cred.uid(),
            pid: cred.pid(),
        });
    }
    Ok(decode_envelope(&body)?)
}

async fn read_body(stream: &mut UnixStream) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; 4];
    read_exact(stream, &mut header).await?;
    let mut body = vec![0u8; frame_len(header)?];
    read_exact(stream, &mut body).await?;
    Ok(body)
}

async fn read_exact(stream: &mut UnixStream, buf: &mut [u8]) -> Result<(), FrameError> {
    stream.read_exact(buf).await.map(|_| ()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Truncated
        } else {
            FrameError::Io(e)
        }
    })
}

async fn forward(envelope: Envelope, requests: &mpsc::Sender<IpcRequest>) -> Reply {
    let (reply, verdict) = oneshot::channel();
    if requests.send(IpcRequest { envelope, reply }).await.is_err() {
        return Reply::rejected("daemon is shutting down");
    }
    match tokio::time::timeout(APPLY_TIMEOUT, verdict).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => Reply::rejected("daemon dropped the message"),
        Err(_) => Reply::rejected("daemon did not apply the message in time"),
    }
}
