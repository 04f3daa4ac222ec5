//! `dhcpmgrctl`, the operator's CLI (docs/contracts.md#binaries-and-cli), a client of the daemon's library (not part
//! of it): runs one command against the daemon's data model over D-Bus. [`args`] parses the
//! command line, [`status`] and [`v6_status`] build the client tables and [`status`] resolves
//! CLIENT arguments, [`backlog`] adds what system events are behind, [`events`] follows
//! signals; this module connects and dispatches.

mod args;
mod backlog;
mod events;
mod shield;
mod status;
mod v6_status;

use std::collections::HashMap;
use std::io::{self, Write};
use std::process::ExitCode;

use zbus::DBusError;

use args::{Command, Parsed};
use dhcpmgr::config::BusChoice;
use dhcpmgr::tr181::{connection_builder, DataModel1Proxy};

/// Why a command failed; printed as one line, and the exit status is 1.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("{}", describe(.0))]
    Bus(#[from] zbus::Error),
    #[error("dhcpmgrctl: no DHCP client has the alias {0:?}")]
    UnknownClient(String),
    #[error("dhcpmgrctl: the alias {alias:?} names {}; give the path of the one you mean", .paths.join(" and "))]
    AmbiguousClient { alias: String, paths: Vec<String> },
    #[error("dhcpmgrctl: the bus connection closed")]
    Closed,
    #[error("dhcpmgrctl: {0}")]
    Io(#[from] io::Error),
}

/// Runs `dhcpmgrctl` with the process's arguments: exit status 0 on success, 1 when the
/// command failed, 2 for a usage error.
pub fn main() -> ExitCode {
    let parsed = args::parse(
        std::env::args_os().skip(1),
        std::env::var("DHCPMGR_BUS").ok(),
    );
    let (bus, command) = match parsed {
        Ok(Parsed::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::ShieldHelp) => {
            print!("{}", shield::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run {
            command: Command::Shield(cmd),
            ..
        }) => return shield::main(cmd),
        Ok(Parsed::Run { bus, command }) => (bus, command),
        Err(usage) => {
            eprintln!("dhcpmgrctl: {usage}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CtlError::from)
        .and_then(|runtime| runtime.block_on(run(&bus, command, &mut io::stdout().lock())));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CtlError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

async fn run(bus: &BusChoice, command: Command, out: &mut impl Write) -> Result<(), CtlError> {
    let conn = connection_builder(bus)?.build().await?;
    let proxy = DataModel1Proxy::new(&conn).await?;
    match command {
        Command::Status { json } => {
            let values = proxy
                .get_parameter_values(&[status::CLIENT_TABLE, v6_status::V6_CLIENT_TABLE])
                .await?;
            let (v4, v6) = (status::rows(&values), v6_status::rows(&values));
            if json {
                let rows: Vec<status::StatusRow> = v4
                    .into_iter()
                    .map(status::StatusRow::V4)
                    .chain(v6.into_iter().map(status::StatusRow::V6))
                    .collect();
                serde_json::to_writer_pretty(&mut *out, &rows).map_err(io::Error::from)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", status::table(&v4))?;
                if !v6.is_empty() {
                    write!(out, "\n{}", v6_status::table(&v6))?;
                }
                if let Some(line) = backlog::current() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        Command::Operate { client, command } => {
            let path = client_path(&proxy, &client).await?;
            proxy
                .operate(&format!("{path}.{command}"), HashMap::new())
                .await?;
        }
        Command::SetEnable { client, enable } => {
            let name = format!("{}.Enable", client_path(&proxy, &client).await?);
            let value = if enable { "true" } else { "false" };
            proxy.set_parameter_values(&[(&name, value)]).await?;
        }
        Command::Get { names } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            for (name, kind, value) in proxy.get_parameter_values(&names).await? {
                writeln!(out, "{name} {kind} {value}")?;
            }
        }
        Command::Set { values } => {
            let values: Vec<(&str, &str)> = values
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            proxy.set_parameter_values(&values).await?;
        }
        Command::Add { table } => {
            let instance = proxy.add_object(&table).await?;
            writeln!(out, "{table}{instance}.")?;
        }
        Command::Delete { row } => proxy.delete_object(&row).await?,
        Command::FactoryReset => {
            proxy.factory_reset().await?;
            writeln!(out, "every value written over D-Bus is forgotten; the configuration file's settings are in force")?;
        }
        Command::Events => events::follow(&proxy, out).await?,
        // Dispatched in `main` before any bus connection.
        Command::Shield(_) => {
            return Err(CtlError::Io(io::Error::other(
                "shield commands do not use D-Bus",
            )))
        }
    }
    Ok(())
}

/// The object path of a CLIENT argument: a path as it is, or the DHCPv4 or DHCPv6 client whose
/// `Alias` it is.
async fn client_path(proxy: &DataModel1Proxy<'_>, client: &str) -> Result<String, CtlError> {
    if client.starts_with("Device.") {
        return Ok(client.trim_end_matches('.').to_string());
    }
    let values = proxy
        .get_parameter_values(&[status::CLIENT_TABLE, v6_status::V6_CLIENT_TABLE])
        .await?;
    let mut paths = status::resolve_alias(client, &values);
    match paths.len() {
        0 => Err(CtlError::UnknownClient(client.to_string())),
        1 => Ok(paths.remove(0)),
        _ => Err(CtlError::AmbiguousClient {
            alias: client.to_string(),
            paths,
        }),
    }
}

/// A D-Bus error as its name and message; anything else as what went wrong talking to the bus.
fn describe(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, message, _) => {
            format!("{name}: {}", message.as_deref().unwrap_or("(no message)"))
        }
        zbus::Error::FDO(e) => format!("{}: {}", e.name(), e.description().unwrap_or("")),
        other => format!("dhcpmgrctl: cannot talk to the daemon: {other}"),
    }
}
