//! The plugin-side spool: envelopes written atomically to a directory when the daemon cannot
//! be reached, for the daemon to replay when it starts.

use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomically;
use crate::message::{encode_envelope, Envelope};

/// File name suffix of a complete spool entry. Temporary files never carry it.
pub const SPOOL_SUFFIX: &str = ".msg";

/// Why an envelope could not be spooled.
#[derive(Debug, thiserror::Error)]
#[error("cannot spool lease event in {dir}: {source}")]
pub struct SpoolError {
    dir: PathBuf,
    source: io::Error,
}

/// Writes `envelope` as one file in `dir` (created if missing): temp file, fsync, rename, so a
/// reader never sees half an entry. Names sort by creation time.
pub fn spool_message(dir: &Path, envelope: &Envelope) -> Result<PathBuf, SpoolError> {
    write_entry(dir, envelope).map_err(|source| SpoolError {
        dir: dir.to_path_buf(),
        source,
    })
}

fn write_entry(dir: &Path, envelope: &Envelope) -> io::Result<PathBuf> {
    let stem = format!(
        "{:013}-{}-{}",
        envelope.created_unix_ms,
        envelope.client_pid,
        std::process::id()
    );
    let done = dir.join(format!("{stem}{SPOOL_SUFFIX}"));
    write_atomically(&done, &encode_envelope(envelope))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::message::{decode_envelope, ClientEvent, V4Event, V4EventKind, PROTOCOL_VERSION};

    #[test]
    fn spooled_entry_decodes_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("dhcpmgr-spool-test-{}", std::process::id()));
        let env = Envelope {
            version: PROTOCOL_VERSION,
            created_unix_ms: 5,
            client_pid: 9,
            client: None,
            event: ClientEvent::V4(V4Event {
                interface: "eth0".into(),
                kind: V4EventKind::Leasefail,
                lease: None,
            }),
        };
        let path = spool_message(&dir, &env).unwrap();
        assert!(path.to_string_lossy().ends_with(SPOOL_SUFFIX));
        assert_eq!(decode_envelope(&fs::read(&path).unwrap()).unwrap(), env);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
