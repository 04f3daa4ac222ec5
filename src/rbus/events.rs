//! RBUS lease events: a controller event as WAN Manager's `Device.DHCPvN.Client.{i}.Events`
//! carries it ([`LeaseEvent`], `LeaseInfo` as the C struct's bytes), and publishing it.

use std::collections::BTreeMap;
use std::ffi::{c_int, CStr, CString};
use std::ptr;
use std::sync::PoisonError;

use tracing::{debug, warn};

use super::ffi::{self, Api, Handle};
use super::lease_event::LeaseEvent;
use crate::config::LeaseInfoVersion;
use crate::model::EventKind;
use crate::tr181::service::SharedTree;

/// The last segment of a client's event property.
pub(super) const EVENTS: &str = "Events";

/// The event for a controller `Event` update, read from the tree that took it; `None` for an
/// event WAN Manager has no message for.
pub(super) fn lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    object_path: &str,
    kind: EventKind,
    data: &BTreeMap<String, String>,
) -> Option<LeaseEvent> {
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    LeaseEvent::of(&tree, version, object_path, kind, data)
}

/// The current lease of the client whose `Events` property is `name`, as a lease update (what
/// the C manager answers a get of `Events` with); `None` without a lease.
pub(super) fn current_lease_event(
    tree: &SharedTree,
    version: LeaseInfoVersion,
    name: &str,
) -> Option<LeaseEvent> {
    let object_path = name.strip_suffix(EVENTS)?.strip_suffix('.')?;
    let tree = tree.lock().unwrap_or_else(PoisonError::into_inner);
    LeaseEvent::current(&tree, version, object_path)
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
        if let Some(info) = &event.lease_info {
            let bytes = info.to_bytes();
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
