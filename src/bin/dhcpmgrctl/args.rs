//! `dhcpmgrctl`'s command line: the bus to use and the subcommand (docs/contracts.md#binaries-and-cli).

use std::ffi::OsString;

use lexopt::{Arg, ValueExt};

use dhcpmgr::config::BusChoice;

pub const USAGE: &str = "\
usage: dhcpmgrctl [--bus system|session|ADDRESS] COMMAND [ARG...]

commands:
  status [--json]              the DHCPv4 clients, their state and leases
  renew CLIENT                 renew the lease now
  release CLIENT               release the lease and stop the client
  restart CLIENT               stop and start the client again
  enable CLIENT                set Enable to true
  disable CLIENT               set Enable to false
  get NAME...                  print `name type value` (a NAME ending in '.' means all below)
  set NAME=VALUE...            write parameters, all or none
  add TABLE                    add a row (Device.DHCPv4.Client., …Client.1.SentOption.), print it
  delete ROW                   delete a row (Device.DHCPv4.Client.2., …Client.1.SentOption.2.)
  factory-reset                forget every value written over D-Bus; back to the config file
  events                       print lease events and value changes until interrupted
  shield COMMAND [ARG...]      the LAN-side DHCP shield (dhcpmgrctl shield --help)

CLIENT is a TR-181 path (Device.DHCPv4.Client.1) or a client alias.
status also says when system events are behind (the sysevent command failing), from the
daemon's state in $DHCPMGR_STATE_DIR, else the default configuration's state_dir.
--bus defaults to $DHCPMGR_BUS, else the system bus; ADDRESS is a D-Bus address
such as unix:path=/run/dbus/system_bus_socket.
";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status {
        json: bool,
    },
    /// Run a client command (`Renew()`, `X_RDK_Release()`, `X_RDK_Restart()`).
    Operate {
        client: String,
        command: &'static str,
    },
    SetEnable {
        client: String,
        enable: bool,
    },
    Get {
        names: Vec<String>,
    },
    Set {
        values: Vec<(String, String)>,
    },
    /// AddObject on a table path.
    Add {
        table: String,
    },
    /// DeleteObject on a row path.
    Delete {
        row: String,
    },
    FactoryReset,
    Events,
    /// `shield …`: talks to the shield's control socket, not D-Bus.
    Shield(super::shield::ShieldCommand),
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Help,
    /// `shield --help`.
    ShieldHelp,
    Run {
        bus: BusChoice,
        command: Command,
    },
}

/// Parses the arguments (without the program name); `env_bus` is `$DHCPMGR_BUS`. The error is
/// a usage message.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env_bus: Option<String>,
) -> Result<Parsed, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut bus = env_bus;
    let mut json = false;
    let mut words = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Ok(Parsed::Help),
            Arg::Long("bus") => bus = Some(text(parser.value())?),
            Arg::Long("json") => json = true,
            Arg::Value(word) if words.is_empty() && word == "shield" => {
                let rest: Vec<OsString> = parser.raw_args().map_err(|e| e.to_string())?.collect();
                if rest.iter().any(|a| a == "--help" || a == "-h") {
                    return Ok(Parsed::ShieldHelp);
                }
                let env = std::env::var("DHCPMGR_SHIELD_SOCKET").ok();
                let command = super::shield::parse(rest, env)?;
                let bus = BusChoice::parse(bus.as_deref().unwrap_or("system"))?;
                return Ok(Parsed::Run {
                    bus,
                    command: Command::Shield(command),
                });
            }
            Arg::Value(word) => words.push(text(Ok(word))?),
            other => return Err(other.unexpected().to_string()),
        }
    }
    let bus = BusChoice::parse(bus.as_deref().unwrap_or("system"))?;
    let mut words = words.into_iter();
    let name = words.next().ok_or("no command given")?;
    let rest: Vec<String> = words.collect();
    if json && name != "status" {
        return Err("--json goes with status only".into());
    }
    let client = |rest: &[String]| match rest {
        [client] => Ok(client.clone()),
        _ => Err(format!("{name} takes one CLIENT")),
    };
    let command = match name.as_str() {
        "status" if rest.is_empty() => Command::Status { json },
        "events" if rest.is_empty() => Command::Events,
        "factory-reset" if rest.is_empty() => Command::FactoryReset,
        "status" | "events" | "factory-reset" => return Err(format!("{name} takes no arguments")),
        "add" | "delete" => {
            let [path] = &rest[..] else {
                return Err(format!("{name} takes one object path"));
            };
            if !path.ends_with('.') {
                return Err(format!("{path:?}: an object path ends in '.'"));
            }
            match name.as_str() {
                "add" => Command::Add {
                    table: path.clone(),
                },
                _ => Command::Delete { row: path.clone() },
            }
        }
        "renew" | "release" | "restart" => Command::Operate {
            client: client(&rest)?,
            command: match name.as_str() {
                "renew" => "Renew()",
                "release" => "X_RDK_Release()",
                _ => "X_RDK_Restart()",
            },
        },
        "enable" | "disable" => Command::SetEnable {
            client: client(&rest)?,
            enable: name == "enable",
        },
        "get" if !rest.is_empty() => Command::Get { names: rest },
        "set" if !rest.is_empty() => Command::Set {
            values: rest
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .ok_or_else(|| format!("{pair:?} is not NAME=VALUE"))
                })
                .collect::<Result<_, _>>()?,
        },
        "get" | "set" => return Err(format!("{name} needs at least one parameter")),
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok(Parsed::Run { bus, command })
}

