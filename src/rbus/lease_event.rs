//! A client's lease event as WAN Manager knows it (`DhcpMgr_PublishDhcpV4Event` / `…V6Event`):
//! `IfName`, `MsgType` and, on a lease update, `LeaseInfo` built from the tree's picture of the
//! client. One source for both front ends: the RBUS `Events` property carries `LeaseInfo` as the
//! C struct's bytes, the D-Bus `Event` signal carries the same fields as named values.

use std::collections::BTreeMap;

use super::lease_info::{self, LeaseInfo, V6Lease};
use crate::config::LeaseInfoVersion;
use crate::model::EventKind;
use crate::model::Instance;
use crate::tr181::tree::Tree;

/// A lease event as `Device.DHCPvN.Client.{i}.Events` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseEvent {
    pub if_name: String,
    pub msg_type: u32,
    /// On a lease update only.
    pub lease_info: Option<LeaseInfo>,
}

impl LeaseEvent {
    /// The event for a controller `Event` update of `object_path` (`Device.DHCPv4.Client.1`),
    /// read after the tree took the update that came with it; `None` for an event WAN Manager
    /// has no message for.
    pub(crate) fn of(
        tree: &Tree,
        version: LeaseInfoVersion,
        object_path: &str,
        kind: EventKind,
        data: &BTreeMap<String, String>,
    ) -> Option<LeaseEvent> {
        let msg_type = msg_type(kind)?;
        let client = client_of(object_path);
        // Start/stop reports carry no data: the C manager sends the configured interface.
        let if_name = data
            .get("interface")
            .cloned()
            .or_else(|| client.and_then(|(v4, i)| configured_interface(tree, v4, i)))
            .unwrap_or_default();
        let lease_info = match (kind, client) {
            (EventKind::LeaseUpdated, Some((v4, instance))) => {
                lease_info(tree, version, v4, instance, &if_name)
            }
            _ => None,
        };
        Some(LeaseEvent {
            if_name,
            msg_type,
            lease_info,
        })
    }

    /// The current lease of the client at `object_path` as a lease update (what the C manager
    /// answers a get of `Events` with); `None` without a lease.
    #[cfg(feature = "rbus")]
    pub(crate) fn current(
        tree: &Tree,
        version: LeaseInfoVersion,
        object_path: &str,
    ) -> Option<LeaseEvent> {
        let (v4, instance) = client_of(object_path)?;
        let if_name = configured_interface(tree, v4, instance)?;
        Some(LeaseEvent {
            lease_info: Some(lease_info(tree, version, v4, instance, &if_name)?),
            if_name,
            msg_type: LEASE_UPDATE,
        })
    }

    /// The event as named values: `IfName`, `MsgType` and each `LeaseInfo` field as
    /// `LeaseInfo.<field>` (`LeaseInfo.mapInfo.psid`, …).
    pub(crate) fn named(&self) -> Vec<(String, String)> {
        let mut named = vec![
            ("IfName".to_string(), self.if_name.clone()),
            ("MsgType".to_string(), self.msg_type.to_string()),
        ];
        if let Some(info) = &self.lease_info {
            named.extend(
                info.named()
                    .into_iter()
                    .map(|(field, value)| (format!("LeaseInfo.{field}"), value)),
            );
        }
        named
    }
}

/// `Device.DHCPv4.Client.3` → (v4?, 3).
pub(super) fn client_of(object_path: &str) -> Option<(bool, Instance)> {
    let (family, instance) = object_path
        .strip_prefix("Device.DHCPv4.Client.")
        .map(|i| (true, i))
        .or_else(|| {
            object_path
                .strip_prefix("Device.DHCPv6.Client.")
                .map(|i| (false, i))
        })?;
    Some((
        family,
        Instance(instance.trim_end_matches('.').parse().ok()?),
    ))
}

/// `DHCP_MESSAGE_TYPE` of a lease update.
const LEASE_UPDATE: u32 = 3;

/// WAN Manager's `DHCP_MESSAGE_TYPE` for an event kind; `None` for events WAN Manager has no
/// message for (system events behind or caught up).
fn msg_type(kind: EventKind) -> Option<u32> {
    match kind {
        EventKind::ClientStarted => Some(0),
        EventKind::ClientStopped => Some(1),
        // The C manager reports a client enabled on a not-ready interface as failed; dhcpmgr
        // waits and starts it once the interface is ready (ClientStarted follows).
        EventKind::ClientFailed | EventKind::ClientWaiting => Some(2),
        EventKind::LeaseUpdated => Some(LEASE_UPDATE),
        EventKind::LeaseDeleted => Some(4),
        EventKind::LeaseRenewed => Some(5),
        EventKind::SysEventsBehind | EventKind::SysEventsCaughtUp => None,
    }
}

/// The Linux interface client `instance` is configured on.
fn configured_interface(tree: &Tree, v4: bool, instance: Instance) -> Option<String> {
    let interface = match v4 {
        true => tree.v4_client(instance)?.settings.interface.as_ref(),
        false => tree.v6_client(instance)?.settings.interface.as_ref(),
    };
    interface.map(ToString::to_string)
}

/// `LeaseInfo` of the lease client `instance` holds; `None` without one.
fn lease_info(
    tree: &Tree,
    version: LeaseInfoVersion,
    v4: bool,
    instance: Instance,
    if_name: &str,
) -> Option<LeaseInfo> {
    let LeaseInfoVersion::V1 = version;
    if v4 {
        let lease = tree.v4_client(instance)?.lease.as_ref()?;
        Some(lease_info::v4(if_name, lease))
    } else {
        let client = tree.v6_client(instance)?;
        if client.addresses.is_empty() && client.prefixes.is_empty() {
            return None;
        }
        Some(lease_info::v6(
            if_name,
            &V6Lease::of(client),
            client.map.as_ref(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_read_from_paths() {
        assert_eq!(
            client_of("Device.DHCPv4.Client.3"),
            Some((true, Instance(3)))
        );
        assert_eq!(
            client_of("Device.DHCPv6.Client.1"),
            Some((false, Instance(1)))
        );
        assert_eq!(client_of("Device.MAP."), None);
    }

    #[test]
    fn message_types_follow_wan_managers_enum() {
        let kinds = [
            EventKind::ClientStarted,
            EventKind::ClientStopped,
            EventKind::ClientFailed,
            EventKind::LeaseUpdated,
            EventKind::LeaseDeleted,
            EventKind::LeaseRenewed,
        ];
        let types: Vec<Option<u32>> = kinds.into_iter().map(msg_type).collect();
        assert_eq!(types, [0, 1, 2, 3, 4, 5].map(Some));
    }

    #[test]
    fn a_waiting_client_is_failed_for_wan_manager_and_sysevent_backlogs_are_not_sent() {
        assert_eq!(msg_type(EventKind::ClientWaiting), Some(2));
        assert_eq!(msg_type(EventKind::SysEventsBehind), None);
        assert_eq!(msg_type(EventKind::SysEventsCaughtUp), None);
    }
}
