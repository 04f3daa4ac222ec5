//! The daemon's TR-181 `ValuesChanged` D-Bus signal, followed on a thread of its own.

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use dhcpmgr::tr181::DataModel1Proxy;
use futures_util::StreamExt as _;

use crate::common::Result;

/// A `ValuesChanged` signal's (name, value) pairs and when it arrived.
pub type ValuesChanged = (Instant, Vec<(String, String)>);

/// Subscribes to the daemon's `ValuesChanged` on `address` (a thread with its own runtime) and
/// hands over each signal with the time it arrived.
pub fn watch_values_changed(address: &str) -> Result<Receiver<ValuesChanged>> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let address = address.to_owned();
    thread::Builder::new()
        .name("values-changed".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let subscribed = async {
                    let conn = zbus::connection::Builder::address(address.as_str())?
                        .build()
                        .await?;
                    let proxy = DataModel1Proxy::new(&conn).await?;
                    let stream = proxy.receive_values_changed().await?;
                    Ok::<_, zbus::Error>((conn, stream))
                };
                let (_conn, mut stream) = match subscribed.await {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("subscribe to ValuesChanged: {e}")));
                        return;
                    }
                };
                while let Some(signal) = stream.next().await {
                    let at = Instant::now();
                    if let Ok(args) = signal.args() {
                        if tx.send((at, args.changes)).is_err() {
                            return;
                        }
                    }
                }
            });
        })
        .map_err(|e| format!("spawn the D-Bus thread: {e}"))?;
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| format!("D-Bus subscriber did not start: {e}"))??;
    Ok(rx)
}