fn text(value: Result<OsString, lexopt::Error>) -> Result<String, String> {
    value.and_then(|v| v.string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &str, env: Option<&str>) -> Result<Parsed, String> {
        parse(
            args.split_whitespace().map(OsString::from),
            env.map(str::to_string),
        )
    }

    fn command(args: &str) -> Result<Command, String> {
        match run(args, None)? {
            Parsed::Run { command, .. } => Ok(command),
            Parsed::Help | Parsed::ShieldHelp => Err("help".into()),
        }
    }

    #[test]
    fn commands() {
        let client = || "wan".to_string();
        let cases = [
            ("status", Command::Status { json: false }),
            ("status --json", Command::Status { json: true }),
            ("--json status", Command::Status { json: true }),
            (
                "renew wan",
                Command::Operate {
                    client: client(),
                    command: "Renew()",
                },
            ),
            (
                "release wan",
                Command::Operate {
                    client: client(),
                    command: "X_RDK_Release()",
                },
            ),
            (
                "restart wan",
                Command::Operate {
                    client: client(),
                    command: "X_RDK_Restart()",
                },
            ),
            (
                "enable wan",
                Command::SetEnable {
                    client: client(),
                    enable: true,
                },
            ),
            (
                "disable wan",
                Command::SetEnable {
                    client: client(),
                    enable: false,
                },
            ),
            (
                "get A B.",
                Command::Get {
                    names: vec!["A".into(), "B.".into()],
                },
            ),
            (
                "set A=1 B=x=y",
                Command::Set {
                    values: vec![("A".into(), "1".into()), ("B".into(), "x=y".into())],
                },
            ),
            ("events", Command::Events),
            (
                "add Device.DHCPv4.Client.1.SentOption.",
                Command::Add {
                    table: "Device.DHCPv4.Client.1.SentOption.".into(),
                },
            ),
            (
                "delete Device.DHCPv4.Client.1.SentOption.2.",
                Command::Delete {
                    row: "Device.DHCPv4.Client.1.SentOption.2.".into(),
                },
            ),
            ("factory-reset", Command::FactoryReset),
        ];
        for (args, expected) in cases {
            assert_eq!(command(args), Ok(expected), "{args}");
        }
    }

    #[test]
    fn usage_errors() {
        for args in [
            "",
            "frobnicate",
            "renew",
            "renew a b",
            "get",
            "set A",
            "status extra",
            "get --json A",
            "--bus",
            "--bus nowhere status",
            "--bus unix: status",
            "-x status",
            "add",
            "add Device.DHCPv4.Client.1.SentOption",
            "delete A. B.",
            "factory-reset now",
        ] {
            assert!(run(args, None).is_err(), "{args:?} should be a usage error");
        }
        assert_eq!(run("status --help", None), Ok(Parsed::Help));
    }

    #[test]
    fn bus_from_option_then_environment_then_system() {
        let bus = |args: &str, env: Option<&str>| match run(args, env) {
            Ok(Parsed::Run { bus, .. }) => bus,
            other => panic!("{args}: {other:?}"),
        };
        assert_eq!(bus("status", None), BusChoice::System);
        assert_eq!(bus("status", Some("session")), BusChoice::Session);
        assert_eq!(
            bus("--bus unix:path=/tmp/x status", Some("session")),
            BusChoice::Address("unix:path=/tmp/x".into())
        );
        assert_eq!(
            bus("--bus=system status", Some("session")),
            BusChoice::System
        );
    }
}
