//! RBUS lease events: a controller event as WAN Manager's `Device.DHCPvN.Client.{i}.Events`
//! carries it (`IfName`, `MsgType`, `LeaseInfo` from the tree's picture of the client), and
//! publishing it.

use std::collections::BTreeMap;
use std::ffi::{c_int, CStr, CString};
use std::ptr;
use std::sync::PoisonError;

use tracing::{debug, warn};

use super::ffi::{self, Api, Handle};
use super::lease_info::{self, V6Lease};
use super::settings::LeaseInfoVersion;
use crate::model::EventKind;
use crate::snapshot::Instance;
use crate::tr181::service::SharedTree;

/// The last segment of a client's event property.
pub(super) const EVENTS: &str = "Events";

/// A lease event as `Device.DHCPvN.Client.{i}.Events` carries it.
pub(super) struct LeaseEvent {
    pub(super) if_name: String,
    pub(super) msg_type: u32,
    pub(super) lease_info: Option<Vec<u8>>,
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
pub(super) fn msg_type(kind: EventKind) -> Option<u32> {
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

/// The event for a controller `Event` update, with `LeaseInfo` on a lease update.
pub(super) fn lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    object_path: &str,
    kind: EventKind,
    data: &BTreeMap<String, String>,
) -> Option<LeaseEvent> {
    let msg_type = msg_type(kind)?;
    // Start/stop reports carry no data: the C manager sends the configured interface.
    let if_name = data
        .get("interface")
        .cloned()
        .or_else(|| client_of(object_path).and_then(|(v4, i)| configured_interface(tree, v4, i)))
        .unwrap_or_default();
    let lease_info = match (kind, client_of(object_path)) {
        (EventKind::LeaseUpdated, Some((v4, instance))) => {
            lease_bytes(tree, version, v4, instance, &if_name, data)
        }
        _ => None,
    };
    Some(LeaseEvent {
        if_name,
        msg_type,
        lease_info,
    })
}

/// The Linux interface client `instance` is configured on.
fn configured_interface(tree: &SharedTree, v4: bool, instance: Instance) -> Option<String> {
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    let interface = match v4 {
        true => tree.v4_client(instance)?.settings.interface.as_ref(),
        false => tree.v6_client(instance)?.settings.interface.as_ref(),
    };
    interface.map(ToString::to_string)
}

fn lease_bytes(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    v4: bool,
    instance: Instance,
    if_name: &str,
    data: &BTreeMap<String, String>,
) -> Option<Vec<u8>> {
    let LeaseInfoVersion::V1 = version;
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    if v4 {
        let lease = tree.v4_client(instance)?.lease.as_ref()?;
        Some(lease_info::encode_v4(if_name, lease))
    } else {
        let client = tree.v6_client(instance)?;
        let lease = V6Lease {
            address: data.get("address").cloned(),
            prefix: data.get("prefix").cloned(),
            ..V6Lease::default()
        };
        Some(lease_info::encode_v6(if_name, &lease, client.map.as_ref()))
    }
}

/// The current lease of the client whose `Events` property is `name`, as a lease update (what
/// the C manager answers a get of `Events` with); `None` without a lease.
pub(super) fn current_lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    name: &str,
) -> Option<LeaseEvent> {
    let object_path = name.strip_suffix(EVENTS)?.strip_suffix('.')?;
    let (v4, instance) = client_of(object_path)?;
    let if_name = {
        let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
        if v4 {
            let client = tree.v4_client(instance)?;
            client.lease.as_ref()?;
            client.settings.interface.as_ref()?.to_string()
        } else {
            return None;
        }
    };
    let lease_info = lease_bytes(tree, version, v4, instance, &if_name, &Default::default());
    Some(LeaseEvent {
        if_name,
        msg_type: LEASE_UPDATE,
        lease_info,
    })
}

/// Publishes `event` as an RBUS general event named `name`.
pub(super) fn publish(api: &Api, handle: Handle, name: &str, event: &LeaseEvent) {
    let Ok(event_name) = CString::new(name) else {
        return;
    };
    let object = event_object(api, event);
    let mut raw = ffi::Event {
        name: event_name.as_ptr(),
        kind: ffi::EVENT_GENERAL,
        data: object,
    };
    // SAFETY: valid handle; `raw` and the object live across the call.
    let rc = unsafe { (api.publish)(handle, &mut raw) };
    // SAFETY: the object was made by event_object and is released once.
    unsafe { (api.object_release)(object) };
    match rc {
        ffi::ERROR_SUCCESS => debug!(
            event = name,
            msg_type = event.msg_type,
            "RBUS event published"
        ),
        ffi::ERROR_NOSUBSCRIBERS => debug!(event = name, "RBUS event: no subscribers"),
        rc => warn!(event = name, rc, "cannot publish RBUS event"),
    }
}

/// The event's object: `IfName`, `MsgType` and, with a lease, `LeaseInfo`. The caller
/// releases it.
pub(super) fn event_object(api: &Api, event: &LeaseEvent) -> ffi::Object {
    let mut object: ffi::Object = ptr::null_mut();
    // SAFETY: rbusObject_Init writes the new object; each value is released after
    // rbusObject_SetValue took its own reference.
    unsafe {
        (api.object_init)(&mut object, ptr::null());
        let if_name = CString::new(event.if_name.as_str()).unwrap_or_default();
        set_member(api, object, c"IfName", |v| {
            (api.value_set_string)(v, if_name.as_ptr())
        });
        set_member(api, object, c"MsgType", |v| {
            (api.value_set_uint32)(v, event.msg_type)
        });
        if let Some(bytes) = &event.lease_info {
            let len = c_int::try_from(bytes.len()).unwrap_or(0);
            set_member(api, object, c"LeaseInfo", |v| {
                (api.value_set_bytes)(v, bytes.as_ptr(), len)
            });
        }
    }
    object
}

/// # Safety
/// `object` must be a live rbus object.
pub(super) unsafe fn set_member(
    api: &Api,
    object: ffi::Object,
    name: &CStr,
    fill: impl FnOnce(ffi::Value),
) {
    let mut value: ffi::Value = ptr::null_mut();
    (api.value_init)(&mut value);
    fill(value);
    (api.object_set_value)(object, name.as_ptr(), value);
    (api.value_release)(value);
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
