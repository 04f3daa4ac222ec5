//! CWMP faults: why a data-model request was refused. The D-Bus service turns each kind into
//! the `org.dhcpmgr.Error.*` error of the same name.

use std::fmt;

/// The CWMP fault kinds the data model reports (design §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    RequestDenied,
    /// The request was valid but the daemon could not carry it out (e.g. a write that could
    /// not be stored); nothing of it is in force.
    InternalError,
    InvalidArguments,
    ResourcesExceeded,
    InvalidParameterName,
    InvalidParameterType,
    InvalidParameterValue,
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
    pub kind: FaultKind,
    pub message: String,
}

impl Fault {
    pub fn new(kind: FaultKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
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
}
