//! `dhcpmgrctl shield …`: the DHCP shield's control socket (`run_dir/shield.sock`, JSON lines;
//! see `dhcpmgr_shield::proto`). [`parse`] reads the subcommand (pure, tested); [`main`] sends
//! the request and prints the answer: events as JSON lines, the rest as JSON or a table.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

use lexopt::{Arg, ValueExt};
use serde_json::Value;

use dhcpmgr_shield::access_token;
use dhcpmgr_shield::proto::{Request, SOCKET};

pub const USAGE: &str = "\
usage: dhcpmgrctl shield [--socket PATH] COMMAND [ARG...]

commands:
  status                          counters, detections, hook, table sizes (and the
                                  collector export's, when dhcpmgr-shield-web runs one)
  stream [--filter JSON | --saved NAME]
                                  follow events live as JSON lines, filtered by the daemon
  events [--filter JSON] [--limit N] [--journal]
                                  export recent events as JSON lines (default 100), from
                                  memory or, with --journal, from the on-disk journal
  actions                         per-client actions in force
  set CLIENT ACTION [--duration D] [--reason TEXT]
                                  ACTION: block, deny, throttle, allow, monitor;
                                  D: 30s, 15m, 2h, 7d or indefinite (default: the action's)
  clear CLIENT                    end a client's action
  audit [--limit N]               the last action changes (who, what, why)
  filters                         saved stream filters
  save-filter NAME JSON           save a filter under NAME
  delete-filter NAME
  rotate-token [--token-file PATH]
                                  replace the stream page's access token (dhcpmgr-shield-web)
                                  and print the new one; open pages must reconnect with it.
                                  PATH defaults to /var/lib/dhcpmgr/shield-web.token

CLIENT is a MAC address (aa:bb:cc:dd:ee:ff) or duid:HEX. JSON filters use the stream's rule
language: {\"logic\":\"AND\",\"rules\":[{\"field\":\"message_type\",\"operator\":\"eq\",\"value\":\"DISCOVER\"}]}.
--socket defaults to $DHCPMGR_SHIELD_SOCKET, else /run/dhcpmgr/shield.sock.
";

/// The status file `dhcpmgr-shield-web` writes next to the socket while it exports events to
/// a collector; `status` shows it under `export`.
pub const EXPORT_STATUS_FILE: &str = "shield-export.json";

/// Adds the exporter's status file (next to `socket`), if there is one, to a status answer.
fn add_export_status(answer: &mut Value, socket: &std::path::Path) {
    let path = socket.with_file_name(EXPORT_STATUS_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let export = serde_json::from_str::<Value>(&text).unwrap_or_else(
        |e| serde_json::json!({"error": format!("{} is unreadable: {e}", path.display())}),
    );
    if let Some(map) = answer.as_object_mut() {
        map.insert("export".into(), export);
    }
}

/// A parsed `shield` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShieldCommand {
    /// A request to the daemon's control socket.
    Socket(SocketCommand),
    /// `rotate-token`: a new access token for the stream page, in this file.
    RotateToken(PathBuf),
}

/// A request for the daemon's control socket at `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketCommand {
    pub socket: PathBuf,
    pub request: Request,
}

/// Parses the arguments after `shield`; `env_socket` is `$DHCPMGR_SHIELD_SOCKET`.
pub fn parse(args: Vec<OsString>, env_socket: Option<String>) -> Result<ShieldCommand, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut socket = env_socket.map(PathBuf::from);
    let (mut filter, mut saved, mut limit, mut duration, mut reason) =
        (None, None, None, None, None);
    let mut journal = false;
    let mut token_file = None;
    let mut words: Vec<String> = Vec::new();
    let text =
        |v: Result<OsString, lexopt::Error>| v.and_then(|v| v.string()).map_err(|e| e.to_string());
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Arg::Long("socket") => socket = Some(PathBuf::from(text(parser.value())?)),
            Arg::Long("filter") => {
                let raw = text(parser.value())?;
                filter = Some(
                    serde_json::from_str::<Value>(&raw)
                        .map_err(|e| format!("--filter is not valid JSON: {e}"))?,
                );
            }
            Arg::Long("saved") => saved = Some(text(parser.value())?),
            Arg::Long("limit") => {
                let raw = text(parser.value())?;
                limit = Some(
                    raw.parse::<usize>()
                        .map_err(|_| format!("--limit {raw:?} is not a number"))?,
                );
            }
            Arg::Long("duration") => duration = Some(text(parser.value())?),
            Arg::Long("reason") => reason = Some(text(parser.value())?),
            Arg::Long("journal") => journal = true,
            Arg::Long("token-file") => token_file = Some(PathBuf::from(text(parser.value())?)),
            Arg::Value(v) => words.push(text(Ok(v))?),
            other => return Err(other.unexpected().to_string()),
        }
    }
    let socket = socket.unwrap_or_else(|| PathBuf::from("/run/dhcpmgr").join(SOCKET));
    let (name, rest) = words.split_first().ok_or("shield needs a command")?;
    if name == "rotate-token" {
        if !rest.is_empty() {
            return Err("shield rotate-token takes no arguments".into());
        }
        let file = token_file.unwrap_or_else(|| PathBuf::from(access_token::DEFAULT_TOKEN_FILE));
        return Ok(ShieldCommand::RotateToken(file));
    }
    if token_file.is_some() {
        return Err(format!("--token-file does not go with shield {name}"));
    }
    let only = |allowed: &[&str]| -> Result<(), String> {
        let given = [
            ("filter", filter.is_some()),
            ("saved", saved.is_some()),
            ("limit", limit.is_some()),
            ("duration", duration.is_some()),
            ("reason", reason.is_some()),
            ("journal", journal),
        ];
        match given.iter().find(|(n, set)| *set && !allowed.contains(n)) {
            Some((n, _)) => Err(format!("--{n} does not go with shield {name}")),
            None => Ok(()),
        }
    };
    let request = match (name.as_str(), rest) {
        ("status", []) => {
            only(&[])?;
            Request::Status
        }
        ("stream", []) => {
            only(&["filter", "saved"])?;
            Request::Stream { filter, saved }
        }
        ("events", []) => {
            only(&["filter", "limit", "journal"])?;
            Request::Events {
                filter,
                limit,
                journal,
            }
        }
        ("actions", []) => {
            only(&[])?;
            Request::Actions
        }
        ("set", [client, action]) => {
            only(&["duration", "reason"])?;
            Request::Set {
                client: client.clone(),
                action: action.clone(),
                duration,
                reason,
            }
        }
        ("clear", [client]) => {
            only(&[])?;
            Request::Clear {
                client: client.clone(),
            }
        }
        ("audit", []) => {
            only(&["limit"])?;
            Request::Audit { limit }
        }
        ("filters", []) => {
            only(&[])?;
            Request::Filters
        }
        ("save-filter", [fname, json]) => {
            only(&[])?;
            Request::SaveFilter {
                name: fname.clone(),
                filter: serde_json::from_str(json)
                    .map_err(|e| format!("the filter is not valid JSON: {e}"))?,
            }
        }
        ("delete-filter", [fname]) => {
            only(&[])?;
            Request::DeleteFilter {
                name: fname.clone(),
            }
        }
        ("status" | "stream" | "events" | "actions" | "audit" | "filters", _) => {
            return Err(format!("shield {name} takes no arguments"))
        }
        ("set", _) => return Err("shield set takes CLIENT ACTION".into()),
        ("clear" | "delete-filter", _) => return Err(format!("shield {name} takes one argument")),
        ("save-filter", _) => return Err("shield save-filter takes NAME JSON".into()),
        (other, _) => return Err(format!("unknown shield command {other:?}")),
    };
    Ok(ShieldCommand::Socket(SocketCommand { socket, request }))
}

