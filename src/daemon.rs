//! The main thread: logging, the long-lived parts (TR-181 thread, controller, shield,
//! watchdog), signals (TERM/INT stop, HUP reloads the clients, the log level and the shield, and
//! names the keys that wait for a restart), systemd notifications (READY, STATUS, STOPPING and
//! watchdog pings while the controller loop turns) and one orderly shutdown ([`Shutdown`]).

mod error;
mod logging;
mod shutdown;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;

use crate::config::{restart_required, Config, ConfigError};
use crate::controller::{self, ControllerChannels};
use crate::systemd::{self, Heartbeat, SystemdEnv, Watchdog};
use crate::tr181_thread::{self, Tr181Settings};
pub use dhcpmgr_base::StopToken;
pub use error::{ServeError, StartError};
use logging::{LogControl, Sink};
pub use shutdown::{Part, PartError, Shutdown};

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
    /// The configuration file (`--config`, default [`DEFAULT_CONFIG`]).
    pub config: PathBuf,
    /// Check the configuration and exit.
    pub validate: bool,
    /// Log to syslog (`/dev/log`) instead of stderr.
    pub syslog: bool,
}

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/dhcpmgr/dhcpmgr.toml";

/// Why the command line was refused (exit code [`exit::USAGE`]).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `--help` was asked for: the message is the usage line.
    #[error("usage: dhcpmgr [--config PATH] [--validate] [--syslog]")]
    Help,
    /// An unknown option or a missing value.
    #[error(transparent)]
    Invalid(#[from] lexopt::Error),
}

/// Parses the daemon's command line.
pub fn parse_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Options, UsageError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_iter(args);
    let mut options = Options {
        config: PathBuf::from(DEFAULT_CONFIG),
        validate: false,
        syslog: false,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("config") => options.config = parser.value()?.into(),
            Long("validate") => options.validate = true,
            Long("syslog") => options.syslog = true,
            Short('h') | Long("help") => return Err(UsageError::Help),
            other => return Err(other.unexpected().into()),
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

/// Runs every part until TERM/INT (or until the controller ends on its own), then stops them
/// all through the one [`Shutdown`] owner, also when starting a part failed half-way.
fn serve(
    config: Config,
    config_path: &Path,
    log: &LogControl,
    systemd: SystemdEnv,
) -> Result<(), ServeError> {
    let mut parts = Shutdown::new();
    let started = run_until_stop(&mut parts, config, config_path, log, systemd);
    let stopped = parts.finish();
    ServeError::check(started.err(), stopped)
}

/// Starts the parts, hands each to `parts`, and runs the signal loop. Returns when the daemon
/// is to stop; an early return leaves what was started with `parts`, which stops it.
fn run_until_stop(
    parts: &mut Shutdown,
    config: Config,
    config_path: &Path,
    log: &LogControl,
    systemd: SystemdEnv,
) -> Result<(), StartError> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP]).map_err(StartError::Signals)?;
    let stop = parts.token();
    let (updates_tx, updates_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(32);
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let watchdog = systemd.watchdog.map(Watchdog::new);
    let heartbeat = Heartbeat::new(watchdog.map(|w| w.heartbeat_period()));
    let notifier = systemd.notifier;
    let notify = |state: &str| {
        if let Some(n) = &notifier {
            n.send(state);
        }
    };
    // What the parts were started with: a reload cannot change the keys only read at start.
    let running = config.clone();

    let tr181 = tr181_thread::spawn(
        Tr181Settings {
            bus: config.bus.clone(),
            write_uids: config.write_uids.clone(),
            table_limit: config.table_limit,
            rbus: config.rbus.clone(),
        },
        updates_rx,
        commands_tx,
        stop.cancellation(),
    )
    .map_err(StartError::spawn(Part::Tr181))?;
    parts.adopt_thread(Part::Tr181, tr181);
    start_shield(parts, &running);

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
        stop.cancellation(),
    )
    .map_err(StartError::spawn(Part::Controller))?;
    // If the controller ends on its own, wake the signal loop so the daemon stops.
    let controller = std::thread::Builder::new()
        .name("controller-watch".into())
        .spawn(move || {
            let result = controller_thread.join();
            signal_handle.close();
            result
        })
        .map_err(StartError::spawn(Part::Controller))?;
    parts.adopt(Part::Controller, move || match controller.join() {
        Ok(Ok(result)) => result.map_err(PartError::from),
        Ok(Err(_)) | Err(_) => Err(PartError::Panicked(Part::Controller)),
    });
    if let (Some(watchdog), Some(notifier)) = (watchdog, &notifier) {
        let stop = stop.clone();
        let thread = watchdog
            .spawn(notifier.clone(), heartbeat, move |timeout| {
                stop.wait_timeout(timeout)
            })
            .map_err(StartError::spawn(Part::Watchdog))?;
        parts.adopt_thread(Part::Watchdog, thread);
    }

    if ready_rx.recv().is_ok() {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "dhcpmgr ready");
        notify(&format!(
            "READY=1\n{}",
            systemd::status(&format!("running: {}", client_summary(&running)))
        ));
    }
    let mut shield_config = running.shield.clone();
    for signal in signals.forever() {
        if signal != SIGHUP {
            tracing::info!(signal, "stopping");
            break;
        }
        notify(&systemd::status("reloading configuration"));
        let status = match reload(config_path, &reload_tx, log) {
            Ok(new) => {
                if new.shield != shield_config {
                    tracing::info!("shield configuration changed; restarting the shield");
                    // Stop first: the old rules go before the new ones are installed.
                    if let Err(e) = parts.stop_now(Part::Shield) {
                        tracing::error!(error = %e, "the old shield did not stop cleanly");
                    }
                    // The shield's new section, with the directories the daemon started with.
                    start_shield(
                        parts,
                        &Config {
                            shield: new.shield.clone(),
                            ..running.clone()
                        },
                    );
                    shield_config = new.shield.clone();
                }
                reload_status(&running, &new)
            }
            Err(e) => format!("running the previous configuration: invalid configuration: {e}"),
        };
        notify(&systemd::status(&status));
    }
    notify(&format!(
        "STOPPING=1\n{}",
        systemd::status("stopping: DHCP clients stop without releasing their leases")
    ));
    Ok(())
}

