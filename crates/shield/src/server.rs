//! The control socket (`run_dir/shield.sock`). Who may use it is decided by the peer's uid
//! (SO_PEERCRED) as each connection is accepted, before a byte of it is read: root, the daemon's
//! own user and `control_uids`; anyone else gets one error line and is closed. The file mode
//! follows from that list ([`socket_mode`]): 0600 when nobody else is allowed, 0666 when
//! `control_uids` lists users. Listing a uid is then all an integrator does, as with
//! `dbus.write_uids` (the system bus is 0666 with its policy by uid too); a group on the file
//! would be a second list to keep in step with `control_uids`, failing as a bare "permission
//! denied" from the kernel when they disagree (a 0660 root:root socket did just that to every
//! listed user).
//!
//! An accepted connection sends one [`Request`] line (≤ 64 KiB, all of it within
//! [`REQUEST_DEADLINE`], however slowly it trickles in) and gets its answer; a `stream` keeps the
//! connection and forwards the subscriber's events until the peer hangs up or the shield stops.
//! One thread per connection, bounded: at most `max_subscribers` streams plus 8 short requests
//! at a time, the last of those slots kept for root ([`admit`]), so slow or idle connections of
//! listed users never lock the administrator out. Rejections are logged rate-limited.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::socket::{getsockopt, sockopt};
use serde_json::{json, Value};

use crate::action::{Action, ClientKey, Lifetime};
use crate::filter::Filter;
use crate::journal::{read_recent, JOURNAL_DIR};
use crate::proto::{Dropped, Request};
use crate::state::{Counters, Shared};
use crate::wake::{self, Waited};

const MAX_REQUEST: usize = 64 * 1024;
const MAX_SHORT: usize = 8;
/// The whole request line must arrive within this (as on the IPC socket).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Saved filters per user.
const MAX_SAVED_FILTERS: usize = 64;

/// The socket file's mode: owner only (root and the daemon's user) unless `control_uids` lists
/// other users, who must be able to connect for the SO_PEERCRED check to admit them.
pub fn socket_mode(control_uids: &[u32]) -> u32 {
    if control_uids.is_empty() {
        0o600
    } else {
        0o666
    }
}

/// Binds the socket (replacing a stale one) with [`socket_mode`].
pub fn bind(path: &Path, control_uids: &[u32]) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let mode = socket_mode(control_uids);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    tracing::debug!(path = %path.display(), mode = format_args!("{mode:o}"), "shield socket bound");
    // The accept loop waits with poll (for a connection or the shield's stop); a connection
    // gone before it is taken must not block the accept. Accepted streams do not inherit this.
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Whether a connection may have a slot when `in_use` of `slots` are taken: the last slot is
/// root's alone.
pub fn admit(root: bool, in_use: usize, slots: usize) -> bool {
    if root {
        in_use < slots
    } else {
        in_use + 1 < slots
    }
}

/// Accepts until the shield stops, then removes the socket. Asleep while idle: it wakes for a
/// connection or the shield's stop.
pub fn run(shared: Arc<Shared>, listener: UnixListener, path: PathBuf) {
    let short = Arc::new(AtomicUsize::new(0));
    while !shared.stopping() {
        match wake::wait(listener.as_fd(), &shared.wake, None) {
            Ok(Waited::Woken) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "shield socket wait failed");
                shared.stop.wait_timeout(Duration::from_millis(100));
                continue;
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let Some(uid) = authorized(&shared, &stream) else {
                    refuse(stream, "permission denied");
                    continue;
                };
                let slots = MAX_SHORT + shared.config.max_subscribers;
                if !admit(uid == 0, short.load(Ordering::Acquire), slots) {
                    shared
                        .rejections
                        .warn("too_many_connections", format_args!("uid {uid}"));
                    refuse(stream, "too many connections");
                    continue;
                }
                short.fetch_add(1, Ordering::AcqRel);
                let (shared, short) = (shared.clone(), short.clone());
                let spawned = std::thread::Builder::new()
                    .name("shield-conn".into())
                    .spawn(move || {
                        connection(&shared, stream);
                        short.fetch_sub(1, Ordering::AcqRel);
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot start a shield connection thread");
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => {
                tracing::warn!(error = %e, "shield socket accept failed");
                shared.stop.wait_timeout(Duration::from_millis(100));
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn peer_uid(stream: &UnixStream) -> Option<u32> {
    getsockopt(stream, sockopt::PeerCredentials)
        .ok()
        .map(|c| c.uid())
}

/// The peer's uid if it may use the socket.
fn authorized(shared: &Shared, stream: &UnixStream) -> Option<u32> {
    let uid = peer_uid(stream)?;
    let allowed = uid == 0
        || uid == nix::unistd::geteuid().as_raw()
        || shared.config.control_uids.contains(&uid);
    if !allowed {
        shared.rejections.warn(
            "unauthorised_connection",
            format_args!("shield socket: connection from uid {uid} refused"),
        );
    }
    allowed.then_some(uid)
}

/// Reads one request line, all of it before `deadline`.
fn read_request(mut stream: &UnixStream, deadline: Instant) -> Result<String, &'static str> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the request did not arrive in time");
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| "cannot read the request")?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("the request did not arrive in time")
            }
            Err(_) => return Err("cannot read the request"),
        };
        let got = &chunk[..n];
        if let Some(end) = got.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&got[..end]);
        } else {
            line.extend_from_slice(got);
        }
        if line.len() > MAX_REQUEST {
            return Err("the request is longer than 64 KiB");
        }
        if n == 0 || got.contains(&b'\n') {
            return String::from_utf8(line).map_err(|_| "the request is not UTF-8");
        }
    }
}

