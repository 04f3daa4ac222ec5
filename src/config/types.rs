//! Small validated values parsed at the edge: interface names, aliases, option codes, hex.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use dhcpmgr_base::InterfaceName;

/// A client alias: 1 to 64 of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientAlias(String);

impl TryFrom<String> for ClientAlias {
    type Error = String;

    fn try_from(alias: String) -> Result<Self, String> {
        Self::new(&alias)
    }
}

impl From<ClientAlias> for String {
    fn from(alias: ClientAlias) -> String {
        alias.0
    }
}

impl ClientAlias {
    /// Validates `alias`; `Err` says which character or length is wrong.
    pub fn new(alias: &str) -> Result<Self, String> {
        let ok = !alias.is_empty()
            && alias.len() <= 64
            && alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(alias.to_string()))
        } else {
            Err(format!(
                "{alias:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"
            ))
        }
    }

    /// The alias as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DHCPv4 option code a client may request or send (1 to 254; 0 and 255 are pad and end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct OptionCode(pub u8);

impl TryFrom<u16> for OptionCode {
    type Error = String;

    fn try_from(code: u16) -> Result<Self, String> {
        Self::new(code)
    }
}

impl From<OptionCode> for u16 {
    fn from(code: OptionCode) -> u16 {
        code.0.into()
    }
}

impl OptionCode {
    /// Validates `code` (1 to 254: 0 and 255 are pad and end); `Err` says why not.
    pub fn new(code: u16) -> Result<Self, String> {
        match u8::try_from(code) {
            Ok(c @ 1..=254) => Ok(Self(c)),
            _ => Err(format!("{code} is not a DHCPv4 option code (1 to 254)")),
        }
    }
}

impl fmt::Display for OptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Bytes written as hex in the configuration, in TR-181 (`hexBinary`) and in state files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HexBytes(pub Vec<u8>);

impl TryFrom<String> for HexBytes {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<HexBytes> for String {
    fn from(bytes: HexBytes) -> String {
        bytes.to_hex()
    }
}

impl HexBytes {
    /// Parses hex digits (either case, optionally `:`-separated pairs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits: String = text.chars().filter(|&c| c != ':').collect();
        if digits.len() % 2 != 0 {
            return Err(format!("{text:?} has an odd number of hex digits"));
        }
        let bytes = digits
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                    .ok_or_else(|| format!("{text:?} is not hex"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(bytes))
    }

    /// Lowercase hex without separators.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// DHCPv4 options udhcpc puts in its messages itself; a SentOption may not carry them.
pub const V4_CLIENT_MANAGED_OPTIONS: [u8; 5] = [50, 53, 54, 55, 57];

/// DHCPv6 options dibbler-client builds itself; a SentOption may not carry them.
pub const V6_CLIENT_MANAGED_OPTIONS: [u16; 11] = [0, 1, 2, 3, 5, 6, 8, 13, 14, 25, 26];

/// What a DHCPv4 `SentOption` row holds: the option and its payload. `tag` is `None` in a
/// row AddObject created until the tag is written; only enabled rows with a tag are sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentOption {
    /// The option code; `None` until written over TR-181.
    pub tag: Option<OptionCode>,
    /// The option's value, sent as is.
    pub value: HexBytes,
}

impl SentOption {
    /// Validates `tag` and the hexadecimal `hex`; `Err` says which is wrong.
    pub fn new(tag: u16, hex: &str) -> Result<Self, String> {
        let code = OptionCode::new(tag)?;
        if V4_CLIENT_MANAGED_OPTIONS.contains(&code.0) {
            return Err(format!(
                "option {code} is managed by the DHCP client itself and cannot be sent from configuration"
            ));
        }
        let value = HexBytes::parse(hex).map_err(|e| format!("option {code}: {e}"))?;
        if value.0.is_empty() || value.0.len() > 255 {
            return Err(format!("option {code}: payload must be 1 to 255 bytes"));
        }
        Ok(Self {
            tag: Some(code),
            value,
        })
    }
}

/// What a DHCPv4 `ReqOption` row holds: its place in the parameter request list (TR-181
/// `Order`, 1 first) and the option; `tag` as for [`SentOption`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReqOption {
    /// Where the option goes in the parameter request list (TR-181 `Order`, 1 first).
    pub order: u32,
    /// The option code; `None` until written over TR-181.
    pub tag: Option<OptionCode>,
}

/// What a DHCPv6 `SentOption` row holds; `tag` as for [`SentOption`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6SentOption {
    /// The DHCPv6 option code (RFC 8415 §21); `None` until written over TR-181.
    pub tag: Option<u16>,
    /// The option's value, sent as is.
    pub value: HexBytes,
}
