//! Replay of lease events the plugins spooled while the daemon was not running.

use std::path::Path;

use dhcpmgr_ipc::{decode_envelope, Envelope, SPOOL_SUFFIX};

/// Reads every complete spool entry in `dir`, oldest first, deleting each file once read.
/// Entries that cannot be decoded are logged and deleted: they would fail again.
pub(super) fn drain(dir: &Path) -> Vec<Envelope> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(SPOOL_SUFFIX))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        match std::fs::read(&path).map(|body| decode_envelope(&body)) {
            Ok(Ok(envelope)) => out.push(envelope),
            Ok(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "dropping undecodable spool entry")
            }
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot read spool entry"),
        }
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete spool entry");
        }
    }
    out.sort_by_key(|e| e.created_unix_ms);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcpmgr_ipc::{spool_message, ClientEvent, V4Event, V4EventKind, PROTOCOL_VERSION};

    fn envelope(ms: u64, kind: V4EventKind) -> Envelope {
        Envelope {
            version: PROTOCOL_VERSION,
            created_unix_ms: ms,
            client_pid: 1,
            client: Some("wan".into()),
            event: ClientEvent::V4(V4Event {
                interface: "erouter0".into(),
                kind,
                lease: None,
            }),
        }
    }

    #[test]
    fn drains_in_creation_order_and_skips_garbage() {
        let dir = tempfile::tempdir().unwrap();
        spool_message(dir.path(), &envelope(20, V4EventKind::Leasefail)).unwrap();
        spool_message(dir.path(), &envelope(10, V4EventKind::Deconfig)).unwrap();
        std::fs::write(dir.path().join("9999-1-1.msg"), b"{truncated").unwrap();
        std::fs::write(dir.path().join(".half.tmp"), b"{}").unwrap();
        let got: Vec<u64> = drain(dir.path())
            .iter()
            .map(|e| e.created_unix_ms)
            .collect();
        assert_eq!(got, [10, 20]);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the temp file stays");
        assert!(drain(&dir.path().join("missing")).is_empty());
    }
}
