//! Why S46 option bytes were refused ([`S46Error`]) and why a MAP configuration could not be
//! computed from a valid container ([`MapError`]). Every variant names the option, field or
//! parameter at fault so the reason can be logged and reported as is.

use std::fmt;

use super::options::{OptionCode, Psid};
use super::prefix::{Ipv4Prefix, Ipv6Prefix};

/// A field of an S46 option, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// S46_RULE ea-len.
    EaLen,
    /// S46_RULE prefix4-len.
    Prefix4Len,
    /// prefix6-len of S46_RULE, dmr-prefix6-len of S46_DMR, bindprefix6-len of S46_V4V6BIND.
    Prefix6Len,
    /// The IPv6 prefix bytes (right-padded to an octet boundary).
    Ipv6Prefix,
    /// S46_PORTPARAMS offset.
    PsidOffset,
    /// S46_PORTPARAMS PSID-len.
    PsidLen,
    /// S46_PORTPARAMS PSID.
    Psid,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EaLen => "ea-len",
            Self::Prefix4Len => "prefix4-len",
            Self::Prefix6Len => "prefix6-len",
            Self::Ipv6Prefix => "IPv6 prefix",
            Self::PsidOffset => "PSID offset",
            Self::PsidLen => "PSID-len",
            Self::Psid => "PSID",
        })
    }
}

/// Why S46 option bytes (or their colon-hex text) were refused. The whole container is
/// discarded (RFC 7598 §7); the daemon logs the message as the `reason` of its "ignoring the
/// MAP configuration" warning (prefixed `option <code>: `) and sets none of the MAP system events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S46Error {
    /// The text is not colon-separated hex octets.
    #[error("colon-hex octet {index}: {reason}")]
    Hex {
        /// The 0-based position of the offending group between colons.
        index: usize,
        /// What is wrong with it: not a hex digit, empty, or not exactly two digits.
        reason: &'static str,
    },
    /// `decode_container` was given a code other than 94, 95 or 96.
    #[error("{0} is not an S46 container option (94, 95 or 96)")]
    NotAContainer(OptionCode),
    /// 1 to 3 bytes are left after the last option inside `parent`.
    #[error("{remaining} trailing byte(s) in {parent}, too short for an option header")]
    TrailingBytes {
        /// The container, rule or binding whose payload has the leftover bytes.
        parent: OptionCode,
        /// How many bytes are left (1 to 3: fewer than the 4-byte code + option-len header).
        remaining: usize,
    },
    /// An option inside `parent` claims more bytes than `parent` has left.
    #[error("{option} in {parent} claims {declared} byte(s) but only {available} remain")]
    Truncated {
        /// The enclosing container, rule or binding.
        parent: OptionCode,
        /// The code of the option whose option-len overruns.
        option: OptionCode,
        /// Its option-len, in bytes.
        declared: usize,
        /// The bytes of `parent` left after that option's header.
        available: usize,
    },
    /// A fixed-size or length-implied option has the wrong option-len.
    #[error("{option} option-len is {actual}, expected {expected}")]
    Length {
        /// S46_BR (16 bytes), S46_PORTPARAMS (4) or S46_DMR (1 + ceil(len / 8)).
        option: OptionCode,
        /// The option-len its fields imply, in bytes.
        expected: usize,
        /// The option-len received, in bytes.
        actual: usize,
    },
    /// An option is shorter than its fixed part.
    #[error("{option} option-len is {actual}, at least {min} needed")]
    TooShort {
        /// S46_RULE, S46_DMR or S46_V4V6BIND.
        option: OptionCode,
        /// The bytes its fixed fields and declared prefix need.
        min: usize,
        /// The bytes it has.
        actual: usize,
    },
    /// A field is outside its range.
    #[error("{option} {field} is {value}, more than {max}")]
    OutOfRange {
        /// The option carrying the field.
        option: OptionCode,
        /// Which field: ea-len, prefix4-len, prefix6-len, PSID offset or PSID-len.
        field: Field,
        /// The value received.
        value: u8,
        /// The largest value allowed (48, 32, 128, 15 or 16).
        max: u8,
    },
    /// PSID offset + PSID-len exceed the 16 bits of a port.
    #[error("S46_PORTPARAMS (93) offset {offset} + PSID-len {psid_len} is more than 16 bits")]
    PortBitsOverflow {
        /// The PSID offset `a`, in bits.
        offset: u8,
        /// The PSID length `k`, in bits.
        psid_len: u8,
    },
    /// Padding bits after a prefix or PSID are not zero.
    #[error("{option} {field} has non-zero bits after its first {len}")]
    NonZeroPadding {
        /// The option carrying the field.
        option: OptionCode,
        /// [`Field::Ipv6Prefix`] or [`Field::Psid`].
        field: Field,
        /// The declared length in bits (prefix6-len or PSID-len) after which bits must be 0.
        len: u8,
    },
    /// An option that `parent` may not carry (unknown, or known but misplaced).
    #[error("{option} is not allowed in {parent}")]
    Unexpected {
        /// The container, rule or binding it was found in.
        parent: OptionCode,
        /// The refused option's code.
        option: OptionCode,
    },
    /// Too few or too many of an option in `parent`.
    #[error("{parent} must carry {expected} {option}, found {found}")]
    Cardinality {
        /// The container, rule or binding.
        parent: OptionCode,
        /// The option counted (S46_RULE, S46_BR, S46_DMR, S46_V4V6BIND or S46_PORTPARAMS).
        option: OptionCode,
        /// What RFC 7598 §5 asks for: "at least one", "exactly one" or "at most one".
        expected: &'static str,
        /// How many there are.
        found: usize,
    },
}

