//! Whether the broker still routes the data model to this provider. librbus reconnects its
//! socket by itself after `rtrouted` restarts, but not the element registrations (rtrouted
//! forgets them, and librbus re-adds only its listeners), so a provider whose broker restarted
//! looks connected and answers nothing. The check asks the broker who provides one of the
//! registered elements (`rbus_discoverComponentName`, what `CcspBaseIf_discComponentSupportingNamespace`
//! calls) and looks for this component in the answer.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::Mutex;

use super::ffi::{self, Api, Handle};

/// Held while a check uses the handle; whoever closes the handle takes it first.
pub(super) static IN_USE: Mutex<()> = Mutex::new(());

/// The element asked about: registered by every dhcpmgr, whatever its rows.
pub(super) const PROBE_ELEMENT: &CStr = c"Device.DHCPv4.ClientNumberOfEntries";

/// Whether the broker names `component` as the provider of [`PROBE_ELEMENT`]. `false` too when
/// the broker does not answer (librbus then reports no component).
pub(super) fn registered(api: &Api, handle: Handle, component: &str) -> bool {
    let names = [PROBE_ELEMENT.as_ptr()];
    let mut count: c_int = 0;
    let mut found: *mut *mut c_char = ptr::null_mut();
    // SAFETY: valid handle; librbus writes `count` and a malloc'd array of malloc'd strings
    // to `found`, which are freed below.
    let rc =
        unsafe { (api.discover_component_name)(handle, 1, names.as_ptr(), &mut count, &mut found) };
    let mut ours = false;
    if !found.is_null() {
        for i in 0..usize::try_from(count).unwrap_or(0) {
            // SAFETY: `found` has `count` entries, each NULL or a NUL-terminated string.
            unsafe {
                let name = *found.add(i);
                if !name.is_null() {
                    ours |= CStr::from_ptr(name).to_bytes() == component.as_bytes();
                    nix::libc::free(name.cast());
                }
            }
        }
        // SAFETY: the array librbus allocated, freed once.
        unsafe { nix::libc::free(found.cast()) };
    }
    rc == ffi::ERROR_SUCCESS && ours
}
