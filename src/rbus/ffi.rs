//! librbus, loaded at run time: the C types the provider uses (rbus.h, rbus_value.h of
//! rdkcentral/rbus) and a table of the functions, resolved once by `dlopen`. Loading at run
//! time keeps `cargo build` working where librbus is not installed; the image's own librbus
//! then decides the wire format (its `MSG_ROUNDTRIP_TIME` build option changes every frame).

use std::ffi::{c_char, c_int, c_void};

use libloading::Library;

/// Where librbus is looked for: its SONAME, found by the dynamic loader's usual search.
pub(super) const LIBRARY: &str = "librbus.so.0";

pub(super) type Handle = *mut c_void;
pub(super) type Property = *mut c_void;
pub(super) type Value = *mut c_void;
pub(super) type Object = *mut c_void;
pub(super) type RbusError = c_int;

pub(super) const ERROR_SUCCESS: RbusError = 0;
pub(super) const ERROR_BUS_ERROR: RbusError = 1;
pub(super) const ERROR_INVALID_INPUT: RbusError = 2;
pub(super) const ERROR_OUT_OF_RESOURCES: RbusError = 4;
pub(super) const ERROR_ELEMENT_DOES_NOT_EXIST: RbusError = 17;
pub(super) const ERROR_ACCESS_NOT_ALLOWED: RbusError = 18;
pub(super) const ERROR_TIMEOUT: RbusError = 20;
pub(super) const ERROR_NOSUBSCRIBERS: RbusError = 23;
pub(super) const ERROR_NOT_WRITABLE: RbusError = 27;
pub(super) const ERROR_INVALID_PARAMETER_TYPE: RbusError = 29;
pub(super) const ERROR_INVALID_PARAMETER_VALUE: RbusError = 30;

/// `rbusElementType_t`.
pub(super) const ELEMENT_PROPERTY: c_int = 1;
pub(super) const ELEMENT_TABLE: c_int = 2;
pub(super) const ELEMENT_METHOD: c_int = 4;

/// `rbusEventType_t`: `RBUS_EVENT_GENERAL`.
pub(super) const EVENT_GENERAL: c_int = 3;

/// `rbusEventSubAction_t`: `RBUS_EVENT_ACTION_SUBSCRIBE`.
pub(super) const ACTION_SUBSCRIBE: c_int = 0;

pub(super) type GetHandler = unsafe extern "C" fn(Handle, Property, *mut c_void) -> RbusError;
pub(super) type SetHandler =
    unsafe extern "C" fn(Handle, Property, *mut SetHandlerOptions) -> RbusError;
pub(super) type AddRowHandler =
    unsafe extern "C" fn(Handle, *const c_char, *const c_char, *mut u32) -> RbusError;
pub(super) type RemoveRowHandler = unsafe extern "C" fn(Handle, *const c_char) -> RbusError;
pub(super) type EventSubHandler =
    unsafe extern "C" fn(Handle, c_int, *const c_char, *mut c_void, i32, *mut bool) -> RbusError;

pub(super) type MethodHandler =
    unsafe extern "C" fn(Handle, *const c_char, Object, Object, *mut c_void) -> RbusError;

/// `rbusSetHandlerOptions_t`.
#[repr(C)]
pub(super) struct SetHandlerOptions {
    pub commit: bool,
    pub session_id: u32,
    pub requesting_component: *const c_char,
}

/// `rbusCallbackTable_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct CallbackTable {
    pub get: Option<GetHandler>,
    pub set: Option<SetHandler>,
    pub add_row: Option<AddRowHandler>,
    pub remove_row: Option<RemoveRowHandler>,
    pub event_sub: Option<EventSubHandler>,
    pub method: Option<MethodHandler>,
}

/// `rbusDataElement_t`.
#[repr(C)]
pub(super) struct DataElement {
    pub name: *const c_char,
    pub kind: c_int,
    pub callbacks: CallbackTable,
}

/// `rbusEvent_t`.
#[repr(C)]
pub(super) struct Event {
    pub name: *const c_char,
    pub kind: c_int,
    pub data: Object,
}

macro_rules! api {
    ($($field:ident: $symbol:literal => fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The librbus functions the provider calls.
        pub(crate) struct Api {
            $(pub(crate) $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
            _library: Library,
        }

        impl Api {
            /// Loads librbus and resolves every function, or says which is missing.
            pub(crate) fn load() -> Result<Self, libloading::Error> {
                // SAFETY: loading librbus runs only its (trivial) initializers.
                let library = unsafe { Library::new(LIBRARY)? };
                // SAFETY: each symbol has the C signature of rbus.h written here.
                unsafe {
                    Ok(Self {
                        $($field: *library.get(concat!($symbol, "\0").as_bytes())?,)*
                        _library: library,
                    })
                }
            }
        }
    };
}

api! {
    open: "rbus_open" => fn(*mut Handle, *const c_char) -> RbusError;
    close: "rbus_close" => fn(Handle) -> RbusError;
    discover_component_name: "rbus_discoverComponentName" =>
        fn(Handle, c_int, *const *const c_char, *mut c_int, *mut *mut *mut c_char) -> RbusError;
    reg_data_elements: "rbus_regDataElements" => fn(Handle, c_int, *mut DataElement) -> RbusError;
    register_row: "rbusTable_registerRow" => fn(Handle, *const c_char, u32, *const c_char) -> RbusError;
    unregister_row: "rbusTable_unregisterRow" => fn(Handle, *const c_char) -> RbusError;
    publish: "rbusEvent_Publish" => fn(Handle, *mut Event) -> RbusError;
    property_name: "rbusProperty_GetName" => fn(Property) -> *const c_char;
    property_value: "rbusProperty_GetValue" => fn(Property) -> Value;
    property_set_value: "rbusProperty_SetValue" => fn(Property, Value);
    value_init: "rbusValue_Init" => fn(*mut Value) -> Value;
    value_release: "rbusValue_Release" => fn(Value);
    value_to_string: "rbusValue_ToString" => fn(Value, *mut c_char, usize) -> *mut c_char;
    value_set_string: "rbusValue_SetString" => fn(Value, *const c_char);
    value_set_boolean: "rbusValue_SetBoolean" => fn(Value, bool);
    value_set_int32: "rbusValue_SetInt32" => fn(Value, i32);
    value_set_uint32: "rbusValue_SetUInt32" => fn(Value, u32);
    value_set_uint64: "rbusValue_SetUInt64" => fn(Value, u64);
    value_set_bytes: "rbusValue_SetBytes" => fn(Value, *const u8, c_int);
    value_set_object: "rbusValue_SetObject" => fn(Value, Object);
    object_init: "rbusObject_Init" => fn(*mut Object, *const c_char) -> Object;
    object_release: "rbusObject_Release" => fn(Object);
    object_set_value: "rbusObject_SetValue" => fn(Object, *const c_char, Value);
    object_get_properties: "rbusObject_GetProperties" => fn(Object) -> Property;
    object_set_children: "rbusObject_SetChildren" => fn(Object, Object);
    object_set_next: "rbusObject_SetNext" => fn(Object, Object);
    property_get_next: "rbusProperty_GetNext" => fn(Property) -> Property;
}
