//! Strict decoding of S46 container payloads (RFC 7598 §4–§5) into [`S46Container`].
//!
//! Every option-len must match its content exactly, every field must be in range, padding bits
//! must be zero, only the sub-options RFC 7598 lists for a parent are accepted and the
//! container cardinalities of §5 are enforced. The first violation is returned; nothing is
//! partially decoded. The rule IPv4 prefix is the one exception to "reject what is not clean":
//! RFC 7598 §4.1 says its bits after prefix4-len are "ignored by the receiver", so they are
//! cleared.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{Field, S46Error};
use super::options::{
    Lw4o6Container, MapContainer, MapTransport, OptionCode, PortParams, Psid, S46Container,
    S46Rule, V4V6Binding,
};
use super::prefix::{mask32, Ipv4Prefix, Ipv6Prefix, PrefixError};

/// One option: its code and the option-len bytes after the header.
struct Tlv<'a> {
    code: OptionCode,
    body: &'a [u8],
}

/// Decodes the payload (the bytes after code and option-len) of option `code`, which must be
/// 94 (S46_CONT_MAPE), 95 (S46_CONT_MAPT) or 96 (S46_CONT_LW).
pub fn decode_container(code: u16, payload: &[u8]) -> Result<S46Container, S46Error> {
    let parent = OptionCode(code);
    let options = split_options(parent, payload)?;
    match parent {
        OptionCode::CONT_MAPE | OptionCode::CONT_MAPT => map_container(parent, &options),
        OptionCode::CONT_LW => lw_container(&options),
        _ => Err(S46Error::NotAContainer(parent)),
    }
}

/// Splits `bytes` into options; they must fill it exactly.
fn split_options(parent: OptionCode, mut rest: &[u8]) -> Result<Vec<Tlv<'_>>, S46Error> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((&[c0, c1, l0, l1], after)) = rest.split_first_chunk::<4>() else {
            return Err(S46Error::TrailingBytes {
                parent,
                remaining: rest.len(),
            });
        };
        let code = OptionCode(u16::from_be_bytes([c0, c1]));
        let declared = usize::from(u16::from_be_bytes([l0, l1]));
        let Some((body, next)) = after.split_at_checked(declared) else {
            return Err(S46Error::Truncated {
                parent,
                option: code,
                declared,
                available: after.len(),
            });
        };
        out.push(Tlv { code, body });
        rest = next;
    }
    Ok(out)
}