/// Starts the shield if `config` enables it, on a child of the daemon's stop token (so a reload
/// can stop it alone), and hands it to `parts` (dropping it cancels that child, joins its
/// threads and removes its rules). A shield that cannot start is logged and left out.
fn start_shield(parts: &mut Shutdown, config: &Config) {
    let stop = parts.token().child();
    if let Some(shield) =
        dhcpmgr_shield::start(&config.shield, &config.run_dir, &config.state_dir, stop)
    {
        parts.adopt(Part::Shield, move || {
            drop(shield);
            Ok(())
        });
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

/// The status after a reload to `new`: the clients, and the keys that wait for a restart
/// (logged as a warning too).
fn reload_status(running: &Config, new: &Config) -> String {
    let pending = restart_required(running, new);
    let clients = client_summary(new);
    if pending.is_empty() {
        return format!("running: {clients}");
    }
    let keys = pending.join(", ");
    tracing::warn!(keys = %keys, "changed keys take effect only at the next start");
    format!("running: {clients}; restart needed for {keys}")
}

/// Loads the configuration again, hands it to the controller and applies its log level.
/// Returns the new configuration, or why the file was refused.
fn reload(
    path: &Path,
    reloads: &mpsc::UnboundedSender<Config>,
    log: &LogControl,
) -> Result<Config, ConfigError> {
    match Config::load(path) {
        Ok(config) => {
            tracing::info!(path = %path.display(), "reloading configuration");
            log.apply(&config.log_level);
            let _ = reloads.send(config.clone());
            Ok(config)
        }
        Err(e) => {
            tracing::error!(error = %e, "new configuration is invalid; keeping the running one");
            Err(e)
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
    fn a_reload_names_the_keys_that_wait_for_a_restart() {
        let client = "[[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\n";
        let running = Config::parse(client).unwrap();
        let new = Config::parse(&format!("[dbus]\nbus = \"session\"\n{client}")).unwrap();
        assert_eq!(
            reload_status(&running, &running),
            "running: 1 DHCPv4, 0 DHCPv6 client(s) configured"
        );
        assert_eq!(
            reload_status(&running, &new),
            "running: 1 DHCPv4, 0 DHCPv6 client(s) configured; restart needed for dbus.bus"
        );
    }

    #[test]
    fn parses_config_and_validate() {
        let o = parse_args(args(&["--config", "/tmp/x.toml", "--validate"])).unwrap();
        assert_eq!(o.config, PathBuf::from("/tmp/x.toml"));
        assert!(o.validate && !o.syslog);
        let d = parse_args(args(&[])).unwrap();
        assert_eq!(d.config, PathBuf::from(DEFAULT_CONFIG));
        assert!(parse_args(args(&["--syslog"])).unwrap().syslog);
        assert!(matches!(
            parse_args(args(&["--bogus"])),
            Err(UsageError::Invalid(_))
        ));
        assert!(matches!(
            parse_args(args(&["--config"])),
            Err(UsageError::Invalid(_))
        ));
        assert!(matches!(
            parse_args(args(&["--help"])),
            Err(UsageError::Help)
        ));
    }
}
