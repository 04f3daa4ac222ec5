//! Encoding [`S46Container`] values back into RFC 7598 payload bytes: the inverse of `decode`,
//! used by tests and the fuzz target to check that what decodes round-trips.
//!
//! Sub-options are written in a fixed order (rules then BRs or the DMR; the binding then BRs),
//! so a payload that lists them in another order (Kea's V1 puts the BR first) round-trips as
//! values, not byte for byte.

use super::options::{
    Lw4o6Container, MapContainer, MapTransport, OptionCode, PortParams, S46Container, S46Rule,
    V4V6Binding,
};
use super::prefix::Ipv6Prefix;

/// The payload (what follows code and option-len) of `container`; its code is
/// [`S46Container::code`].
pub fn encode_container(container: &S46Container) -> Vec<u8> {
    let mut out = Vec::new();
    match container {
        S46Container::Map(MapContainer { rules, transport }) => {
            for r in rules {
                rule(&mut out, r);
            }
            match transport {
                MapTransport::Encapsulation { border_relays } => {
                    for br in border_relays {
                        option(&mut out, OptionCode::BR, &br.octets());
                    }
                }
                MapTransport::Translation { dmr } => {
                    let mut body = vec![dmr.prefix_len()];
                    prefix6(&mut body, dmr);
                    option(&mut out, OptionCode::DMR, &body);
                }
            }
        }
        S46Container::Lw4o6(Lw4o6Container {
            binding,
            border_relays,
        }) => {
            if let Some(b) = binding {
                v4v6bind(&mut out, b);
            }
            for br in border_relays {
                option(&mut out, OptionCode::BR, &br.octets());
            }
        }
    }
    out
}

fn rule(out: &mut Vec<u8>, r: &S46Rule) {
    let mut body = vec![r.flags, r.ea_len, r.ipv4_prefix.prefix_len()];
    body.extend_from_slice(&r.ipv4_prefix.addr().octets());
    body.push(r.ipv6_prefix.prefix_len());
    prefix6(&mut body, &r.ipv6_prefix);
    port_params(&mut body, r.port_params.as_ref());
    option(out, OptionCode::RULE, &body);
}

fn v4v6bind(out: &mut Vec<u8>, b: &V4V6Binding) {
    let mut body = b.ipv4_address.octets().to_vec();
    body.push(b.ipv6_prefix.prefix_len());
    prefix6(&mut body, &b.ipv6_prefix);
    port_params(&mut body, b.port_params.as_ref());
    option(out, OptionCode::V4V6BIND, &body);
}

fn port_params(out: &mut Vec<u8>, params: Option<&PortParams>) {
    if let Some(p) = params {
        let [hi, lo] = p.psid().to_field().to_be_bytes();
        option(
            out,
            OptionCode::PORTPARAMS,
            &[p.offset(), p.psid().bits(), hi, lo],
        );
    }
}

/// The ceil(len / 8) significant octets of `prefix` (its padding bits are zero by invariant).
fn prefix6(out: &mut Vec<u8>, prefix: &Ipv6Prefix) {
    let n = usize::from(prefix.prefix_len()).div_ceil(8);
    out.extend(prefix.addr().octets().into_iter().take(n));
}

/// Appends code, option-len and `body`. Every body built here is at most 41 bytes (a binding
/// with a /128 and port parameters), so option-len cannot overflow.
fn option(out: &mut Vec<u8>, code: OptionCode, body: &[u8]) {
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
}
