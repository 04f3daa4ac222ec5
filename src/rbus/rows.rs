//! The RBUS table rows: which rows the tree has (`Device.DHCPv4.Client.1.`,
//! `….1.SentOption.2.`) and registering or unregistering them with librbus as it changes.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::ptr;
use std::sync::PoisonError;

use tracing::{debug, warn};

use super::ffi::{self, Api};
use super::provider::Connected;
use crate::tr181::service::SharedTree;

/// The table rows the tree has now: `Device.DHCPv4.Client.1.`, `….1.SentOption.2.`, ….
pub(super) fn tree_rows(tree: &SharedTree) -> BTreeSet<String> {
    let names = tree
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_names("", false)
        .unwrap_or_default();
    names
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| row_parts(name).is_some())
        .collect()
}

/// `Device.DHCPv4.Client.1.` → (`Device.DHCPv4.Client.`, 1).
pub(super) fn row_parts(row: &str) -> Option<(&str, u32)> {
    let trimmed = row.strip_suffix('.')?;
    let (table, instance) = trimmed.rsplit_once('.')?;
    let instance = instance.parse().ok()?;
    Some((&row[..table.len() + 1], instance))
}

/// Registers the rows the tree has gained and unregisters those it lost.
pub(super) fn sync_rows(api: &Api, connected: &mut Connected, tree: &SharedTree) {
    let busy = connected.busy.clone();
    let left_to_librbus = |row: &str| busy.as_deref().is_some_and(|b| row.starts_with(b));
    let wanted: BTreeSet<String> = tree_rows(tree)
        .into_iter()
        .filter(|row| !left_to_librbus(row) || connected.rows.contains(row))
        .collect();
    let gone: Vec<String> = connected.rows.difference(&wanted).cloned().collect();
    for row in gone.iter().rev() {
        if left_to_librbus(row) {
            connected.rows.remove(row);
            continue;
        }
        if let Ok(name) = CString::new(row.as_str()) {
            // SAFETY: valid handle and NUL-terminated name.
            let rc = unsafe { (api.unregister_row)(connected.handle, name.as_ptr()) };
            debug!(row, rc, "unregistered RBUS table row");
        }
        connected.rows.remove(row);
    }
    let new: Vec<String> = wanted.difference(&connected.rows).cloned().collect();
    for row in new {
        let Some((table, instance)) = row_parts(&row) else {
            continue;
        };
        let Ok(table) = CString::new(table) else {
            continue;
        };
        // SAFETY: valid handle and NUL-terminated table name; no alias.
        let rc =
            unsafe { (api.register_row)(connected.handle, table.as_ptr(), instance, ptr::null()) };
        if rc != ffi::ERROR_SUCCESS {
            warn!(row, rc, "cannot register RBUS table row");
        }
        connected.rows.insert(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_from_paths() {
        assert_eq!(
            row_parts("Device.DHCPv4.Client.12."),
            Some(("Device.DHCPv4.Client.", 12))
        );
        assert_eq!(
            row_parts("Device.DHCPv4.Client.1.SentOption.2."),
            Some(("Device.DHCPv4.Client.1.SentOption.", 2))
        );
        assert_eq!(row_parts("Device.DHCPv4.Client.1.Stats."), None);
        assert_eq!(row_parts("Device.DHCPv4.Client.1.Enable"), None);
    }
}
