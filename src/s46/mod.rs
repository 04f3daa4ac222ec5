//! Softwire46 (RFC 7598) options and the MAP algorithm (RFC 7597 MAP-E, RFC 7599 MAP-T): pure
//! code, no I/O.
//!
//! * [`decode_container`] / [`decode_colon_hex`]: option 94 (MAP-E), 95 (MAP-T) or 96
//!   (Lightweight 4over6) payload → [`S46Container`], with its sub-options 89 (rule), 90 (BR),
//!   91 (DMR), 92 (V4V6 binding) and 93 (port parameters). [`parse_colon_hex`] reads the
//!   `SRV_OPTION<n>=00:59:…` text dibbler-client gives its script.
//! * [`encode_container`]: the inverse, for tests and the fuzz target.
//! * [`compute`]: a MAP container + the delegated prefix → [`MapConfig`] (CE IPv4 address,
//!   PSID, offset, sharing ratio, port ranges, MAP IPv6 address) or a [`MapError`].
//!   [`forward`] maps an IPv4 address and port through a rule (FMR/BR direction) and
//!   [`dmr_address`] embeds an IPv4 address behind the MAP-T DMR (RFC 6052).
//! * [`sysevents`]: the MAP keys of docs/contracts.md#system-events for a [`MapConfig`] (formats in `sysevents.rs`).
//!
//! Validation choices (decoding refuses the whole container on the first violation, as RFC 7598
//! §7 asks a client to discard a container with an unsupported option or invalid value):
//! * every option-len must match its content exactly: no truncation, no trailing bytes;
//! * ranges: ea-len ≤ 48, prefix4-len ≤ 32, prefix6-len ≤ 128, PSID offset ≤ 15, PSID-len ≤ 16,
//!   offset + PSID-len ≤ 16;
//! * IPv6 prefix padding bits (after prefix6-len in the last octet) must be zero; RFC 7598 only
//!   says they are zero-padded, and non-zero bits mean the sender encoded a longer prefix than it
//!   declared, which would pick the wrong BMR. PSID bits after PSID-len likewise, except that a
//!   PSID-len of 0 makes the field "ignored" (§4.5) so it is dropped whatever it holds;
//! * rule IPv4 prefix bits after prefix4-len are cleared, not refused: §4.1 says "ignored by the
//!   receiver";
//! * sub-options: a container, rule or binding accepts only those RFC 7598 lists for it (rule and
//!   binding: at most one S46_PORTPARAMS). Unknown or misplaced options are refused rather than
//!   ignored: §7 makes discarding the container the expected reaction to an unsupported option,
//!   and an unknown sub-option could change what a rule means;
//! * cardinality (§5): MAP-E ≥ 1 rule and ≥ 1 BR; MAP-T ≥ 1 rule, exactly one DMR, no BR;
//!   LW4o6 ≤ 1 binding and ≥ 1 BR;
//! * flags: F is the least significant bit; the 7 reserved bits are kept and ignored.
//!
//! MAP computation choices are documented in `map.rs`; the main ones: the BMR is the longest
//! rule IPv6 prefix covering the delegated prefix (ties between different rules are refused),
//! an explicit PSID must agree with EA-derived PSID bits, a MAP-T DMR must have an RFC 6052
//! length, and k = 0 leaves the CE every port.

mod decode;
mod encode;
mod error;
mod hex;
mod map;
mod options;
mod ports;
mod prefix;
mod rfc6052;
mod sysevents;

#[cfg(test)]
mod tests;

pub use decode::decode_container;
pub use encode::encode_container;
pub use error::{Field, MapError, S46Error};
pub use hex::parse_colon_hex;
pub use map::{compute, forward, MapConfig, DEFAULT_PSID_OFFSET};
pub use options::{
    Lw4o6Container, MapContainer, MapTransport, OptionCode, PortParams, Psid, S46Container,
    S46Rule, V4V6Binding,
};
pub use ports::PortRange;
pub use prefix::{Ipv4Prefix, Ipv6Prefix, PrefixError};
pub use rfc6052::dmr_address;
pub use sysevents::{sysevents, MAP_SYSEVENT_KEYS};

/// [`decode_container`] on dibbler-client's colon-hex rendering of the payload of option `code`
/// (`SRV_OPTION95=00:59:00:15:…`).
pub fn decode_colon_hex(code: u16, text: &str) -> Result<S46Container, S46Error> {
    decode_container(code, &parse_colon_hex(text)?)
}
