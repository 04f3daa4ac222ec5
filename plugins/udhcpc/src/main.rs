//! `udhcpc -s` script: parses one lease event from argv\[1\] and the environment and hands it
//! to the dhcpmgr daemon (or its spool).
//!
//! Exits 0 whatever happens to the event, so udhcpc is never disturbed; 2 only when run
//! without an event argument. Problems are reported as one line on stderr, which udhcpc logs.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use dhcpmgr_ipc::{
    deliver, encode_envelope, ClientEvent, Delivery, Envelope, DEFAULT_SOCKET, DEFAULT_SPOOL_DIR,
    DELIVERY_TIMEOUT, ENV_CLIENT, ENV_SOCKET, ENV_SPOOL_DIR, MAX_FRAME_LEN, PROTOCOL_VERSION,
};
use dhcpmgr_udhcpc_plugin::{parse_event, utf8_vars};

const NAME: &str = "dhcpmgr-udhcpc-plugin";

fn main() -> ExitCode {
    let Some(arg) = std::env::args_os().nth(1) else {
        eprintln!("usage: {NAME} deconfig|bound|renew|nak|leasefail (run by udhcpc -s)");
        return ExitCode::from(2);
    };
    let arg = arg.to_string_lossy();
    let env = utf8_vars(std::env::vars_os());
    let event = match parse_event(&arg, &env) {
        Ok(event) => event,
        Err(err) => {
            eprintln!("{NAME}: ignoring {arg} event: {err}");
            return ExitCode::SUCCESS;
        }
    };
    let envelope = Envelope {
        version: PROTOCOL_VERSION,
        created_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        client_pid: std::os::unix::process::parent_id(),
        client: env.get(ENV_CLIENT).filter(|c| !c.is_empty()).cloned(),
        event: ClientEvent::V4(event),
    };
    // An oversized message could never be delivered, so it must not be spooled either.
    let size = encode_envelope(&envelope).len();
    if size > MAX_FRAME_LEN {
        eprintln!("{NAME}: dropping {arg} event: {size}-byte message exceeds {MAX_FRAME_LEN}");
        return ExitCode::SUCCESS;
    }
    let path = |var: &str, default: &str| {
        PathBuf::from(
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .unwrap_or(OsString::from(default)),
        )
    };
    let socket = path(ENV_SOCKET, DEFAULT_SOCKET);
    let spool_dir = path(ENV_SPOOL_DIR, DEFAULT_SPOOL_DIR);
    match deliver(&envelope, &socket, &spool_dir, DELIVERY_TIMEOUT) {
        Ok(Delivery::Accepted) => {}
        Ok(Delivery::Rejected(reason)) => {
            eprintln!("{NAME}: dhcpmgr rejected {arg} event: {reason}")
        }
        Ok(Delivery::Spooled { path, why }) => {
            eprintln!("{NAME}: {why}; {arg} event spooled as {}", path.display());
        }
        Err(err) => eprintln!("{NAME}: {arg} event lost: {err}"),
    }
    ExitCode::SUCCESS
}
