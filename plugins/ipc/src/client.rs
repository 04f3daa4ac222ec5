//! Plugin-side delivery: send one envelope to the daemon with a short timeout, or spool it.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::io::Write;

use crate::frame::{encode_frame, read_frame};
use crate::message::{encode_envelope, Envelope, Reply};
use crate::spool::{spool_message, SpoolError};

/// How long a plugin waits for the daemon before spooling instead.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// What became of an envelope.
#[derive(Debug)]
pub enum Delivery {
    /// The daemon applied it.
    Accepted,
    /// The daemon read it and refused it, or it is too large to send, saying why. Not spooled:
    /// it would be refused again.
    Rejected(String),
    /// The daemon was unreachable, or could not apply it yet and asked for it again later;
    /// the envelope waits in the spool at this path.
    Spooled {
        /// The spooled envelope's file.
        path: PathBuf,
        /// Why it was not applied now.
        why: String,
    },
}

/// Sends `envelope` to the daemon at `socket`; if the daemon cannot be reached, does not
/// answer within `timeout`, or answers that it could not apply it yet, spools it under
/// `spool_dir`.
pub fn deliver(
    envelope: &Envelope,
    socket: &Path,
    spool_dir: &Path,
    timeout: Duration,
) -> Result<Delivery, SpoolError> {
    let frame = match encode_frame(&encode_envelope(envelope)) {
        Ok(frame) => frame,
        // Too large for any daemon: spooling it would only fail again at replay.
        Err(e) => return Ok(Delivery::Rejected(e.to_string())),
    };
    match exchange(&frame, socket, timeout) {
        Ok(reply) if reply.accepted => Ok(Delivery::Accepted),
        Ok(reply) if reply.retry => {
            let path = spool_message(spool_dir, envelope)?;
            let why = format!("dhcpmgr could not apply it yet ({})", reply.reason);
            Ok(Delivery::Spooled { path, why })
        }
        Ok(reply) => Ok(Delivery::Rejected(reply.reason)),
        Err(why) => {
            let path = spool_message(spool_dir, envelope)?;
            Ok(Delivery::Spooled { path, why })
        }
    }
}

fn exchange(frame: &[u8], socket: &Path, timeout: Duration) -> Result<Reply, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    stream
        .set_write_timeout(Some(timeout))
        .and_then(|()| stream.set_read_timeout(Some(timeout)))
        .map_err(|e| format!("cannot set socket timeouts: {e}"))?;
    (&stream)
        .write_all(frame)
        .map_err(|e| format!("cannot send to the daemon: {e}"))?;
    let body = read_frame(&stream).map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| format!("unreadable reply from daemon: {e}"))
}