/// Answers a connection that gets no thread with `message`, without waiting for it: the
/// request already sent is read off first (closing with unread data would reset the
/// connection and lose the answer).
fn refuse(mut stream: UnixStream, message: &str) {
    let _ = stream.set_nonblocking(true);
    let _ = reply(&stream, &error(message));
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        if !matches!(stream.read(&mut buf), Ok(n) if n > 0) {
            break;
        }
    }
}

fn reply(mut stream: &UnixStream, value: &Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    stream.write_all(&line)
}

fn error(message: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": message.to_string()})
}

fn connection(shared: &Shared, stream: UnixStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let line = match read_request(&stream, Instant::now() + REQUEST_DEADLINE) {
        Ok(line) if !line.trim().is_empty() => line,
        Ok(_) => {
            shared.rejections.warn("bad_request", "an empty request");
            let _ = reply(&stream, &error("expected one JSON request line"));
            return;
        }
        Err(why) => {
            shared.rejections.warn("bad_request", why);
            let _ = reply(&stream, &error(why));
            return;
        }
    };
    let request: Request = match serde_json::from_str(line.trim()) {
        Ok(r) => r,
        Err(e) => {
            shared.rejections.warn("bad_request", &e);
            let _ = reply(&stream, &error(format!("bad request: {e}")));
            return;
        }
    };
    let who = peer_uid(&stream).map_or("uid:?".to_string(), |uid| format!("uid:{uid}"));
    let answer = match request {
        Request::Stream { filter, saved } => {
            return stream_events(shared, stream, filter, saved, &who)
        }
        other => handle(shared, other, &who),
    };
    let _ = reply(&stream, &answer);
}

/// The filter given, or the caller's (`who`) saved filter of that name, or all events.
fn filter_of(
    shared: &Shared,
    filter: Option<Value>,
    saved: Option<String>,
    who: &str,
) -> Result<Filter, String> {
    match (filter, saved) {
        (Some(_), Some(_)) => Err("give a filter or a saved filter's name, not both".into()),
        (Some(f), None) => Filter::from_json(&f).map_err(|e| format!("invalid filter: {e}")),
        (None, Some(name)) => {
            let f = shared
                .filters()
                .get(who)
                .and_then(|mine| mine.get(&name))
                .cloned()
                .ok_or_else(|| format!("no saved filter named {name:?}"))?;
            Filter::from_json(&f).map_err(|e| format!("saved filter {name:?}: {e}"))
        }
        (None, None) => Ok(Filter::all()),
    }
}

