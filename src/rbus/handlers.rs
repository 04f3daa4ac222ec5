//! The handlers librbus calls on its own threads: each turns its call into a request for the
//! TR-181 thread, waits for the answer and hands it back in RBUS terms (typed values, RBUS error
//! codes). A multi-parameter set is collected per session until its commit.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::{mpsc as std_mpsc, PoisonError};
use std::time::Duration;

use tracing::info;

use super::events::{event_object, set_member, EVENTS};
use super::ffi::{self, Api, Handle, Property};
use super::provider::{Bridge, Request, BRIDGE};
use crate::tr181::fault::{Fault, FaultKind};

/// How long a handler waits for the TR-181 thread: longer than a write may take the
/// controller (8 s), shorter than an RBUS consumer's default timeout (15 s).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(12);

/// Hands `request` to the TR-181 thread and waits for the answer.
fn ask<T>(make: impl FnOnce(std_mpsc::SyncSender<T>) -> Request) -> Option<T> {
    let bridge = BRIDGE.get()?;
    let (reply, answer) = std_mpsc::sync_channel(1);
    bridge.requests.blocking_send(make(reply)).ok()?;
    answer.recv_timeout(HANDLER_TIMEOUT).ok()
}

/// The RBUS error for a data-model fault.
fn rbus_error(fault: &Fault) -> ffi::RbusError {
    match fault.kind {
        FaultKind::RequestDenied => ffi::ERROR_ACCESS_NOT_ALLOWED,
        FaultKind::InvalidArguments => ffi::ERROR_INVALID_INPUT,
        FaultKind::ResourcesExceeded => ffi::ERROR_OUT_OF_RESOURCES,
        FaultKind::InvalidParameterName => ffi::ERROR_ELEMENT_DOES_NOT_EXIST,
        FaultKind::InvalidParameterType => ffi::ERROR_INVALID_PARAMETER_TYPE,
        FaultKind::InvalidParameterValue => ffi::ERROR_INVALID_PARAMETER_VALUE,
        FaultKind::NotWritable => ffi::ERROR_NOT_WRITABLE,
        // RBUS has no internal-error code of its own; its generic failure is the closest.
        FaultKind::InternalError => ffi::ERROR_BUS_ERROR,
    }
}

/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn text(s: *const c_char) -> Option<String> {
    (!s.is_null()).then(|| CStr::from_ptr(s).to_string_lossy().into_owned())
}

/// The bridge and the name of the property a handler was called for.
///
/// # Safety
/// `property` must be the live property librbus passed to the handler.
unsafe fn named(property: Property) -> Result<(&'static Bridge, String), ffi::RbusError> {
    let bridge = BRIDGE.get().ok_or(ffi::ERROR_BUS_ERROR)?;
    let name = text((bridge.api.property_name)(property)).ok_or(ffi::ERROR_INVALID_INPUT)?;
    Ok((bridge, name))
}

pub(super) unsafe extern "C" fn get_handler(
    _: Handle,
    property: Property,
    _: *mut c_void,
) -> ffi::RbusError {
    let (bridge, name) = match named(property) {
        Ok(named) => named,
        Err(rc) => return rc,
    };
    let api = &bridge.api;
    let mut value: ffi::Value = ptr::null_mut();
    if name.ends_with(EVENTS) {
        let Some(event) = ask(|reply| Request::GetEvents { name, reply }) else {
            return ffi::ERROR_TIMEOUT;
        };
        // Without a lease the property has no value, as with the C manager.
        if let Some(event) = event {
            let object = event_object(api, &event);
            (api.value_init)(&mut value);
            (api.value_set_object)(value, object);
            (api.object_release)(object);
            (api.property_set_value)(property, value);
            (api.value_release)(value);
        }
        return ffi::ERROR_SUCCESS;
    }
    let got = match ask(|reply| Request::Get { name, reply }) {
        Some(Ok(got)) => got,
        Some(Err(fault)) => return rbus_error(&fault),
        None => return ffi::ERROR_TIMEOUT,
    };
    (api.value_init)(&mut value);
    set_typed(api, value, &got.0, &got.1);
    (api.property_set_value)(property, value);
    (api.value_release)(value);
    ffi::ERROR_SUCCESS
}

