//! Export to the operator's collector: every event becomes an RFC 5424 message ([`syslog`])
//! offered to a bounded queue ([`Exporter::offer`], never waiting: when the queue is full the
//! new message is dropped and counted, the ones already queued are kept), and one task
//! ([`deliver`]) sends the queue to the collector over TCP (octet counting), TLS ([`tls`])
//! or UDP,
//! reconnecting with a backoff from 1 s to [`MAX_BACKOFF`] (plus a jitter of up to 25 %). A message whose write failed is
//! sent again first after the reconnection. The counters go to the [`status`] file every
//! second. The shield's audit records ([`audit`]) go the same way. The shield itself never
//! waits for any of this: the daemon streams to this program, which drops rather than blocks.

mod audit;
pub(crate) mod status;
pub(crate) mod syslog;
pub(crate) mod tls;

pub use audit::follow as follow_audit;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::SslConnector;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::config::{ExportConfig, Transport};
use crate::upstream::{EventSink, StreamEvent};
use syslog::Header;

/// The longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The exporter's counters (also the status file's content).
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Messages taken into the queue.
    pub queued: AtomicU64,
    /// Messages written to the collector.
    pub sent: AtomicU64,
    /// Messages dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Connections made to the collector.
    pub connects: AtomicU64,
    /// Whether a connection to the collector is up now.
    pub connected: AtomicBool,
}

/// A point-in-time copy of [`ExportStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSnapshot {
    /// Messages taken into the queue.
    pub queued: u64,
    /// Messages written to the collector.
    pub sent: u64,
    /// Messages dropped because the queue was full.
    pub dropped: u64,
    /// Connections made to the collector.
    pub connects: u64,
    /// Whether a connection to the collector is up.
    pub connected: bool,
}

impl ExportStats {
    /// The counters now.
    pub fn snapshot(&self) -> ExportSnapshot {
        ExportSnapshot {
            queued: self.queued.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
        }
    }
}

/// The producer side: formats and queues.
pub struct Exporter {
    header: Header,
    /// Datagrams carry one bare message; streams frame them.
    datagrams: bool,
    tx: mpsc::Sender<Vec<u8>>,
    /// The exporter's counters, shared with its writer task and the status file.
    pub stats: Arc<ExportStats>,
}

