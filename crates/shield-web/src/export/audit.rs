//! The shield's audit records (every action change: who, what, why) for the collector. The
//! daemon's socket has no audit stream, so they are polled: the `audit` request every
//! [`POLL`] gives the last 256 records, oldest first, and [`new_entries`] picks those after
//! the newest one already exported. Records made before this program started, or while the
//! daemon was unreachable for longer than 256 changes take, are not exported (the daemon's
//! `shield-audit.jsonl` keeps them).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dhcpmgr_shield::proto::Request;
use serde_json::Value;

use crate::export::Exporter;
use crate::upstream;

/// How often the daemon is asked for its audit records.
pub(super) const POLL: Duration = Duration::from_secs(2);
/// As many as the daemon keeps in memory.
const LIMIT: usize = 256;

/// The records of `list` (oldest first) after `last`, the newest one exported before; all of
/// them when `last` is no longer there (the daemon restarted, or more changed than it keeps).
pub(super) fn new_entries<'a>(last: Option<&Value>, list: &'a [Value]) -> &'a [Value] {
    match last.and_then(|l| list.iter().rposition(|e| e == l)) {
        Some(i) => &list[i + 1..],
        None => list,
    }
}

/// Polls the daemon forever, offering each new record to `exporter`.
pub async fn follow(socket: PathBuf, exporter: Arc<Exporter>) {
    // `None` until the first answer: what is there at start is history, not news.
    let mut last: Option<Option<Value>> = None;
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let request = Request::Audit { limit: Some(LIMIT) };
        let list = match upstream::request(&socket, &request).await {
            Ok(answer) => match answer["audit"].as_array() {
                Some(list) => list.clone(),
                None => continue,
            },
            Err(e) => {
                tracing::debug!(error = %e, "audit records unavailable");
                continue;
            }
        };
        if let Some(seen) = &last {
            for entry in new_entries(seen.as_ref(), &list) {
                exporter.offer_audit(entry);
            }
        }
        last = Some(list.last().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_what_came_after_the_last_exported() {
        let e = |n: u32| json!({"client": format!("c{n}"), "what": "set"});
        let list = [e(1), e(2), e(3)];
        assert_eq!(new_entries(Some(&e(1)), &list), &list[1..]);
        assert_eq!(new_entries(Some(&e(3)), &list), &[] as &[Value]);
        assert_eq!(
            new_entries(None, &list),
            &list[..],
            "nothing exported yet: all"
        );
        assert_eq!(
            new_entries(Some(&e(9)), &list),
            &list[..],
            "the last one is gone (a daemon restart): all"
        );
    }
}
