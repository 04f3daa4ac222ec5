//! Per-client actions (docs/shield.md): what they are, their default durations, and how a client
//! (a MAC address, or a DHCPv6 DUID) is named. Pure values; enforcement lives in `enforce`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A hardware address (EUI-48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The first 6 bytes of `bytes`, if there are that many.
    pub fn from_slice(bytes: &[u8]) -> Option<Mac> {
        bytes.get(..6)?.try_into().ok().map(Mac)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for Mac {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a MAC address like aa:bb:cc:dd:ee:ff");
        let mut out = [0u8; 6];
        let mut parts = text.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Mac(out))
    }
}

/// Who an action applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    /// A client's hardware address (DHCPv4 chaddr, or the MAC of a DHCPv6 DUID-LL/LLT).
    Mac(Mac),
    /// A DHCPv6 client DUID (raw bytes).
    Duid(Vec<u8>),
}

impl ClientKey {
    /// `aa:bb:cc:dd:ee:ff` or `duid:<hex>` (2 to 130 bytes).
    pub fn parse(text: &str) -> Result<ClientKey, String> {
        let text = text.trim();
        if let Some(hex) = text.strip_prefix("duid:") {
            let bytes =
                crate::hex::decode(hex).ok_or_else(|| format!("{text:?}: the DUID is not hex"))?;
            if !(2..=130).contains(&bytes.len()) {
                return Err(format!("{text:?}: a DUID has 2 to 130 bytes"));
            }
            return Ok(ClientKey::Duid(bytes));
        }
        text.parse().map(ClientKey::Mac).map_err(|e: String| {
            format!("{e}, or a DHCPv6 DUID like duid:0001000112345678aabbccddeeff")
        })
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::Mac(mac) => mac.fmt(f),
            ClientKey::Duid(duid) => write!(f, "duid:{}", crate::hex::encode(duid)),
        }
    }
}

impl Serialize for ClientKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClientKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ClientKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A per-client action (the product's five, docs/shield.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Dropped in the kernel before the queue for a while (default 2 h).
    Block,
    /// Dropped in the kernel indefinitely; generates no events.
    Deny,
    /// Rate-limited in the kernel (default 24 h).
    Throttle,
    /// Trusted: detections skipped (default 30 d).
    Allow,
    /// Recorded and flagged, never hindered (default 7 d).
    Monitor,
}

impl Action {
    /// Every action, in the order the control socket and the page list them.
    pub const ALL: [Action; 5] = [
        Action::Block,
        Action::Deny,
        Action::Throttle,
        Action::Allow,
        Action::Monitor,
    ];

    /// Parses an action's name (`block`, `deny`, `throttle`, `allow`, `monitor`; any case).
    pub fn parse(text: &str) -> Result<Action, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.name() == text.to_ascii_lowercase())
            .ok_or_else(|| format!("{text:?} is not one of block, deny, throttle, allow, monitor"))
    }

    /// The action's name, as the configuration, the socket and the events write it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Deny => "deny",
            Action::Throttle => "throttle",
            Action::Allow => "allow",
            Action::Monitor => "monitor",
        }
    }

    /// The default duration in seconds; `None` is indefinite.
    pub fn default_secs(self) -> Option<u64> {
        match self {
            Action::Block => Some(2 * 3600),
            Action::Deny => None,
            Action::Throttle => Some(24 * 3600),
            Action::Allow => Some(30 * 86400),
            Action::Monitor => Some(7 * 86400),
        }
    }

    /// Whether the kernel drops this client's DHCP before the queue.
    pub fn drops(self) -> bool {
        matches!(self, Action::Block | Action::Deny)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How long an action lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// The action's default duration.
    Default,
    /// This many seconds from when it is set.
    Secs(u64),
    /// Until it is cleared.
    Indefinite,
}

impl Lifetime {
    /// `30s`, `15m`, `2h`, `7d`, a number of seconds, or `indefinite`.
    pub fn parse(text: &str) -> Result<Lifetime, String> {
        Ok(parse_duration(text)?.map_or(Lifetime::Indefinite, Lifetime::Secs))
    }

    /// Seconds for `action`; `None` is indefinite.
    pub fn secs(self, action: Action) -> Option<u64> {
        match self {
            Lifetime::Default => action.default_secs(),
            Lifetime::Secs(s) => Some(s),
            Lifetime::Indefinite => None,
        }
    }
}

/// `30s`, `15m`, `2h`, `7d` or a bare number of seconds → `Some(secs)`; `indefinite` → `None`.
pub fn parse_duration(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text == "indefinite" {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a duration like 30s, 15m, 2h, 7d or indefinite");
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(scale).ok_or_else(bad)?;
    if secs == 0 || secs > 10 * 365 * 86400 {
        return Err(format!("{text:?} must be between 1 s and 10 years"));
    }
    Ok(Some(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_keys() {
        let mac: Mac = "AA-bb-cc-dd-ee-0f".parse().unwrap();
        assert_eq!(mac.to_string(), "aa:bb:cc:dd:ee:0f");
        for bad in [
            "",
            "aa:bb",
            "aa:bb:cc:dd:ee:ff:00",
            "aa:bb:cc:dd:ee:gg",
            "aaa:b:cc:dd:ee:ff",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
        assert_eq!(
            ClientKey::parse("duid:00030001AABBCCDDEEFF")
                .unwrap()
                .to_string(),
            "duid:00030001aabbccddeeff"
        );
        assert!(ClientKey::parse("duid:0").is_err());
        assert!(ClientKey::parse("duid:00").is_err());
    }

    #[test]
    fn actions_and_durations() {
        assert_eq!(Action::parse("Deny"), Ok(Action::Deny));
        assert!(Action::parse("smite").is_err());
        assert_eq!(Action::Block.default_secs(), Some(7200));
        assert_eq!(Action::Deny.default_secs(), None);
        assert_eq!(Action::Throttle.default_secs(), Some(86400));
        assert_eq!(Action::Allow.default_secs(), Some(30 * 86400));
        assert_eq!(Action::Monitor.default_secs(), Some(7 * 86400));
        assert_eq!(parse_duration("90"), Ok(Some(90)));
        assert_eq!(parse_duration("15m"), Ok(Some(900)));
        assert_eq!(parse_duration("2h"), Ok(Some(7200)));
        assert_eq!(parse_duration("7d"), Ok(Some(604800)));
        assert_eq!(parse_duration("indefinite"), Ok(None));
        assert_eq!(
            Lifetime::parse("indefinite").unwrap().secs(Action::Block),
            None
        );
        assert_eq!(Lifetime::Default.secs(Action::Block), Some(7200));
        assert_eq!(Lifetime::parse("1m").unwrap().secs(Action::Deny), Some(60));
        for bad in ["", "0s", "2w", "h", "-1s", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
