//! Writes to client objects and their option tables, turned into new client settings: each
//! value (already checked against its syntax) goes onto a copy of the settings, rows are added
//! and deleted there, and the whole client is then checked (unique keys, complete enabled
//! rows, what the DHCP client can honour) before anything reaches the controller. Pure.

use crate::channels::ClientConfig;
use crate::config::{
    ClientAlias, HexBytes, InterfaceName, OptionCode, ReqOption, Row, SentOption, Table,
    V4ClientConfig, V6ClientConfig, V6SentOption, V4_CLIENT_MANAGED_OPTIONS,
    V6_CLIENT_MANAGED_OPTIONS,
};

/// Definition paths of the objects this module writes.
pub(super) const V4_CLIENT: &str = "Device.DHCPv4.Client.{i}.";
pub(super) const V4_SENT_OPTION: &str = "Device.DHCPv4.Client.{i}.SentOption.{i}.";
pub(super) const V4_REQ_OPTION: &str = "Device.DHCPv4.Client.{i}.ReqOption.{i}.";
pub(super) const V6_CLIENT: &str = "Device.DHCPv6.Client.{i}.";
pub(super) const V6_SENT_OPTION: &str = "Device.DHCPv6.Client.{i}.SentOption.{i}.";

/// Why a write cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WriteError {
    /// The parameter is not one this build writes.
    NotWritable,
    /// The value is well-formed but cannot be used; the text says why.
    Invalid(String),
    /// No such row.
    NoSuchRow,
}

/// Writes `value` (canonical TR-181 form) to `param` of the object `object` (a definition
/// path) of the client, `row` being the row's instance number for a table row.
pub(super) fn write(
    config: &mut ClientConfig,
    object: &str,
    row: Option<u32>,
    param: &str,
    value: &str,
) -> Result<(), WriteError> {
    match (config, object, row) {
        (ClientConfig::V4(c), V4_CLIENT, None) => write_v4_client(c, param, value),
        (ClientConfig::V4(c), V4_SENT_OPTION, Some(row)) => {
            let row = c.sent_options.row_mut(row).ok_or(WriteError::NoSuchRow)?;
            write_row(row, param, value, |item, param, value| match param {
                "Tag" => {
                    item.tag = Some(v4_tag(value)?);
                    Ok(())
                }
                "Value" => {
                    item.value = hex(value)?;
                    Ok(())
                }
                _ => Err(WriteError::NotWritable),
            })
        }
        (ClientConfig::V4(c), V4_REQ_OPTION, Some(instance)) => {
            if param == "Order" {
                let order = number(value)?;
                set_order(&mut c.request_options, instance, order)
            } else {
                let row = c
                    .request_options
                    .row_mut(instance)
                    .ok_or(WriteError::NoSuchRow)?;
                write_row(row, param, value, |item, param, value| match param {
                    "Tag" => {
                        item.tag = Some(v4_tag(value)?);
                        Ok(())
                    }
                    _ => Err(WriteError::NotWritable),
                })
            }
        }
        (ClientConfig::V6(c), V6_CLIENT, None) => write_v6_client(c, param, value),
        (ClientConfig::V6(c), V6_SENT_OPTION, Some(row)) => {
            let row = c.sent_options.row_mut(row).ok_or(WriteError::NoSuchRow)?;
            write_row(row, param, value, |item, param, value| match param {
                "Tag" => {
                    item.tag = Some(v6_tag(value)?);
                    Ok(())
                }
                "Value" => {
                    item.value = hex(value)?;
                    Ok(())
                }
                _ => Err(WriteError::NotWritable),
            })
        }
        _ => Err(WriteError::NotWritable),
    }
}

/// Adds a disabled row to the table `table` (definition path of its rows); returns its
/// instance number. `limit` is the most rows a table may have.
pub(super) fn add_row(
    config: &mut ClientConfig,
    table: &str,
    limit: usize,
) -> Result<u32, WriteError> {
    let full = |len: usize| {
        (len >= limit).then(|| {
            WriteError::Invalid(format!(
                "the table already has the most rows allowed ({limit})"
            ))
        })
    };
    match (config, table) {
        (ClientConfig::V4(c), V4_SENT_OPTION) => {
            full(c.sent_options.len()).map_or(Ok(()), Err)?;
            Ok(c.sent_options.add(SentOption {
                tag: None,
                value: HexBytes(Vec::new()),
            }))
        }
        (ClientConfig::V4(c), V4_REQ_OPTION) => {
            full(c.request_options.len()).map_or(Ok(()), Err)?;
            let last = c.request_options.rows().iter().map(|r| r.item.order).max();
            Ok(c.request_options.add(ReqOption {
                order: last.unwrap_or(0).saturating_add(1),
                tag: None,
            }))
        }
        (ClientConfig::V6(c), V6_SENT_OPTION) => {
            full(c.sent_options.len()).map_or(Ok(()), Err)?;
            Ok(c.sent_options.add(V6SentOption {
                tag: None,
                value: HexBytes(Vec::new()),
            }))
        }
        _ => Err(WriteError::NotWritable),
    }
}