/// Sets `value` to the TR-181 `text` as the RBUS type matching `type_name`.
///
/// # Safety
/// `value` must be a live rbus value.
unsafe fn set_typed(api: &Api, value: ffi::Value, type_name: &str, text: &str) {
    match type_name {
        "boolean" => (api.value_set_boolean)(value, matches!(text, "true" | "1")),
        "int" => match text.parse() {
            Ok(n) => (api.value_set_int32)(value, n),
            Err(_) => set_string(api, value, text),
        },
        "unsignedInt" => match text.parse() {
            Ok(n) => (api.value_set_uint32)(value, n),
            Err(_) => set_string(api, value, text),
        },
        "unsignedLong" => match text.parse() {
            Ok(n) => (api.value_set_uint64)(value, n),
            Err(_) => set_string(api, value, text),
        },
        _ => set_string(api, value, text),
    }
}

unsafe fn set_string(api: &Api, value: ffi::Value, text: &str) {
    let text = CString::new(text).unwrap_or_default();
    (api.value_set_string)(value, text.as_ptr());
}

pub(super) unsafe extern "C" fn set_handler(
    _: Handle,
    property: Property,
    options: *mut ffi::SetHandlerOptions,
) -> ffi::RbusError {
    let (bridge, name) = match named(property) {
        Ok(named) => named,
        Err(rc) => return rc,
    };
    let api = &bridge.api;
    let raw = (api.value_to_string)((api.property_value)(property), ptr::null_mut(), 0);
    let Some(value) = text(raw) else {
        return ffi::ERROR_INVALID_PARAMETER_VALUE;
    };
    nix::libc::free(raw.cast());
    let (commit, session) = match options.as_ref() {
        Some(o) => (o.commit, o.session_id),
        None => (true, 0),
    };
    // A multi-parameter set arrives one property at a time; all are written together, all
    // or nothing, when the last one (commit) arrives.
    let values = {
        let mut sessions = bridge
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = sessions.entry(session).or_default();
        pending.push((name, value));
        if !commit {
            return ffi::ERROR_SUCCESS;
        }
        sessions.remove(&session).unwrap_or_default()
    };
    match ask(|reply| Request::Set { values, reply }) {
        Some(Ok(())) => ffi::ERROR_SUCCESS,
        Some(Err(fault)) => {
            info!(error = %fault, "RBUS set refused");
            rbus_error(&fault)
        }
        None => ffi::ERROR_TIMEOUT,
    }
}

pub(super) unsafe extern "C" fn add_row_handler(
    _: Handle,
    table: *const c_char,
    _alias: *const c_char,
    instance: *mut u32,
) -> ffi::RbusError {
    let Some(table) = text(table) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    match ask(|reply| Request::AddRow { table, reply }) {
        Some(Ok(n)) => {
            if !instance.is_null() {
                *instance = n;
            }
            ffi::ERROR_SUCCESS
        }
        Some(Err(fault)) => rbus_error(&fault),
        None => ffi::ERROR_TIMEOUT,
    }
}

pub(super) unsafe extern "C" fn remove_row_handler(
    _: Handle,
    row: *const c_char,
) -> ffi::RbusError {
    let Some(mut row) = text(row) else {
        return ffi::ERROR_INVALID_INPUT;
    };
    if !row.ends_with('.') {
        row.push('.');
    }
    match ask(|reply| Request::RemoveRow { row, reply }) {
        Some(Ok(())) => ffi::ERROR_SUCCESS,
        Some(Err(fault)) => rbus_error(&fault),
        None => ffi::ERROR_TIMEOUT,
    }
}

/// `CCSP_COMMON_COMPONENT_HEALTH_Green`: what `waitConditionReady` waits for.
const HEALTH_GREEN: i32 = 3;

pub(super) unsafe extern "C" fn health_handler(
    _: Handle,
    _method: *const c_char,
    _in: ffi::Object,
    out: ffi::Object,
    _async: *mut c_void,
) -> ffi::RbusError {
    let Some(bridge) = BRIDGE.get() else {
        return ffi::ERROR_BUS_ERROR;
    };
    if !out.is_null() {
        let api = &bridge.api;
        set_member(api, out, c"status", |v| {
            (api.value_set_int32)(v, HEALTH_GREEN)
        });
    }
    ffi::ERROR_SUCCESS
}

/// `enum access_e` of CCSP's `parameterAttributeStruct_t`: `CCSP_RO`, `CCSP_RW`.
const ACCESS_READ_ONLY: i32 = 0;
const ACCESS_READ_WRITE: i32 = 1;

