//! The stream page's server: [`http`] (request heads, routes, responses), [`protocol`] (the
//! WebSocket messages), [`session`] (one WebSocket), [`assets`] (the embedded page),
//! [`fuzzing`] (the protocol's fuzz entry point) and
//! [`server`] (the listener, token check and connection limits).

pub(crate) mod assets;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub(crate) mod http;
pub(crate) mod protocol;
pub mod server;
pub(crate) mod session;