/// Deletes row `row` of the table `table` (definition path of its rows).
pub(super) fn delete_row(
    config: &mut ClientConfig,
    table: &str,
    row: u32,
) -> Result<(), WriteError> {
    let removed = match (config, table) {
        (ClientConfig::V4(c), V4_SENT_OPTION) => c.sent_options.remove(row),
        (ClientConfig::V4(c), V4_REQ_OPTION) => {
            let removed = c.request_options.remove(row);
            compact_order(&mut c.request_options);
            removed
        }
        (ClientConfig::V6(c), V6_SENT_OPTION) => c.sent_options.remove(row),
        _ => return Err(WriteError::NotWritable),
    };
    removed.then_some(()).ok_or(WriteError::NoSuchRow)
}

/// Checks a client's settings as a whole after the writes: returns the parameter (relative to
/// the client object, e.g. `SentOption.2.Tag`) and why, for the first thing wrong.
pub(super) fn check(config: &ClientConfig) -> Result<(), (String, String)> {
    match config {
        ClientConfig::V4(c) => check_v4(c),
        ClientConfig::V6(c) => check_v6(c),
    }
}

fn check_v4(c: &V4ClientConfig) -> Result<(), (String, String)> {
    needs_interface(c.enable, c.interface.as_ref())?;
    unique_aliases("SentOption", c.sent_options.rows())?;
    unique_aliases("ReqOption", c.request_options.rows())?;
    complete_rows("SentOption", c.sent_options.rows(), |o| {
        o.tag.is_some() && !o.value.0.is_empty()
    })?;
    complete_rows("ReqOption", c.request_options.rows(), |o| o.tag.is_some())?;
    unique_tags("SentOption", c.sent_options.rows(), |o| o.tag)?;
    unique_tags("ReqOption", c.request_options.rows(), |o| o.tag)?;
    if c.client_id.is_some() {
        if let Some(row) = c
            .sent_options
            .rows()
            .iter()
            .find(|r| r.enable && r.item.tag == Some(OptionCode(61)))
        {
            return Err((
                format!("SentOption.{}.Tag", row.instance),
                "option 61 conflicts with the configured client identifier".into(),
            ));
        }
    }
    Ok(())
}

fn check_v6(c: &V6ClientConfig) -> Result<(), (String, String)> {
    needs_interface(c.enable, c.interface.as_ref())?;
    unique_aliases("SentOption", c.sent_options.rows())?;
    complete_rows("SentOption", c.sent_options.rows(), |o| {
        o.tag.is_some() && !o.value.0.is_empty()
    })?;
    unique_tags("SentOption", c.sent_options.rows(), |o| o.tag)?;
    if !c.request_addresses && !c.request_prefixes {
        return Err((
            "RequestAddresses".into(),
            "RequestAddresses and RequestPrefixes cannot both be false: there would be nothing to ask for".into(),
        ));
    }
    if let (Some(t1), Some(t2)) = (c.t1, c.t2) {
        if t1 > t2 {
            return Err((
                "SuggestedT1".into(),
                format!("T1 {t1} is larger than T2 {t2}"),
            ));
        }
    }
    Ok(())
}

/// An enabled client needs an interface to run on.
fn needs_interface(
    enable: bool,
    interface: Option<&InterfaceName>,
) -> Result<(), (String, String)> {
    match (enable, interface) {
        (true, None) => Err((
            "Enable".into(),
            "the client has no X_RDK_LinuxInterface to run on; write one first".into(),
        )),
        _ => Ok(()),
    }
}

