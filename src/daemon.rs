//! The main thread: logging, the two long-lived threads, signals (TERM/INT stop, HUP reloads
//! the configuration) and an orderly shutdown.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::controller::{self, ControllerChannels};
use crate::tr181::{self, Tr181Settings};

/// Exit codes with a meaning for init systems and integrators.
pub mod exit {
    /// Stopped on request.
    pub const OK: u8 = 0;
    /// A thread failed at run time (socket, netlink, runtime).
    pub const FAILURE: u8 = 1;
    /// Wrong command line.
    pub const USAGE: u8 = 64;
    /// The configuration is invalid (sysexits EX_CONFIG).
    pub const CONFIG: u8 = 78;
}

/// How the daemon was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub config: PathBuf,
    /// Check the configuration and exit.
    pub validate: bool,
}

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/dhcpmgr/dhcpmgr.toml";

/// Parses the daemon's command line.
pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_iter(args);
    let mut options = Options {
        config: PathBuf::from(DEFAULT_CONFIG),
        validate: false,
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('c') | Long("config") => {
                options.config = parser.value().map_err(|e| e.to_string())?.into();
            }
            Long("validate") => options.validate = true,
            Short('h') | Long("help") => {
                return Err("usage: dhcpmgr [--config PATH] [--validate]".into())
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(options)
}

/// Runs the daemon until TERM/INT (or a thread failure) and returns the exit code.
pub fn run(options: &Options) -> ExitCode {
    let config = match Config::load(&options.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dhcpmgr: invalid configuration: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    if options.validate {
        println!("{}: configuration is valid", options.config.display());
        return ExitCode::from(exit::OK);
    }
    init_logging(&config.log_level);
    match serve(config, &options.config) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            tracing::error!(error = %e, "dhcpmgr failed");
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn serve(config: Config, config_path: &Path) -> Result<(), String> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let shutdown = CancellationToken::new();
    let (updates_tx, updates_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(32);
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();

    let tr181 = tr181::spawn(
        Tr181Settings {
            bus: config.bus.clone(),
            write_uids: config.write_uids.clone(),
        },
        updates_rx,
        commands_tx,
        shutdown.clone(),
    )
    .map_err(|e| format!("cannot start the TR-181 thread: {e}"))?;

    let signal_handle = signals.handle();
    let controller_thread = controller::spawn(
        config,
        ControllerChannels {
            updates: updates_tx,
            commands: commands_rx,
            reloads: reload_rx,
            ready: ready_tx,
        },
        shutdown.clone(),
    )
    .map_err(|e| format!("cannot start the controller thread: {e}"))?;
    // If the controller ends on its own, wake the signal loop so the daemon stops.
    let controller = std::thread::Builder::new()
        .name("controller-watch".into())
        .spawn(move || {
            let result = controller_thread.join();
            signal_handle.close();
            result
        })
        .map_err(|e| format!("cannot start the controller watcher: {e}"))?;

    if ready_rx.recv().is_ok() {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "dhcpmgr ready");
    }
    for signal in signals.forever() {
        if signal == SIGHUP {
            reload(config_path, &reload_tx);
        } else {
            tracing::info!(signal, "stopping");
            break;
        }
    }
    shutdown.cancel();
    let controller_result = controller.join();
    if tr181.join().is_err() {
        tracing::error!("the TR-181 thread panicked");
    }
    match controller_result {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("controller: {e}")),
        _ => Err("the controller thread panicked".into()),
    }
}

fn reload(path: &Path, reloads: &mpsc::UnboundedSender<Config>) {
    match Config::load(path) {
        Ok(config) => {
            tracing::info!(path = %path.display(), "reloading configuration");
            let _ = reloads.send(config);
        }
        Err(e) => {
            tracing::error!(error = %e, "new configuration is invalid; keeping the running one")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        std::iter::once("dhcpmgr")
            .chain(list.iter().copied())
            .map(Into::into)
            .collect()
    }

    #[test]
    fn parses_config_and_validate() {
        let o = parse_args(args(&["--config", "/tmp/x.toml", "--validate"])).unwrap();
        assert_eq!(o.config, PathBuf::from("/tmp/x.toml"));
        assert!(o.validate);
        let d = parse_args(args(&[])).unwrap();
        assert_eq!(d.config, PathBuf::from(DEFAULT_CONFIG));
        assert!(parse_args(args(&["--bogus"])).is_err());
        assert!(parse_args(args(&["--config"])).is_err());
    }
}
