//! The exporter's status file (default `shield-export.json` next to the shield socket): its
//! counters as one JSON object, replaced atomically every second, for `dhcpmgrctl shield
//! status` and monitoring. `updated` (Unix seconds) tells a stale file from a live one.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::config::ExportConfig;
use crate::export::ExportStats;

/// The file's content.
pub(crate) fn document(config: &ExportConfig, stats: &ExportStats, queue_len: usize) -> Value {
    let s = stats.snapshot();
    json!({
        "collector": config.collector.to_string(),
        "transport": config.transport.name(),
        "connected": s.connected,
        "queue": queue_len,
        "queue_max": config.queue,
        "queued": s.queued,
        "sent": s.sent,
        "dropped": s.dropped,
        "connects": s.connects,
        "drop_policy": "newest",
        "updated": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    })
}

fn write(path: &Path, value: &Value) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{value}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Writes the file every second until the queue closes; `tx` only measures the queue.
pub(crate) async fn write_every_second(
    config: ExportConfig,
    stats: Arc<ExportStats>,
    tx: mpsc::Sender<Vec<u8>>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut warned = false;
    loop {
        tick.tick().await;
        let queue_len = tx.max_capacity() - tx.capacity();
        match write(&config.status_file, &document(&config, &stats, queue_len)) {
            Ok(()) => warned = false,
            Err(e) if !warned => {
                warned = true;
                tracing::warn!(path = %config.status_file.display(), error = %e, "cannot write the export status file");
            }
            Err(_) => {}
        }
        if tx.is_closed() {
            return;
        }
    }
}
