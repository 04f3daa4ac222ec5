//! A validated Linux interface name, parsed at the edge (config, D-Bus writes) so that
//! nothing further in can hold a name the kernel would refuse.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Linux interface name (1 to 15 bytes, no `/`, whitespace or `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InterfaceName(String);

impl TryFrom<String> for InterfaceName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Self::new(&name)
    }
}

impl From<InterfaceName> for String {
    fn from(name: InterfaceName) -> String {
        name.0
    }
}

impl InterfaceName {
    /// Checks `name`; the error says why the kernel would refuse it.
    pub fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > 15 {
            return Err(format!("{name:?} is not 1 to 15 bytes long"));
        }
        if name == "." || name == ".." {
            return Err(format!("{name:?} is not a valid interface name"));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| c.is_whitespace() || *c == '/' || *c == ':' || c.is_control())
        {
            return Err(format!("{name:?} contains {bad:?}"));
        }
        Ok(Self(name.to_string()))
    }

    /// The name as the kernel knows it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
