//! Plugin plumbing that is the same for every dhcpmgr client plugin: reading the environment,
//! validating an interface name, clipping values for error messages, and the whole life of a
//! parsed event after parsing (envelope, size check, delivery or spool, one line on stderr,
//! exit code).
//!
//! Both plugins (udhcpc and dibbler-client) use it; each only brings its own parser.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    deliver, encode_envelope, ClientEvent, Delivery, Envelope, DEFAULT_SOCKET, DEFAULT_SPOOL_DIR,
    DELIVERY_TIMEOUT, ENV_CLIENT, ENV_SOCKET, ENV_SPOOL_DIR, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

/// Longest value echoed back in an error message.
pub const SHOWN_MAX: usize = 64;

/// At most [`SHOWN_MAX`] characters of `value`, marking the cut.
pub fn clip(value: &str) -> String {
    match value.char_indices().nth(SHOWN_MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// Keeps the UTF-8 entries of an environment (e.g. [`std::env::vars_os`]), silently dropping
/// the others: DHCP clients never produce non-UTF-8 names, and a non-UTF-8 value of a variable
/// a plugin needs then reads as missing.
pub fn utf8_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> BTreeMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Linux's `dev_valid_name`: 1..=15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub fn is_valid_ifname(name: &str) -> bool {
    let bad_char = name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace());
    !(name.is_empty() || name.len() > 15 || name == "." || name == ".." || bad_char)
}

/// The whole plugin `main`: takes the event from argv\[1\] and the process environment, parses
/// them with `parse`, and delivers the result to the daemon (or its spool) found through
/// `DHCPMGR_SOCKET`/`DHCPMGR_SPOOL_DIR`.
///
/// Exits 0 whatever happens to the event, so the DHCP client is never disturbed; 2 only when
/// run without an event argument (after printing `usage`). Problems are reported as one line on
/// stderr prefixed with `name`.
pub fn run<E: Display>(
    name: &str,
    usage: &str,
    parse: impl FnOnce(&str, &BTreeMap<String, String>) -> Result<ClientEvent, E>,
) -> ExitCode {
    let Some(arg) = std::env::args_os().nth(1) else {
        eprintln!("usage: {name} {usage}");
        return ExitCode::from(2);
    };
    let arg = arg.to_string_lossy();
    let env = utf8_vars(std::env::vars_os());
    let event = match parse(&arg, &env) {
        Ok(event) => event,
        Err(err) => {
            eprintln!("{name}: ignoring {arg} event: {err}");
            return ExitCode::SUCCESS;
        }
    };
    let envelope = envelope(event, &env);
    // An oversized message could never be delivered, so it must not be spooled either.
    let size = encode_envelope(&envelope).len();
    if size > MAX_FRAME_LEN {
        eprintln!("{name}: dropping {arg} event: {size}-byte message exceeds {MAX_FRAME_LEN}");
        return ExitCode::SUCCESS;
    }
    let socket = env_path(ENV_SOCKET, DEFAULT_SOCKET);
    let spool_dir = env_path(ENV_SPOOL_DIR, DEFAULT_SPOOL_DIR);
    forward(name, &arg, &envelope, &socket, &spool_dir);
    ExitCode::SUCCESS
}

/// Wraps `event` for sending now, on behalf of the parent process (the DHCP client), tagged
/// with the client alias from `DHCPMGR_CLIENT` when set and non-empty.
fn envelope(event: ClientEvent, env: &BTreeMap<String, String>) -> Envelope {
    Envelope {
        version: PROTOCOL_VERSION,
        created_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        client_pid: std::os::unix::process::parent_id(),
        client: env.get(ENV_CLIENT).filter(|c| !c.is_empty()).cloned(),
        event,
    }
}

/// The path in process environment variable `var` (any bytes), or `default` if unset or empty.
fn env_path(var: &str, default: &str) -> PathBuf {
    PathBuf::from(
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .unwrap_or(OsString::from(default)),
    )
}

/// Delivers (or spools) `envelope` and reports anything but acceptance on stderr.
fn forward(name: &str, arg: &str, envelope: &Envelope, socket: &Path, spool_dir: &Path) {
    match deliver(envelope, socket, spool_dir, DELIVERY_TIMEOUT) {
        Ok(Delivery::Accepted) => {}
        Ok(Delivery::Rejected(reason)) => {
            eprintln!("{name}: dhcpmgr rejected {arg} event: {reason}")
        }
        Ok(Delivery::Spooled { path, why }) => {
            eprintln!("{name}: {why}; {arg} event spooled as {}", path.display());
        }
        Err(err) => eprintln!("{name}: {arg} event lost: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{V6Event, V6EventKind};
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn interface_names_follow_dev_valid_name() {
        for good in [
            "erouter0",
            "a",
            "veth-c",
            "fifteen-chars-x",
            "br.100",
            "wan@x",
        ] {
            assert!(is_valid_ifname(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "eth 0",
            "eth\t0",
            "sixteen-chars-xx",
        ] {
            assert!(!is_valid_ifname(bad), "{bad:?}");
        }
        // The limit is in bytes: 8 characters, 16 bytes.
        assert!(!is_valid_ifname("üüüüüüüü"));
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("short"), "short");
        let long = "ü".repeat(SHOWN_MAX + 1);
        assert_eq!(clip(&long), format!("{}…", "ü".repeat(SHOWN_MAX)));
        assert_eq!(clip(&"x".repeat(SHOWN_MAX)), "x".repeat(SHOWN_MAX));
    }

    #[test]
    fn non_utf8_environment_entries_are_dropped() {
        let vars = vec![
            (OsString::from("IFACE"), OsString::from("eth0")),
            (
                OsString::from("ADDR1"),
                OsString::from_vec(b"2001:db8::\xff".to_vec()),
            ),
            (
                OsString::from_vec(b"SRV_OPTION\xfe".to_vec()),
                OsString::from("x"),
            ),
        ];
        assert_eq!(
            utf8_vars(vars),
            BTreeMap::from([("IFACE".to_string(), "eth0".to_string())])
        );
    }

    #[test]
    fn envelope_takes_client_alias_only_when_non_empty() {
        let event = || {
            ClientEvent::V6(V6Event {
                interface: "eth0".into(),
                kind: V6EventKind::Delete,
                addresses: Vec::new(),
                prefixes: Vec::new(),
                server_options: BTreeMap::new(),
                remote_addr: None,
                client_message: None,
                server_message: None,
                ia_na: None,
                ia_pd: None,
            })
        };
        let with = |alias: &str| BTreeMap::from([(ENV_CLIENT.to_string(), alias.to_string())]);
        let e = envelope(event(), &with("wan"));
        assert_eq!(e.client.as_deref(), Some("wan"));
        assert_eq!(e.version, PROTOCOL_VERSION);
        assert_eq!(e.client_pid, std::os::unix::process::parent_id());
        assert!(e.created_unix_ms > 1_700_000_000_000);
        assert_eq!(envelope(event(), &with("")).client, None);
        assert_eq!(envelope(event(), &BTreeMap::new()).client, None);
    }
}