/// `<component>.GetAttributes()`, what common-library's `CcspBaseIf_getParameterAttributes`
/// invokes: the input's property names are parameters or partial paths; the output is an
/// int32 `size`, then one child object per parameter named by it, with `notificationChanged`,
/// `notification`, `access`, `accessControlChanged`, `accessControlBitmask`, `RequesterID` in
/// that order (the caller reads them by position). dhcpmgr keeps no notification attributes
/// (it sends no CCSP value-change signals; RBUS consumers subscribe instead), so notification
/// is off everywhere; access is the data model's.
pub(super) unsafe extern "C" fn get_attributes_handler(
    _: Handle,
    _method: *const c_char,
    input: ffi::Object,
    out: ffi::Object,
    _async: *mut c_void,
) -> ffi::RbusError {
    let Some(bridge) = BRIDGE.get() else {
        return ffi::ERROR_BUS_ERROR;
    };
    let api = &bridge.api;
    let mut names = Vec::new();
    let mut property = match input.is_null() {
        true => ptr::null_mut(),
        false => (api.object_get_properties)(input),
    };
    while !property.is_null() {
        names.extend(text((api.property_name)(property)));
        property = (api.property_get_next)(property);
    }
    if names.is_empty() || out.is_null() {
        return ffi::ERROR_INVALID_INPUT;
    }
    let parameters = match ask(|reply| Request::Attributes { names, reply }) {
        None => return ffi::ERROR_TIMEOUT,
        Some(Err(fault)) => return rbus_error(&fault),
        Some(Ok(parameters)) => parameters,
    };
    let Ok(size) = i32::try_from(parameters.len()) else {
        return ffi::ERROR_OUT_OF_RESOURCES;
    };
    set_member(api, out, c"size", |v| (api.value_set_int32)(v, size));
    let (mut first, mut previous): (ffi::Object, ffi::Object) = (ptr::null_mut(), ptr::null_mut());
    for (name, writable) in &parameters {
        let Ok(name) = CString::new(name.as_str()) else {
            continue;
        };
        let mut child: ffi::Object = ptr::null_mut();
        (api.object_init)(&mut child, name.as_ptr());
        let access = match writable {
            true => ACCESS_READ_WRITE,
            false => ACCESS_READ_ONLY,
        };
        set_member(api, child, c"notificationChanged", |v| {
            (api.value_set_boolean)(v, false)
        });
        set_member(api, child, c"notification", |v| {
            (api.value_set_boolean)(v, false)
        });
        set_member(api, child, c"access", |v| (api.value_set_int32)(v, access));
        set_member(api, child, c"accessControlChanged", |v| {
            (api.value_set_boolean)(v, false)
        });
        set_member(api, child, c"accessControlBitmask", |v| {
            (api.value_set_uint32)(v, 0)
        });
        set_member(api, child, c"RequesterID", |v| (api.value_set_uint32)(v, 0));
        // As common-library builds the list: the first child is kept, each next one is
        // linked to its predecessor (which takes a reference) and released.
        if first.is_null() {
            first = child;
        } else {
            (api.object_set_next)(previous, child);
            (api.object_release)(child);
        }
        previous = child;
    }
    if !first.is_null() {
        (api.object_set_children)(out, first);
        (api.object_release)(first);
    }
    ffi::ERROR_SUCCESS
}

pub(super) unsafe extern "C" fn subscribe_handler(
    _: Handle,
    action: c_int,
    event: *const c_char,
    _filter: *mut c_void,
    _interval: i32,
    auto_publish: *mut bool,
) -> ffi::RbusError {
    let name = text(event).unwrap_or_default();
    // Parameters: librbus polls the get handler and publishes value changes itself. Events:
    // published by the daemon when the controller reports them.
    if !auto_publish.is_null() {
        *auto_publish = !name.ends_with(EVENTS);
    }
    let subscribed = action == ffi::ACTION_SUBSCRIBE;
    info!(event = name, subscribed, "RBUS subscription");
    ffi::ERROR_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_map_to_rbus_errors() {
        let e = |kind| rbus_error(&Fault::new(kind, "x"));
        assert_eq!(e(FaultKind::NotWritable), ffi::ERROR_NOT_WRITABLE);
        assert_eq!(
            e(FaultKind::InvalidParameterName),
            ffi::ERROR_ELEMENT_DOES_NOT_EXIST
        );
        assert_eq!(
            e(FaultKind::InvalidParameterValue),
            ffi::ERROR_INVALID_PARAMETER_VALUE
        );
    }
}