/// Why no MAP configuration could be computed from a valid container and the delegated prefix
/// (or why [`forward`](super::forward) cannot map an address). The daemon logs the message as the
/// `reason` of its "ignoring the MAP configuration" warning (prefixed `MAP: `) and sets none of
/// the MAP system events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// No rule's IPv6 prefix covers the delegated prefix.
    #[error("no mapping rule covers the delegated prefix {0}")]
    NoMatchingRule(Ipv6Prefix),
    /// Two rules with the same IPv6 prefix both match, so the BMR is ambiguous.
    #[error("more than one mapping rule has the IPv6 prefix {0}")]
    AmbiguousRule(Ipv6Prefix),
    /// The delegated prefix is shorter than rule prefix + EA bits.
    #[error("delegated prefix {delegated} is shorter than rule prefix length + EA-len = {needed}")]
    EndUserPrefixTooShort {
        /// The prefix the CE was delegated (IA_PD).
        delegated: Ipv6Prefix,
        /// The length it must have at least: the BMR's prefix6-len + ea-len, in bits.
        needed: u32,
    },
    /// EA-len + prefix4-len < 32: the CE would get an IPv4 prefix, which is not supported.
    #[error("EA-len {ea_len} + prefix4-len {prefix4_len} < 32 delegates an IPv4 prefix, not an address (unsupported)")]
    Ipv4PrefixDelegation {
        /// The rule's ea-len, in bits.
        ea_len: u8,
        /// The rule's prefix4-len, in bits.
        prefix4_len: u8,
    },
    /// The PSID would be longer than 16 bits.
    #[error(
        "PSID length {psid_len} (EA-len {ea_len} - (32 - prefix4-len {prefix4_len})) exceeds 16"
    )]
    PsidTooLong {
        /// The PSID length the EA bits imply, ea-len - (32 - prefix4-len), in bits.
        psid_len: u32,
        /// The rule's ea-len, in bits.
        ea_len: u8,
        /// The rule's prefix4-len, in bits.
        prefix4_len: u8,
    },
    /// PSID offset + PSID length exceed the 16 bits of a port.
    #[error("PSID offset {offset} + PSID length {psid_len} exceed 16 bits")]
    PortBitsOverflow {
        /// The PSID offset `a` in force (S46_PORTPARAMS, or the default 6), in bits.
        offset: u8,
        /// The PSID length `k` in force, in bits.
        psid_len: u8,
    },
    /// S46_PORTPARAMS carries an explicit PSID that differs from the one in the EA bits.
    #[error("explicit PSID {explicit_value}/{explicit_len} contradicts PSID {derived_value}/{derived_len} from the EA bits")]
    PsidConflict {
        /// The PSID in S46_PORTPARAMS (right-aligned).
        explicit_value: u16,
        /// Its PSID-len, in bits.
        explicit_len: u8,
        /// The PSID taken from the delegated prefix's EA bits (right-aligned).
        derived_value: u16,
        /// Its length, ea-len - (32 - prefix4-len), in bits.
        derived_len: u8,
    },
    /// A DMR prefix length that RFC 6052 / RFC 7599 §5.1 cannot embed an IPv4 address behind.
    #[error(
        "DMR prefix length {0} is not one of 32, 40, 48, 56, 64, 96 (RFC 6052 §2.2, RFC 7599 §5.1)"
    )]
    DmrLength(u8),
    /// The IPv4 address is not inside the rule's IPv4 prefix.
    #[error("{addr} is not inside the rule IPv4 prefix {rule}")]
    Ipv4OutsideRule {
        /// The address [`forward`](super::forward) was asked to map.
        addr: std::net::Ipv4Addr,
        /// The rule's IPv4 prefix.
        rule: Ipv4Prefix,
    },
    /// Rule IPv6 prefix length + EA-len exceed 128 bits.
    #[error("rule IPv6 prefix {rule} + EA-len {ea_len} exceed 128 bits")]
    EaBitsBeyond128 {
        /// The rule's IPv6 prefix.
        rule: Ipv6Prefix,
        /// The rule's ea-len, in bits.
        ea_len: u8,
    },
    /// The port lies in the range excluded by the PSID offset (A = 0).
    #[error("port {port} is in the excluded range of PSID offset {offset}")]
    PortExcluded {
        /// The port [`forward`](super::forward) was asked to map: below 2^(16 - offset).
        port: u16,
        /// The PSID offset `a`, in bits.
        offset: u8,
    },
}

impl MapError {
    /// The conflict between an explicit PSID and one derived from EA bits.
    pub(crate) fn psid_conflict(explicit: Psid, derived: Psid) -> Self {
        Self::PsidConflict {
            explicit_value: explicit.value(),
            explicit_len: explicit.bits(),
            derived_value: derived.value(),
            derived_len: derived.bits(),
        }
    }
}
