//! What a D-Bus `Event` signal reports.

/// Kinds of the D-Bus `Event` signal (docs/contracts.md#d-bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ClientStarted,
    ClientStopped,
    ClientFailed,
    /// An enabled client waits for its interface (missing, down, no carrier, or no
    /// link-local address past DAD); not a failure.
    ClientWaiting,
    LeaseUpdated,
    LeaseRenewed,
    LeaseDeleted,
    /// System events whose command failed are being retried (`key`, `reason`, `pending`).
    SysEventsBehind,
    /// Every system event is set again.
    SysEventsCaughtUp,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientStarted => "ClientStarted",
            Self::ClientStopped => "ClientStopped",
            Self::ClientFailed => "ClientFailed",
            Self::ClientWaiting => "ClientWaiting",
            Self::LeaseUpdated => "LeaseUpdated",
            Self::LeaseRenewed => "LeaseRenewed",
            Self::LeaseDeleted => "LeaseDeleted",
            Self::SysEventsBehind => "SysEventsBehind",
            Self::SysEventsCaughtUp => "SysEventsCaughtUp",
        }
    }
}