/// `Alias` is a unique key of every option table.
fn unique_aliases<T>(table: &str, rows: &[Row<T>]) -> Result<(), (String, String)> {
    for (i, row) in rows.iter().enumerate() {
        if rows[..i].iter().any(|r| r.alias == row.alias) {
            return Err((
                format!("{table}.{}.Alias", row.instance),
                format!("another row already has Alias {:?}", row.alias),
            ));
        }
    }
    Ok(())
}

/// `Tag` is a functional unique key: no two enabled rows may have the same.
fn unique_tags<T, C: PartialEq + Copy + std::fmt::Display>(
    table: &str,
    rows: &[Row<T>],
    tag: impl Fn(&T) -> Option<C>,
) -> Result<(), (String, String)> {
    let enabled: Vec<&Row<T>> = rows.iter().filter(|r| r.enable).collect();
    for (i, row) in enabled.iter().enumerate() {
        let Some(code) = tag(&row.item) else { continue };
        if enabled[..i].iter().any(|r| tag(&r.item) == Some(code)) {
            return Err((
                format!("{table}.{}.Tag", row.instance),
                format!("another enabled row already has Tag {code}"),
            ));
        }
    }
    Ok(())
}

/// An enabled row must say what it means.
fn complete_rows<T>(
    table: &str,
    rows: &[Row<T>],
    complete: impl Fn(&T) -> bool,
) -> Result<(), (String, String)> {
    match rows.iter().find(|r| r.enable && !complete(&r.item)) {
        Some(row) => Err((
            format!("{table}.{}.Enable", row.instance),
            "the row cannot be enabled before its Tag (and Value, for a sent option) are set"
                .into(),
        )),
        None => Ok(()),
    }
}

fn write_v4_client(c: &mut V4ClientConfig, param: &str, value: &str) -> Result<(), WriteError> {
    match param {
        "Enable" => c.enable = boolean(value),
        "Alias" => {
            let alias = client_alias(value)?;
            c.renamed = (alias != c.alias).then_some(alias);
        }
        "X_RDK_LinuxInterface" => c.interface = interface(value)?,
        "Interface" => c.interface = interface_reference(value)?,
        _ => return Err(WriteError::NotWritable),
    }
    Ok(())
}

fn write_v6_client(c: &mut V6ClientConfig, param: &str, value: &str) -> Result<(), WriteError> {
    match param {
        "Enable" => c.enable = boolean(value),
        "Alias" => {
            let alias = client_alias(value)?;
            c.renamed = (alias != c.alias).then_some(alias);
        }
        "X_RDK_LinuxInterface" => c.interface = interface(value)?,
        "Interface" => c.interface = interface_reference(value)?,
        "RequestAddresses" => c.request_addresses = boolean(value),
        "RequestPrefixes" => c.request_prefixes = boolean(value),
        "RapidCommit" => c.rapid_commit = boolean(value),
        "SuggestedT1" => c.t1 = suggested_time(value)?,
        "SuggestedT2" => c.t2 = suggested_time(value)?,
        "RequestedOptions" => c.requested_options = requested_options(value)?,
        _ => return Err(WriteError::NotWritable),
    }
    Ok(())
}

/// `Enable` and `Alias` of a row, or what `item_write` makes of the rest.
fn write_row<T>(
    row: &mut Row<T>,
    param: &str,
    value: &str,
    item_write: impl FnOnce(&mut T, &str, &str) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    match param {
        "Enable" => row.enable = boolean(value),
        "Alias" => row.alias = row_alias(value)?,
        _ => return item_write(&mut row.item, param, value),
    }
    Ok(())
}

/// TR-181 `Order` semantics: the row takes `order`; a row already there and every row after
/// it move one down; then the orders are compacted to 1, 2, ….
fn set_order(table: &mut Table<ReqOption>, instance: u32, order: u32) -> Result<(), WriteError> {
    if order == 0 {
        return Err(WriteError::Invalid("Order starts at 1".into()));
    }
    let current = table
        .row(instance)
        .map(|r| r.item.order)
        .ok_or(WriteError::NoSuchRow)?;
    if current == order {
        return Ok(());
    }
    let taken = table
        .rows()
        .iter()
        .any(|r| r.instance != instance && r.item.order == order);
    let others: Vec<u32> = table
        .rows()
        .iter()
        .filter(|r| r.instance != instance && r.item.order >= order)
        .map(|r| r.instance)
        .collect();
    if taken {
        for other in others {
            if let Some(row) = table.row_mut(other) {
                row.item.order = row.item.order.saturating_add(1);
            }
        }
    }
    if let Some(row) = table.row_mut(instance) {
        row.item.order = order;
    }
    compact_order(table);
    Ok(())
}