fn map_container(parent: OptionCode, options: &[Tlv<'_>]) -> Result<S46Container, S46Error> {
    let mut rules = Vec::new();
    let mut border_relays = Vec::new();
    let mut dmrs = Vec::new();
    for tlv in options {
        match tlv.code {
            OptionCode::RULE => rules.push(rule(tlv.body)?),
            OptionCode::BR if parent == OptionCode::CONT_MAPE => border_relays.push(br(tlv.body)?),
            OptionCode::DMR if parent == OptionCode::CONT_MAPT => dmrs.push(dmr(tlv.body)?),
            option => return Err(S46Error::Unexpected { parent, option }),
        }
    }
    at_least_one(parent, OptionCode::RULE, rules.len())?;
    let transport = if parent == OptionCode::CONT_MAPE {
        at_least_one(parent, OptionCode::BR, border_relays.len())?;
        MapTransport::Encapsulation { border_relays }
    } else {
        match dmrs.as_slice() {
            [dmr] => MapTransport::Translation { dmr: *dmr },
            _ => {
                return Err(S46Error::Cardinality {
                    parent,
                    option: OptionCode::DMR,
                    expected: "exactly one",
                    found: dmrs.len(),
                })
            }
        }
    };
    Ok(S46Container::Map(MapContainer { rules, transport }))
}

fn lw_container(options: &[Tlv<'_>]) -> Result<S46Container, S46Error> {
    let parent = OptionCode::CONT_LW;
    let mut bindings = Vec::new();
    let mut border_relays = Vec::new();
    for tlv in options {
        match tlv.code {
            OptionCode::V4V6BIND => bindings.push(v4v6bind(tlv.body)?),
            OptionCode::BR => border_relays.push(br(tlv.body)?),
            option => return Err(S46Error::Unexpected { parent, option }),
        }
    }
    let found = bindings.len();
    let mut bindings = bindings.into_iter();
    let binding = bindings.next();
    if bindings.next().is_some() {
        return Err(S46Error::Cardinality {
            parent,
            option: OptionCode::V4V6BIND,
            expected: "at most one",
            found,
        });
    }
    at_least_one(parent, OptionCode::BR, border_relays.len())?;
    Ok(S46Container::Lw4o6(Lw4o6Container {
        binding,
        border_relays,
    }))
}

fn at_least_one(parent: OptionCode, option: OptionCode, found: usize) -> Result<(), S46Error> {
    if found == 0 {
        return Err(S46Error::Cardinality {
            parent,
            option,
            expected: "at least one",
            found,
        });
    }
    Ok(())
}

/// S46_RULE: flags, ea-len, prefix4-len, ipv4-prefix, prefix6-len, ipv6-prefix, options.
fn rule(body: &[u8]) -> Result<S46Rule, S46Error> {
    let option = OptionCode::RULE;
    let Some((&[flags, ea_len, prefix4_len, a, b, c, d, prefix6_len], rest)) =
        body.split_first_chunk::<8>()
    else {
        return Err(too_short(option, 8, body.len()));
    };
    if ea_len > 48 {
        return Err(out_of_range(option, Field::EaLen, ea_len, 48));
    }
    if prefix4_len > 32 {
        return Err(out_of_range(option, Field::Prefix4Len, prefix4_len, 32));
    }
    let ipv4 = u32::from_be_bytes([a, b, c, d]) & mask32(prefix4_len);
    let ipv4_prefix = Ipv4Prefix::new(Ipv4Addr::from(ipv4), prefix4_len)
        .map_err(|_| out_of_range(option, Field::Prefix4Len, prefix4_len, 32))?;
    let (ipv6_prefix, rest) = prefix6(option, prefix6_len, rest, 8)?;
    let port_params = port_params_in(option, rest)?;
    Ok(S46Rule {
        flags,
        ea_len,
        ipv4_prefix,
        ipv6_prefix,
        port_params,
    })
}

/// S46_BR: one IPv6 address.
fn br(body: &[u8]) -> Result<Ipv6Addr, S46Error> {
    let octets: [u8; 16] = body.try_into().map_err(|_| S46Error::Length {
        option: OptionCode::BR,
        expected: 16,
        actual: body.len(),
    })?;
    Ok(Ipv6Addr::from(octets))
}

/// S46_DMR: dmr-prefix6-len and exactly ceil(len / 8) prefix bytes.
fn dmr(body: &[u8]) -> Result<Ipv6Prefix, S46Error> {
    let option = OptionCode::DMR;
    let Some((&len, rest)) = body.split_first() else {
        return Err(too_short(option, 1, 0));
    };
    let (prefix, rest) = prefix6(option, len, rest, 1)?;
    if !rest.is_empty() {
        return Err(S46Error::Length {
            option,
            expected: body.len() - rest.len(),
            actual: body.len(),
        });
    }
    Ok(prefix)
}

/// S46_V4V6BIND: ipv4-address, bindprefix6-len, bind-ipv6-prefix, options.
fn v4v6bind(body: &[u8]) -> Result<V4V6Binding, S46Error> {
    let option = OptionCode::V4V6BIND;
    let Some((&[a, b, c, d, prefix6_len], rest)) = body.split_first_chunk::<5>() else {
        return Err(too_short(option, 5, body.len()));
    };
    let (ipv6_prefix, rest) = prefix6(option, prefix6_len, rest, 5)?;
    Ok(V4V6Binding {
        ipv4_address: Ipv4Addr::new(a, b, c, d),
        ipv6_prefix,
        port_params: port_params_in(option, rest)?,
    })
}

/// The sub-options of a rule or binding: nothing, or one S46_PORTPARAMS.
fn port_params_in(parent: OptionCode, bytes: &[u8]) -> Result<Option<PortParams>, S46Error> {
    let options = split_options(parent, bytes)?;
    let mut found = None;
    for tlv in &options {
        if tlv.code != OptionCode::PORTPARAMS {
            return Err(S46Error::Unexpected {
                parent,
                option: tlv.code,
            });
        }
        if found.is_some() {
            return Err(S46Error::Cardinality {
                parent,
                option: OptionCode::PORTPARAMS,
                expected: "at most one",
                found: options.len(),
            });
        }
        found = Some(port_params(tlv.body)?);
    }
    Ok(found)
}

/// S46_PORTPARAMS: offset, PSID-len, left-aligned PSID.
fn port_params(body: &[u8]) -> Result<PortParams, S46Error> {
    let &[offset, psid_len, hi, lo] = <&[u8; 4]>::try_from(body).map_err(|_| S46Error::Length {
        option: OptionCode::PORTPARAMS,
        expected: 4,
        actual: body.len(),
    })?;
    let psid = Psid::from_field(u16::from_be_bytes([hi, lo]), psid_len)?;
    PortParams::new(offset, psid)
}

/// The `len`-bit IPv6 prefix at the start of `bytes` (ceil(len / 8) octets, zero-padded) and
/// what follows it. `fixed` is the size of the option's fields before `bytes`, for the error.
fn prefix6(
    option: OptionCode,
    len: u8,
    bytes: &[u8],
    fixed: usize,
) -> Result<(Ipv6Prefix, &[u8]), S46Error> {
    if len > 128 {
        return Err(out_of_range(option, Field::Prefix6Len, len, 128));
    }
    let n = usize::from(len).div_ceil(8);
    let Some((prefix, rest)) = bytes.split_at_checked(n) else {
        return Err(too_short(option, fixed + n, fixed + bytes.len()));
    };
    let mut octets = [0u8; 16];
    for (dst, src) in octets.iter_mut().zip(prefix) {
        *dst = *src;
    }
    let prefix = Ipv6Prefix::new(Ipv6Addr::from(octets), len).map_err(|e| match e {
        PrefixError::HostBits { .. } => S46Error::NonZeroPadding {
            option,
            field: Field::Ipv6Prefix,
            len,
        },
        PrefixError::Length { .. } | PrefixError::Syntax(_) => {
            out_of_range(option, Field::Prefix6Len, len, 128)
        }
    })?;
    Ok((prefix, rest))
}

fn too_short(option: OptionCode, min: usize, actual: usize) -> S46Error {
    S46Error::TooShort {
        option,
        min,
        actual,
    }
}

fn out_of_range(option: OptionCode, field: Field, value: u8, max: u8) -> S46Error {
    S46Error::OutOfRange {
        option,
        field,
        value,
        max,
    }
}
