//! The one owner of the daemon's shutdown: the [`StopToken`] every long-lived part watches, how
//! to stop and join each part, and the order that happens in. Modelled on hickory-dns's
//! `shutdown_gracefully` + `block_until_done`: [`Shutdown::finish`] cancels once, then joins every
//! part in [`Part`] order whatever order they were started in, and returns what each of them
//! reported instead of stopping at the first failure.
//!
//! Join order (see docs/architecture.md, "Shutdown"):
//! 1. the shield: its rules go first, so LAN DHCP flows uninspected (fail-open) while the rest
//!    stops;
//! 2. the controller: stops the DHCP clients without releasing and sends its last updates;
//! 3. the TR-181 thread: has taken those updates in, then releases the bus name;
//! 4. the watchdog: ends as soon as the token is cancelled (after `STOPPING=1` systemd no longer
//!    expects pings) and is joined last.

use std::fmt;
use std::thread::JoinHandle;

use crate::controller::ControllerError;

use dhcpmgr_base::StopToken;

/// A long-lived part of the daemon, in stop order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// The LAN-side DHCP shield: stopped first, so LAN DHCP flows uninspected (fail-open).
    Shield,
    /// The controller: stops the DHCP clients (in parallel) and persists their leases.
    Controller,
    /// The TR-181 thread: releases `org.dhcpmgr` and the RBUS component.
    Tr181,
    /// The systemd watchdog pinger: last, so systemd sees the daemon alive while it stops.
    Watchdog,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Shield => "shield",
            Part::Controller => "controller",
            Part::Tr181 => "TR-181",
            Part::Watchdog => "watchdog",
        })
    }
}

/// How a part ended badly.
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    /// The part's thread panicked (the panic was logged where it happened).
    #[error("the {0} thread panicked")]
    Panicked(Part),
    /// The controller stopped with an error.
    #[error("controller: {0}")]
    Controller(#[from] ControllerError),
}

/// Stops one part and waits for it.
type Stopper = Box<dyn FnOnce() -> Result<(), PartError> + Send>;

/// The daemon's parts and the token they stop on.
pub struct Shutdown {
    stop: StopToken,
    parts: Vec<(Part, Stopper)>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A shutdown owner with a fresh stop token and no parts yet.
    pub fn new() -> Shutdown {
        Shutdown {
            stop: StopToken::new(),
            parts: Vec::new(),
        }
    }

    /// The token to hand to a part that stops when it is cancelled.
    pub fn token(&self) -> StopToken {
        self.stop.clone()
    }

    /// Takes charge of `part`: `stop` is run once the token is cancelled, in [`Part`] order,
    /// and waits for the part to end.
    pub fn adopt(
        &mut self,
        part: Part,
        stop: impl FnOnce() -> Result<(), PartError> + Send + 'static,
    ) {
        self.parts.push((part, Box::new(stop)));
    }

    /// Takes charge of a thread that ends on the token; a panic is reported as such.
    pub fn adopt_thread(&mut self, part: Part, thread: JoinHandle<()>) {
        self.adopt(part, move || {
            thread.join().map_err(|_| PartError::Panicked(part))
        });
    }

    /// Stops and joins `part` now, ahead of the others (e.g. the shield on reload, before it is
    /// started again). Returns what it reported; a part not held is fine.
    pub fn stop_now(&mut self, part: Part) -> Result<(), PartError> {
        let (mine, rest): (Vec<_>, Vec<_>) =
            self.parts.drain(..).partition(|(held, _)| *held == part);
        self.parts = rest;
        mine.into_iter().try_for_each(|(_, stop)| stop())
    }

    /// Cancels the token, then stops and joins every part in [`Part`] order. Returns every
    /// failure, in that order; empty when all ended cleanly.
    pub fn finish(mut self) -> Vec<PartError> {
        self.stop.cancel();
        // Stable: parts of one kind keep their adoption order.
        self.parts.sort_by_key(|(part, _)| *part);
        self.parts
            .drain(..)
            .filter_map(|(part, stop)| {
                let result = stop();
                match &result {
                    Ok(()) => tracing::debug!(%part, "stopped"),
                    Err(e) => tracing::error!(%part, error = %e, "stopped with an error"),
                }
                result.err()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    fn recorder(log: &Arc<Mutex<Vec<Part>>>, part: Part) -> impl FnOnce() -> Result<(), PartError> {
        let log = log.clone();
        move || {
            log.lock().unwrap().push(part);
            Ok(())
        }
    }

    #[test]
    fn finish_joins_in_part_order_whatever_the_order_of_adoption() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut shutdown = Shutdown::new();
        for part in [Part::Watchdog, Part::Tr181, Part::Shield, Part::Controller] {
            shutdown.adopt(part, recorder(&log, part));
        }
        assert!(shutdown.finish().is_empty());
        assert_eq!(
            *log.lock().unwrap(),
            [Part::Shield, Part::Controller, Part::Tr181, Part::Watchdog]
        );
    }

    #[test]
    fn finish_cancels_the_token_a_thread_waits_on_and_joins_it() {
        let mut shutdown = Shutdown::new();
        let (token, async_token) = (shutdown.token(), shutdown.token().cancellation());
        // Stands in for the TR-181 thread left behind by a failure while starting the rest.
        let thread = std::thread::spawn(
            move || {
                while !token.wait_timeout(Duration::from_secs(60)) {}
            },
        );
        shutdown.adopt_thread(Part::Tr181, thread);
        assert!(shutdown.finish().is_empty());
        assert!(async_token.is_cancelled());
    }

    #[test]
    fn every_failure_is_reported_not_only_the_first() {
        let mut shutdown = Shutdown::new();
        shutdown.adopt_thread(
            Part::Tr181,
            std::thread::spawn(|| std::panic::panic_any("test panic")),
        );
        shutdown.adopt(Part::Controller, || {
            Err(ControllerError::Runtime(std::io::Error::other("no runtime")).into())
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        shutdown.adopt(Part::Watchdog, recorder(&log, Part::Watchdog));
        let errors: Vec<String> = shutdown.finish().iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            [
                "controller: cannot build the controller's runtime: no runtime",
                "the TR-181 thread panicked"
            ]
        );
        assert_eq!(
            *log.lock().unwrap(),
            [Part::Watchdog],
            "later parts still stop"
        );
    }

    #[test]
    fn a_part_stopped_early_is_not_stopped_again() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut shutdown = Shutdown::new();
        shutdown.adopt(Part::Shield, recorder(&log, Part::Shield));
        shutdown.adopt(Part::Tr181, recorder(&log, Part::Tr181));
        shutdown.stop_now(Part::Shield).unwrap();
        assert_eq!(*log.lock().unwrap(), [Part::Shield]);
        shutdown.adopt(Part::Shield, recorder(&log, Part::Shield));
        assert!(shutdown.finish().is_empty());
        assert_eq!(
            *log.lock().unwrap(),
            [Part::Shield, Part::Shield, Part::Tr181]
        );
    }
}
