//! What a D-Bus `Event` signal reports.

/// Kinds of the D-Bus `Event` signal (docs/contracts.md#d-bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The DHCP client process was started.
    ClientStarted,
    /// The DHCP client process stopped (disabled, deleted, or the daemon stops).
    ClientStopped,
    /// The DHCP client keeps dying; the supervisor gave up (`Status` is `Error`).
    ClientFailed,
    /// An enabled client waits for its interface (missing, down, no carrier, or no
    /// link-local address past DAD); not a failure.
    ClientWaiting,
    /// A new lease (or new lease values) is in force on the interface.
    LeaseUpdated,
    /// The lease was renewed with the same values.
    LeaseRenewed,
    /// The lease is gone (released, expired or refused by the server).
    LeaseDeleted,
    /// System events whose command failed are being retried (`key`, `reason`, `pending`).
    SysEventsBehind,
    /// Every system event is set again.
    SysEventsCaughtUp,
}

impl EventKind {
    /// The `kind` argument of the `Event` signal.
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