/// Renumbers the orders 1, 2, … keeping their sequence (ties by instance number).
fn compact_order(table: &mut Table<ReqOption>) {
    let mut sequence: Vec<(u32, u32)> = table
        .rows()
        .iter()
        .map(|r| (r.item.order, r.instance))
        .collect();
    sequence.sort_unstable();
    for ((_, instance), order) in sequence.into_iter().zip(1..) {
        if let Some(row) = table.row_mut(instance) {
            row.item.order = order;
        }
    }
}

fn boolean(value: &str) -> bool {
    value == "true"
}

fn number(value: &str) -> Result<u32, WriteError> {
    value
        .parse()
        .map_err(|_| WriteError::Invalid(format!("{value:?} is not a number")))
}

fn hex(value: &str) -> Result<HexBytes, WriteError> {
    HexBytes::parse(value).map_err(WriteError::Invalid)
}

fn client_alias(value: &str) -> Result<ClientAlias, WriteError> {
    ClientAlias::new(value).map_err(WriteError::Invalid)
}

/// `X_RDK_LinuxInterface`: an interface name, or empty for none (a client without one cannot
/// be enabled, see [`check`]).
fn interface(value: &str) -> Result<Option<InterfaceName>, WriteError> {
    if value.is_empty() {
        return Ok(None);
    }
    InterfaceName::new(value)
        .map(Some)
        .map_err(WriteError::Invalid)
}

/// `Interface` as RDK-B's WAN Manager writes it: the Linux interface name (`erouter0`), the
/// same setting as `X_RDK_LinuxInterface`. This build does not model `Device.IP.Interface.`,
/// so a reference to one is refused with the reason.
fn interface_reference(value: &str) -> Result<Option<InterfaceName>, WriteError> {
    if value.starts_with("Device.") {
        return Err(WriteError::Invalid(format!(
            "{value:?}: this build does not model Device.IP.Interface; write the Linux \
             interface name (as X_RDK_LinuxInterface)"
        )));
    }
    interface(value)
}

/// A row `Alias` (TR-181 `Alias` type): 1 to 64 characters, starting with a letter.
fn row_alias(value: &str) -> Result<String, WriteError> {
    let starts_with_letter = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || value.chars().count() > 64 {
        return Err(WriteError::Invalid(format!(
            "{value:?} is not an Alias: 1 to 64 characters starting with a letter"
        )));
    }
    Ok(value.to_string())
}

fn v4_tag(value: &str) -> Result<OptionCode, WriteError> {
    let code = u16::try_from(number(value)?)
        .map_err(|_| WriteError::Invalid(format!("{value} is not a DHCPv4 option code")))?;
    let code = OptionCode::new(code).map_err(WriteError::Invalid)?;
    if V4_CLIENT_MANAGED_OPTIONS.contains(&code.0) {
        return Err(WriteError::Invalid(format!(
            "option {code} is put in by udhcpc itself and cannot be set here"
        )));
    }
    Ok(code)
}

fn v6_tag(value: &str) -> Result<u16, WriteError> {
    let code = u16::try_from(number(value)?)
        .map_err(|_| WriteError::Invalid(format!("{value} is not a DHCPv6 option code")))?;
    if V6_CLIENT_MANAGED_OPTIONS.contains(&code) {
        return Err(WriteError::Invalid(format!(
            "option {code} is built by dibbler-client itself and cannot be set here"
        )));
    }
    Ok(code)
}

/// `SuggestedT1`/`SuggestedT2`: -1 leaves the choice to the server.
fn suggested_time(value: &str) -> Result<Option<u32>, WriteError> {
    if value == "-1" {
        return Ok(None);
    }
    number(value).map(Some)
}

/// `RequestedOptions`: distinct option codes 1 to 65535, in the order given.
fn requested_options(value: &str) -> Result<Vec<u16>, WriteError> {
    let mut codes: Vec<u16> = Vec::new();
    for item in value.split(',').filter(|i| !i.is_empty()) {
        let code = number(item)
            .ok()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&c| c != 0)
            .ok_or_else(|| WriteError::Invalid(format!("{item} is not a DHCPv6 option code")))?;
        if codes.contains(&code) {
            return Err(WriteError::Invalid(format!(
                "option {code} is listed twice"
            )));
        }
        codes.push(code);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests;