/// Answers every request but `stream`; `who` (`uid:<n>`) goes into the audit log.
pub fn handle(shared: &Shared, request: Request, who: &str) -> Value {
    match request {
        Request::Stream { .. } => error("stream needs its own connection"),
        Request::Events {
            filter,
            limit,
            journal,
        } => match filter_of(shared, filter, None, who) {
            Ok(f) => {
                let limit = limit.unwrap_or(100).min(100_000);
                if journal {
                    let dir = shared.store.dir().join(JOURNAL_DIR);
                    let events = read_recent(&dir, limit, |e| f.matches(e));
                    json!({"ok": true, "events": events})
                } else {
                    let events = shared.ring().recent(limit, |e| f.matches(e));
                    json!({"ok": true, "events": events.iter().map(|e| e.as_ref()).collect::<Vec<_>>()})
                }
            }
            Err(e) => error(e),
        },
        Request::Status => {
            let counters = shared.counters.snapshot();
            let off = shared.off_reason();
            json!({
                "ok": true,
                "enforcing": off.is_none() && shared.enforcing.load(Ordering::Acquire),
                "off_reason": off,
                "interfaces": shared.config.interfaces.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
                "queue_num": shared.config.queue_num,
                "mode": shared.config.mode.name(),
                "queue_hook": shared.queue_hook(),
                "counters": counters,
                "ring": shared.ring().len(),
                "actions": shared.actions().len(),
                "subscribers": shared.hub.len(),
            })
        }
        Request::Actions => json!({"ok": true, "actions": shared.actions().list()}),
        Request::Set {
            client,
            action,
            duration,
            reason,
        } => {
            let parsed = (|| {
                let client = ClientKey::parse(&client)?;
                let action = Action::parse(&action)?;
                let lifetime = match duration.as_deref() {
                    Some(d) => Lifetime::parse(d)?,
                    None => Lifetime::Default,
                };
                Ok::<_, String>((client, action, lifetime))
            })();
            match parsed {
                Ok((client, action, lifetime)) => {
                    let reason = reason.as_deref().unwrap_or("set by an operator");
                    match shared.set_action(client, action, lifetime, who, reason) {
                        Ok(record) => json!({"ok": true, "action": record}),
                        Err(e) => error(e),
                    }
                }
                Err(e) => error(e),
            }
        }
        Request::Clear { client } => match ClientKey::parse(&client) {
            Ok(key) => match shared.clear_action(&key, who, "cleared by an operator") {
                Ok(record) => json!({"ok": true, "cleared": record}),
                Err(e) => error(e),
            },
            Err(e) => error(e),
        },
        Request::Audit { limit } => {
            json!({"ok": true, "audit": shared.audit().recent(limit.unwrap_or(50))})
        }
        Request::Filters => {
            let mine = shared.filters().get(who).cloned().unwrap_or_default();
            json!({"ok": true, "filters": mine})
        }
        Request::SaveFilter { name, filter } => {
            if name.trim().is_empty() || name.len() > 64 {
                return error("a filter name has 1 to 64 characters");
            }
            if let Err(e) = Filter::from_json(&filter) {
                return error(format!("invalid filter: {e}"));
            }
            {
                let mut all = shared.filters();
                let filters = all.entry(who.to_string()).or_default();
                if !filters.contains_key(&name) && filters.len() >= MAX_SAVED_FILTERS {
                    return error(format!("at most {MAX_SAVED_FILTERS} saved filters"));
                }
                filters.insert(name.clone(), filter);
            }
            shared.persist_filters();
            json!({"ok": true, "saved": name})
        }
        Request::DeleteFilter { name } => {
            let removed = shared
                .filters()
                .get_mut(who)
                .and_then(|mine| mine.remove(&name))
                .is_some();
            if !removed {
                return error(format!("no saved filter named {name:?}"));
            }
            shared.persist_filters();
            json!({"ok": true, "deleted": name})
        }
    }
}

fn stream_events(
    shared: &Shared,
    stream: UnixStream,
    filter: Option<Value>,
    saved: Option<String>,
    who: &str,
) {
    let filter = match filter_of(shared, filter, saved, who) {
        Ok(f) => f,
        Err(e) => {
            let _ = reply(&stream, &error(e));
            return;
        }
    };
    let source = filter.source().clone();
    let cfg = &shared.config;
    let sub = match shared
        .hub
        .subscribe(filter, cfg.stream_rate, cfg.stream_burst)
    {
        Ok(sub) => sub,
        Err(e) => {
            Counters::add(&shared.counters.subscribers_refused);
            let _ = reply(&stream, &error(e));
            return;
        }
    };
    tracing::info!(subscriber = sub.id, filter = %source, "stream subscriber joined");
    let hello = json!({"ok": true, "subscribed": {"filter": source, "rate": cfg.stream_rate, "burst": cfg.stream_burst}});
    let mut reported = Dropped {
        rate_limited: 0,
        overflow: 0,
    };
    let mut probe = stream.try_clone().ok();
    if let Some(p) = &probe {
        let _ = p.set_nonblocking(true);
    }
    let mut ok = reply(&stream, &hello).is_ok();
    while ok && !shared.stopping() {
        let dropped = Dropped {
            rate_limited: sub.stats.rate_limited.load(Ordering::Relaxed),
            overflow: sub.stats.overflow.load(Ordering::Relaxed),
        };
        if dropped != reported {
            ok = reply(&stream, &json!({ "dropped": dropped })).is_ok();
            reported = dropped;
        }
        match sub.rx.recv_timeout(Duration::from_millis(250)) {
            Ok(line) => {
                let mut text = String::with_capacity(line.len() + 12);
                text.push_str("{\"event\":");
                text.push_str(&line);
                text.push_str("}\n");
                ok = (&stream).write_all(text.as_bytes()).is_ok();
            }
            Err(RecvTimeoutError::Timeout) => {
                // The peer hung up? A read of 0 bytes says so.
                if let Some(p) = probe.as_mut() {
                    let mut buf = [0u8; 64];
                    match p.read(&mut buf) {
                        Ok(0) => ok = false,
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => ok = false,
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => ok = false,
        }
    }
    shared.hub.unsubscribe(sub.id);
    tracing::info!(subscriber = sub.id, "stream subscriber left");
}
