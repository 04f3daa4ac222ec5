//! How a run of the daemon failed: what went wrong while starting its parts, and what each part
//! reported when it was stopped. Both are kept, so a failure to start one thread does not hide
//! that another one panicked on the way down.

use std::fmt;
use std::io;

use super::shutdown::{Part, PartError};

/// A failure while setting the daemon's parts up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Signal handlers (TERM, INT, HUP) could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// A part's thread could not be started.
    #[error("cannot start the {part} thread: {source}")]
    Spawn {
        /// The part whose thread it was.
        part: Part,
        /// Why the thread could not be spawned.
        #[source]
        source: io::Error,
    },
}

impl StartError {
    /// A `map_err` for a thread of `part` that could not be spawned.
    pub fn spawn(part: Part) -> impl FnOnce(io::Error) -> StartError {
        move |source| StartError::Spawn { part, source }
    }
}

/// Everything that went wrong in one run, start first, then the parts in stop order.
#[derive(Debug)]
pub struct ServeError {
    /// The failure that ended the start, if the daemon did not get to run.
    pub start: Option<StartError>,
    /// Each part that ended badly, in stop order.
    pub parts: Vec<PartError>,
}

impl ServeError {
    /// `Ok` when nothing failed.
    pub fn check(start: Option<StartError>, parts: Vec<PartError>) -> Result<(), ServeError> {
        if start.is_none() && parts.is_empty() {
            Ok(())
        } else {
            Err(ServeError { start, parts })
        }
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = self.start.iter().map(|e| e as &dyn fmt::Display);
        let parts = self.parts.iter().map(|e| e as &dyn fmt::Display);
        for (i, e) in start.chain(parts).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.start, self.parts.first()) {
            (Some(e), _) => Some(e),
            (None, Some(e)) => Some(e),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_failed_is_ok_and_every_failure_is_named() {
        assert!(ServeError::check(None, Vec::new()).is_ok());
        let err = ServeError::check(
            Some(StartError::spawn(Part::Watchdog)(io::Error::other(
                "EAGAIN",
            ))),
            vec![PartError::Panicked(Part::Tr181)],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot start the watchdog thread: EAGAIN; the TR-181 thread panicked"
        );
    }
}
