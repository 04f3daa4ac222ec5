//! CWMP faults: why a data-model request was refused. The D-Bus service turns each kind into
//! the `org.dhcpmgr.Error.*` error of the same name.

use std::fmt;

use crate::channels::CommandError;

/// The CWMP fault kinds the data model reports (docs/contracts.md#d-bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 9001: the request is valid but refused: the caller may not write (not root or a
    /// configured writer), the controller refused it or has no such client, a table at its
    /// `minEntries`, a command or row operation this build does not support.
    RequestDenied,
    /// 9002: the request was valid but the daemon failed at it: a write that could not be stored
    /// (in force or not: the message says which), a controller that is gone or silent.
    InternalError,
    /// 9003: the request itself is malformed: a name given twice, a command argument the
    /// command does not take, `NextLevel` true for a parameter, two values for one setting
    /// (`Interface` and `X_RDK_LinuxInterface`).
    InvalidArguments,
    /// 9004: over a request or reply limit ([`super::tree::limits`]), or the controller's
    /// queue of requests is full.
    ResourcesExceeded,
    /// 9005: no such parameter, object or command (or a name longer than any can be).
    InvalidParameterName,
    /// 9006: the value does not parse as the parameter's type (`"abc"` for an `unsignedInt`).
    InvalidParameterType,
    /// 9007: the value has the right type but is refused: out of range, too long, not in the
    /// enumeration, not the only value a `dhcpmgr:fixed` parameter can have, a client's
    /// settings that are invalid as a whole, or a key (`Alias`, `X_RDK_LinuxInterface`)
    /// another client of the family already has.
    InvalidParameterValue,
    /// 9008: the parameter is read-only, or this build does not accept writes to it.
    NotWritable,
}

impl FaultKind {
    /// The CWMP fault code.
    pub fn code(self) -> u16 {
        match self {
            Self::RequestDenied => 9001,
            Self::InternalError => 9002,
            Self::InvalidArguments => 9003,
            Self::ResourcesExceeded => 9004,
            Self::InvalidParameterName => 9005,
            Self::InvalidParameterType => 9006,
            Self::InvalidParameterValue => 9007,
            Self::NotWritable => 9008,
        }
    }
}

/// A refused request: the kind, and a message that names the parameter or object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Which CWMP fault: the code ([`FaultKind::code`]) and the `org.dhcpmgr.Error.*` name.
    pub kind: FaultKind,
    /// What was refused and why, naming the parameter, object or command; [`Display`](fmt::Display)
    /// (and so the D-Bus error message) adds ` (CWMP fault <code>)`.
    pub message: String,
}

impl Fault {
    /// A fault of `kind` with `message`.
    pub fn new(kind: FaultKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The fault for the controller's refusal of a request about `object`: the one place a
    /// [`CommandError`] becomes a CWMP fault. The caller's request was fine but could not be
    /// carried out → 9001; the daemon failed at it → 9002; too many requests queued → 9004.
    pub fn from_command(object: &str, error: &CommandError) -> Self {
        let kind = match error {
            CommandError::NoSuchClient(_)
            | CommandError::Conflict { .. }
            | CommandError::Refused { .. } => FaultKind::RequestDenied,
            CommandError::NotStored(_)
            | CommandError::NotPersisted(_)
            | CommandError::ControllerGone
            | CommandError::NoAnswer { .. } => FaultKind::InternalError,
            CommandError::Busy => FaultKind::ResourcesExceeded,
        };
        Self::new(kind, format!("{object}: {error}"))
    }

    /// `name` is not a parameter, object or command of the data model.
    pub fn no_such_name(name: &str) -> Self {
        Self::new(
            FaultKind::InvalidParameterName,
            format!("{name}: no such parameter or object"),
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (CWMP fault {})", self.message, self.kind.code())
    }
}

impl std::error::Error for Fault {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClientKey;
    use crate::model::Instance;
    use crate::overrides::NotStored;
    use crate::persist::PersistError;

    #[test]
    fn display_carries_the_fault_code() {
        let fault = Fault::no_such_name("Device.Foo");
        assert_eq!(
            fault.to_string(),
            "Device.Foo: no such parameter or object (CWMP fault 9005)"
        );
        assert_eq!(FaultKind::NotWritable.code(), 9008);
        assert_eq!(FaultKind::InternalError.code(), 9002);
    }

    fn persist_error() -> PersistError {
        PersistError::Write {
            path: "/state/tr181-writes".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }
    }

    fn code(error: CommandError) -> (u16, String) {
        let fault = Fault::from_command("Device.DHCPv4.Client.2", &error);
        (fault.kind.code(), fault.message)
    }

    #[test]
    fn refusals_of_a_valid_request_are_request_denied() {
        let (code9001, message) = code(CommandError::NoSuchClient(ClientKey::V4(Instance(2))));
        assert_eq!(code9001, 9001);
        assert_eq!(
            message,
            "Device.DHCPv4.Client.2: no client Device.DHCPv4.Client.2"
        );
        let refused = CommandError::Refused {
            reason: "client wan is not running".into(),
        };
        assert_eq!(
            code(refused),
            (
                9001,
                "Device.DHCPv4.Client.2: client wan is not running".into()
            )
        );
        let conflict = CommandError::Conflict {
            reason: "not a DHCPv4 client".into(),
        };
        assert_eq!(code(conflict).0, 9001);
    }

    #[test]
    fn writes_that_were_not_stored_are_internal_errors_saying_whether_they_apply() {
        let (code9002, message) = code(CommandError::NotStored(NotStored::from(persist_error())));
        assert_eq!(code9002, 9002);
        assert!(message.contains("none of it is in force"), "{message}");
        let (code9002, message) = code(CommandError::NotPersisted(persist_error()));
        assert_eq!(code9002, 9002);
        assert!(
            message.contains("in force but could not be stored"),
            "{message}"
        );
        assert!(message.contains("/state/tr181-writes"), "{message}");
    }

    #[test]
    fn a_gone_or_silent_controller_is_internal_and_a_full_queue_exceeds_resources() {
        assert_eq!(code(CommandError::ControllerGone).0, 9002);
        let (code9002, message) = code(CommandError::NoAnswer { seconds: 5 });
        assert_eq!(code9002, 9002);
        assert!(message.ends_with("did not answer within 5 s"), "{message}");
        assert_eq!(code(CommandError::Busy).0, 9004);
    }
}
