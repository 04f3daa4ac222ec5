//! The main thread: logging, the two long-lived threads, signals (TERM/INT stop, HUP reloads
//! the configuration and the log level), systemd notifications (READY, STATUS, STOPPING and
//! watchdog pings while the controller loop turns) and an orderly shutdown.

mod logging;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::controller::{self, ControllerChannels};
use crate::systemd::{self, Heartbeat, SystemdEnv, Watchdog};
use crate::tr181::{self, Tr181Settings};
use logging::{LogControl, Sink};

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
    /// Log to syslog (`/dev/log`) instead of stderr.
    pub syslog: bool,
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
        syslog: false,
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('c') | Long("config") => {
                options.config = parser.value().map_err(|e| e.to_string())?.into();
            }
            Long("validate") => options.validate = true,
            Long("syslog") => options.syslog = true,
            Short('h') | Long("help") => {
                return Err("usage: dhcpmgr [--config PATH] [--validate] [--syslog]".into())
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(options)
}

/// Runs the daemon until TERM/INT (or a thread failure) and returns the exit code.
pub fn run(options: &Options) -> ExitCode {
    // First, while this is the only thread: the environment is process-wide.
    let systemd = SystemdEnv::take();
    let config = match Config::load(&options.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dhcpmgr: invalid configuration: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    if let Err(e) = logging::parse_filter(&config.log_level) {
        eprintln!("dhcpmgr: invalid configuration: daemon.log_level: {e}");
        return ExitCode::from(exit::CONFIG);
    }
    if options.validate {
        println!("{}: configuration is valid", options.config.display());
        return ExitCode::from(exit::OK);
    }
    let sink = if options.syslog {
        Sink::Syslog
    } else if systemd::journal_stream(
        std::env::var_os("JOURNAL_STREAM").as_deref(),
        std::io::stderr(),
    ) {
        Sink::Journal
    } else {
        Sink::Stderr
    };
    let log = logging::init(&config.log_level, sink);
    let notifier = systemd.notifier.clone();
    match serve(config, &options.config, &log, systemd) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            tracing::error!(error = %e, "dhcpmgr failed");
            if let Some(n) = notifier {
                n.send(&systemd::status(&format!("failed: {e}")));
            }
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn serve(
    config: Config,
    config_path: &Path,
    log: &LogControl,
    systemd: SystemdEnv,
) -> Result<(), String> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let shutdown = CancellationToken::new();
    let (updates_tx, updates_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(32);
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let watchdog = systemd.watchdog.map(Watchdog::new);
    let heartbeat = Heartbeat::new(watchdog.map(|w| w.heartbeat_period()));
    let notifier = systemd.notifier;
    let clients = client_summary(&config);

    let tr181 = tr181::spawn(
        Tr181Settings {
            bus: config.bus.clone(),
            write_uids: config.write_uids.clone(),
            table_limit: config.table_limit,
            rbus: config.rbus.clone(),
        },
        updates_rx,
        commands_tx,
        shutdown.clone(),
    )
    .map_err(|e| format!("cannot start the TR-181 thread: {e}"))?;

    // The LAN-side DHCP shield: its own threads; dropping it stops them and removes its rules.
    let mut shield_config = config.shield.clone();
    let mut shield = crate::shield::start(&config);
    let signal_handle = signals.handle();
    let controller_thread = controller::spawn(
        config,
        ControllerChannels {
            updates: updates_tx,
            commands: commands_rx,
            reloads: reload_rx,
            ready: ready_tx,
            heartbeat: heartbeat.clone(),
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
    // Dropping `stop_watchdog` (on every return) ends the watchdog thread.
    let (stop_watchdog, watchdog_stop) = std::sync::mpsc::channel::<()>();
    let watchdog_thread = match (watchdog, &notifier) {
        (Some(watchdog), Some(notifier)) => Some(
            watchdog
                .spawn(notifier.clone(), heartbeat, watchdog_stop)
                .map_err(|e| format!("cannot start the watchdog thread: {e}"))?,
        ),
        _ => None,
    };
    let notify = |state: &str| {
        if let Some(n) = &notifier {
            n.send(state);
        }
    };

    if ready_rx.recv().is_ok() {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "dhcpmgr ready");
        notify(&format!(
            "READY=1\n{}",
            systemd::status(&format!("running: {clients}"))
        ));
    }
    for signal in signals.forever() {
        if signal == SIGHUP {
            notify(&systemd::status("reloading configuration"));
            let status = match reload(config_path, &reload_tx, log) {
                Ok(new) => {
                    if new.shield != shield_config {
                        tracing::info!("shield configuration changed; restarting the shield");
                        // Stop first: the old rules go before the new ones are installed.
                        drop(shield.take());
                        shield = crate::shield::start(&new);
                        shield_config = new.shield.clone();
                    }
                    format!("running: {}", client_summary(&new))
                }
                Err(e) => format!("running the previous configuration: {e}"),
            };
            notify(&systemd::status(&status));
        } else {
            tracing::info!(signal, "stopping");
            break;
        }
    }
    notify(&format!(
        "STOPPING=1\n{}",
        systemd::status("stopping: DHCP clients stop without releasing their leases")
    ));
    shutdown.cancel();
    let controller_result = controller.join();
    if tr181.join().is_err() {
        tracing::error!("the TR-181 thread panicked");
    }
    drop(stop_watchdog);
    if let Some(thread) = watchdog_thread {
        let _ = thread.join();
    }
    match controller_result {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("controller: {e}")),
        _ => Err("the controller thread panicked".into()),
    }
}

/// "N DHCPv4, M DHCPv6 clients" for status lines.
fn client_summary(config: &Config) -> String {
    format!(
        "{} DHCPv4, {} DHCPv6 client(s) configured",
        config.dhcpv4_clients.len(),
        config.dhcpv6_clients.len()
    )
}

/// Loads the configuration again, hands it to the controller and applies its log level.
/// Returns the new configuration, or why the file was refused.
fn reload(
    path: &Path,
    reloads: &mpsc::UnboundedSender<Config>,
    log: &LogControl,
) -> Result<Config, String> {
    match Config::load(path) {
        Ok(config) => {
            tracing::info!(path = %path.display(), "reloading configuration");
            log.apply(&config.log_level);
            let _ = reloads.send(config.clone());
            Ok(config)
        }
        Err(e) => {
            tracing::error!(error = %e, "new configuration is invalid; keeping the running one");
            Err(format!("invalid configuration: {e}"))
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
        assert!(o.validate && !o.syslog);
        let d = parse_args(args(&[])).unwrap();
        assert_eq!(d.config, PathBuf::from(DEFAULT_CONFIG));
        assert!(parse_args(args(&["--syslog"])).unwrap().syslog);
        assert!(parse_args(args(&["--bogus"])).is_err());
        assert!(parse_args(args(&["--config"])).is_err());
    }
}
