//! The TR-181 data model (docs/contracts.md#d-bus) and its D-Bus service: what the TR-181
//! thread ([`crate::tr181_thread`]) serves, and what the RBUS front end ([`crate::rbus`]) serves
//! too. Nothing here runs a thread or knows of RBUS.
//!
//! [`definition`] reads the compiled-in `tr181/dhcpmgr.xml`; [`tree`] is the pure instance tree;
//! [`service`] is the zbus interface; `proxy` is its client side ([`DataModel1Proxy`]);
//! `objects` mirrors each object of the tree as its own D-Bus object with properties.

pub mod definition;
pub mod fault;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub(crate) mod objects;
mod proxy;
pub mod service;
pub mod tree;
pub mod value;

use crate::config::BusChoice;
pub use proxy::DataModel1Proxy;

/// Well-known bus name of the daemon.
pub const BUS_NAME: &str = "org.dhcpmgr";
/// Object path of the data model.
pub const OBJECT_PATH: &str = "/org/dhcpmgr";

/// A connection builder for the chosen bus.
pub fn connection_builder(bus: &BusChoice) -> zbus::Result<zbus::connection::Builder<'static>> {
    match bus {
        BusChoice::System => zbus::connection::Builder::system(),
        BusChoice::Session => zbus::connection::Builder::session(),
        BusChoice::Address(address) => zbus::connection::Builder::address(address.as_str()),
    }
}