impl Exporter {
    /// Frames `message` and queues it, or counts it as dropped when the queue is full.
    fn queue(&self, message: String) {
        let frame = if self.datagrams {
            message.into_bytes()
        } else {
            syslog::octet_counted(&message)
        };
        match self.tx.try_send(frame) {
            Ok(()) => self.stats.queued.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.stats.dropped.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// One audit record (from [`audit::follow`]).
    pub fn offer_audit(&self, entry: &serde_json::Value) {
        self.queue(syslog::audit_message(&self.header, entry));
    }
}

impl EventSink for Exporter {
    fn offer(&self, event: &StreamEvent) {
        self.queue(syslog::event_message(&self.header, &event.event));
    }
}

/// Starts delivery and the status file; returns the exporter to feed, or why TLS cannot be
/// set up (an unreadable CA, certificate or key file).
pub fn start(config: ExportConfig) -> Result<Arc<Exporter>, tls::TlsError> {
    let connector = match &config.transport {
        Transport::Tls(t) => Some(tls::connector(t)?),
        Transport::Tcp | Transport::Udp => None,
    };
    let (tx, rx) = mpsc::channel(config.queue);
    let stats = Arc::new(ExportStats::default());
    let exporter = Arc::new(Exporter {
        header: Header {
            facility: config.facility,
            hostname: config.hostname.clone(),
            app_name: config.app_name.clone(),
            procid: std::process::id(),
            sd_id: config.sd_id.clone(),
        },
        datagrams: config.transport == Transport::Udp,
        tx: tx.clone(),
        stats: stats.clone(),
    });
    tokio::spawn(status::write_every_second(
        config.clone(),
        stats.clone(),
        tx,
    ));
    tokio::spawn(deliver(config, connector, rx, stats));
    Ok(exporter)
}

/// A connection to the collector.
enum Link {
    Tcp(TcpStream),
    Tls(Box<tokio_openssl::SslStream<TcpStream>>),
    Udp(UdpSocket),
}

async fn connect(config: &ExportConfig, connector: Option<&SslConnector>) -> std::io::Result<Link> {
    let attempt = async {
        match (&config.transport, connector) {
            (Transport::Tcp, _) => {
                let stream = TcpStream::connect(config.collector).await?;
                stream.set_nodelay(true)?;
                Ok(Link::Tcp(stream))
            }
            (Transport::Tls(t), Some(connector)) => {
                let tcp = TcpStream::connect(config.collector).await?;
                tcp.set_nodelay(true)?;
                let stream = tls::handshake(
                    connector,
                    t.server_name.as_deref(),
                    config.collector.ip(),
                    tcp,
                )
                .await
                .map_err(std::io::Error::other)?;
                Ok(Link::Tls(Box::new(stream)))
            }
            (Transport::Tls(_), None) => Err(std::io::Error::other("no TLS connector")),
            (Transport::Udp, _) => {
                let local: std::net::SocketAddr = if config.collector.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                }
                .parse()
                .map_err(std::io::Error::other)?;
                let socket = UdpSocket::bind(local).await?;
                socket.connect(config.collector).await?;
                Ok(Link::Udp(socket))
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// The next queued frame (`None`: the queue is closed), or the error that ends a stream the
/// collector closed (stop, restart) before anything more is written into it.
async fn next_or_closed<S: AsyncRead + Unpin>(
    rx: &mut mpsc::Receiver<Vec<u8>>,
    stream: &mut S,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut probe = [0u8; 256];
    loop {
        tokio::select! {
            frame = rx.recv() => return Ok(frame),
            read = stream.read(&mut probe) => match read {
                Ok(0) => return Err(std::io::ErrorKind::ConnectionReset.into()),
                Ok(_) => {}
                Err(e) => return Err(e),
            },
        }
    }
}

/// `backoff` plus up to a quarter more, different from one gateway to the next (by process
/// id), so that a fleet does not reconnect to a restarted collector all in the same second.
fn with_jitter(backoff: Duration) -> Duration {
    let spread = std::process::id().wrapping_mul(2_654_435_761) % 256;
    backoff + backoff * spread / 1024
}

/// Why a connection ended.
enum Ended {
    /// The queue is closed: the program is ending.
    Done,
    Lost(std::io::Error),
}

/// Sends the queue to the collector, forever reconnecting.
async fn deliver(
    config: ExportConfig,
    connector: Option<SslConnector>,
    mut rx: mpsc::Receiver<Vec<u8>>,
    stats: Arc<ExportStats>,
) {
    let mut pending: Option<Vec<u8>> = None;
    let mut backoff = FIRST_BACKOFF;
    loop {
        match connect(&config, connector.as_ref()).await {
            Ok(link) => {
                stats.connects.fetch_add(1, Ordering::Relaxed);
                stats.connected.store(true, Ordering::Relaxed);
                tracing::info!(collector = %config.collector, "connected to the collector");
                backoff = FIRST_BACKOFF;
                let ended = send_all(link, &mut rx, &mut pending, &stats).await;
                stats.connected.store(false, Ordering::Relaxed);
                match ended {
                    Ended::Done => return,
                    Ended::Lost(e) => {
                        tracing::warn!(collector = %config.collector, error = %e, "lost the collector")
                    }
                }
            }
            Err(e) => tracing::warn!(
                collector = %config.collector,
                error = %e,
                retry_secs = backoff.as_secs(),
                "cannot reach the collector"
            ),
        }
        tokio::time::sleep(with_jitter(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn send_all(
    mut link: Link,
    rx: &mut mpsc::Receiver<Vec<u8>>,
    pending: &mut Option<Vec<u8>>,
    stats: &ExportStats,
) -> Ended {
    loop {
        let frame = match pending.take() {
            Some(frame) => frame,
            None => match &mut link {
                // A collector that closes its end (a stop, a restart) is noticed before the
                // next message is written into a dead connection.
                Link::Tcp(stream) => match next_or_closed(rx, stream).await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => return Ended::Done,
                    Err(e) => return Ended::Lost(e),
                },
                Link::Tls(stream) => match next_or_closed(rx, stream.as_mut()).await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => return Ended::Done,
                    Err(e) => return Ended::Lost(e),
                },
                Link::Udp(_) => match rx.recv().await {
                    Some(frame) => frame,
                    None => return Ended::Done,
                },
            },
        };
        let written = match &mut link {
            Link::Tcp(stream) => stream.write_all(&frame).await,
            Link::Tls(stream) => stream.write_all(&frame).await,
            Link::Udp(socket) => socket.send(&frame).await.map(|_| ()),
        };
        match written {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                *pending = Some(frame);
                return Ended::Lost(e);
            }
        }
    }
}