/// Runs a parsed command: 0 done, 1 failed (the daemon's or the socket's error on stderr).
pub fn main(cmd: ShieldCommand) -> ExitCode {
    let result = match &cmd {
        ShieldCommand::Socket(cmd) => run(cmd, &mut io::stdout().lock()),
        ShieldCommand::RotateToken(file) => rotate_token(file, &mut io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dhcpmgrctl: shield: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes a new stream-page token to `file` and prints it.
fn rotate_token(file: &std::path::Path, out: &mut impl Write) -> io::Result<()> {
    let token = access_token::rotate(file).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot write a new token to {}: {e}", file.display()),
        )
    })?;
    writeln!(out, "{token}")
}

fn run(cmd: &SocketCommand, out: &mut impl Write) -> io::Result<()> {
    let mut stream = UnixStream::connect(&cmd.socket).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach the shield at {}: {e} (is [shield] enabled and the daemon running?)",
                cmd.socket.display()
            ),
        )
    })?;
    let mut line = serde_json::to_vec(&cmd.request).map_err(io::Error::other)?;
    line.push(b'\n');
    // A refusal may be answered before the request is read: the answer counts, not the write.
    let sent = stream.write_all(&line);
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    let read = reader.read_line(&mut first);
    let answer: Value = match (serde_json::from_str(first.trim()), sent, read) {
        (Ok(answer), _, _) => answer,
        (Err(_), Err(e), _) | (Err(_), Ok(()), Err(e)) => {
            return Err(io::Error::other(format!("no answer from the daemon: {e}")))
        }
        (Err(e), Ok(()), Ok(_)) => {
            return Err(io::Error::other(format!(
                "unreadable answer from the daemon: {e}"
            )))
        }
    };
    if answer["ok"] != Value::Bool(true) {
        let message = answer["error"]
            .as_str()
            .unwrap_or("the daemon refused the request");
        return Err(io::Error::other(message.to_string()));
    }
    match &cmd.request {
        Request::Stream { .. } => {
            out.flush()?;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Err(io::Error::other("the daemon closed the stream"));
                }
                let Ok(msg) = serde_json::from_str::<Value>(line.trim()) else {
                    continue;
                };
                if let Some(event) = msg.get("event") {
                    writeln!(out, "{event}")?;
                    out.flush()?;
                } else if let Some(d) = msg.get("dropped") {
                    eprintln!(
                        "dhcpmgrctl: events dropped so far: {} over the rate limit, {} while reading too slowly",
                        d["rate_limited"], d["overflow"]
                    );
                }
            }
        }
        Request::Events { .. } => {
            for event in answer["events"].as_array().into_iter().flatten() {
                writeln!(out, "{event}")?;
            }
        }
        Request::Audit { .. } => {
            for entry in answer["audit"].as_array().into_iter().flatten() {
                writeln!(out, "{entry}")?;
            }
        }
        Request::Actions => {
            let actions = answer["actions"].as_array().cloned().unwrap_or_default();
            writeln!(
                out,
                "{:<28} {:<9} {:<12} {:<14} REASON",
                "CLIENT", "ACTION", "UNTIL", "BY"
            )?;
            for a in actions {
                let until = a["until"].as_u64().map_or("indefinite".to_string(), |u| {
                    dhcpmgr_shield::event::rfc3339(u * 1000)[..19].to_string()
                });
                writeln!(
                    out,
                    "{:<28} {:<9} {:<12} {:<14} {}",
                    a["client"].as_str().unwrap_or(""),
                    a["action"].as_str().unwrap_or(""),
                    until,
                    a["by"].as_str().unwrap_or(""),
                    a["reason"].as_str().unwrap_or("")
                )?;
            }
        }
        _ => {
            let mut answer = answer;
            if let Some(map) = answer.as_object_mut() {
                map.remove("ok");
            }
            if cmd.request == Request::Status {
                add_export_status(&mut answer, &cmd.socket);
            }
            serde_json::to_writer_pretty(&mut *out, &answer).map_err(io::Error::other)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_any(args: &str) -> Result<ShieldCommand, String> {
        parse(args.split_whitespace().map(OsString::from).collect(), None)
    }

    fn parse_str(args: &str) -> Result<SocketCommand, String> {
        match parse_any(args)? {
            ShieldCommand::Socket(cmd) => Ok(cmd),
            other => Err(format!("not a socket command: {other:?}")),
        }
    }

    #[test]
    fn rotate_token_takes_a_file_and_nothing_else() {
        assert_eq!(
            parse_any("rotate-token"),
            Ok(ShieldCommand::RotateToken(PathBuf::from(
                access_token::DEFAULT_TOKEN_FILE
            )))
        );
        assert_eq!(
            parse_any("rotate-token --token-file /tmp/t"),
            Ok(ShieldCommand::RotateToken(PathBuf::from("/tmp/t")))
        );
        assert!(parse_any("rotate-token now").is_err());
        assert!(parse_any("status --token-file /tmp/t").is_err());
    }

    #[test]
    fn commands() {
        let r = |args: &str| parse_str(args).map(|c| c.request);
        assert_eq!(r("status"), Ok(Request::Status));
        assert_eq!(
            r(r#"stream --filter {"logic":"AND","rules":[]}"#),
            Ok(Request::Stream {
                filter: Some(serde_json::json!({"logic":"AND","rules":[]})),
                saved: None
            })
        );
        assert_eq!(
            r("stream --saved mine"),
            Ok(Request::Stream {
                filter: None,
                saved: Some("mine".into())
            })
        );
        assert_eq!(
            r("events --limit 5"),
            Ok(Request::Events {
                filter: None,
                limit: Some(5),
                journal: false,
            })
        );
        assert_eq!(
            r("events --journal"),
            Ok(Request::Events {
                filter: None,
                limit: None,
                journal: true,
            })
        );
        assert_eq!(
            r("set aa:bb:cc:dd:ee:ff deny --reason stolen"),
            Ok(Request::Set {
                client: "aa:bb:cc:dd:ee:ff".into(),
                action: "deny".into(),
                duration: None,
                reason: Some("stolen".into())
            })
        );
        assert_eq!(
            r("clear aa:bb:cc:dd:ee:ff"),
            Ok(Request::Clear {
                client: "aa:bb:cc:dd:ee:ff".into()
            })
        );
        assert_eq!(r("audit"), Ok(Request::Audit { limit: None }));
        assert_eq!(
            r("delete-filter x"),
            Ok(Request::DeleteFilter { name: "x".into() })
        );
        let c = parse_str("--socket /tmp/s.sock status").unwrap();
        assert_eq!(c.socket, PathBuf::from("/tmp/s.sock"));
        let d = parse(vec!["status".into()], Some("/e.sock".into()));
        assert!(
            matches!(&d, Ok(ShieldCommand::Socket(c)) if c.socket == std::path::Path::new("/e.sock")),
            "{d:?}"
        );
        assert_eq!(
            parse_str("status").unwrap().socket,
            PathBuf::from("/run/dhcpmgr/shield.sock")
        );
    }

    #[test]
    fn status_shows_the_exporter_file_next_to_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("shield.sock");
        let mut answer = serde_json::json!({"counters": {}});
        add_export_status(&mut answer, &socket);
        assert!(
            answer.get("export").is_none(),
            "no file, no export: {answer}"
        );
        std::fs::write(dir.path().join(EXPORT_STATUS_FILE), r#"{"dropped":7}"#).unwrap();
        add_export_status(&mut answer, &socket);
        assert_eq!(answer["export"]["dropped"], 7);
        std::fs::write(dir.path().join(EXPORT_STATUS_FILE), "{half").unwrap();
        add_export_status(&mut answer, &socket);
        assert!(answer["export"]["error"]
            .as_str()
            .unwrap()
            .contains("unreadable"));
    }

    #[test]
    fn usage_errors() {
        for args in [
            "",
            "launch",
            "status x",
            "stream --filter {bad",
            "stream --limit 3",
            "stream --journal",
            "events --limit many",
            "set aa:bb:cc:dd:ee:ff",
            "clear",
            "save-filter x",
            "--socket",
        ] {
            assert!(parse_any(args).is_err(), "{args:?} should be a usage error");
        }
    }
}
