//! What the dhcpmgr daemon and its DHCP shield (`dhcpmgr-shield`) both stand on, and nothing
//! else: the one stop signal ([`StopToken`]), the directory of JSON records ([`StateStore`]),
//! the log-line limit for input from outside ([`LogLimit`], [`LogLimiter`]), the validated
//! Linux interface name ([`InterfaceName`]) and the configuration's uniqueness check
//! ([`all_unique`]).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod interface;
pub mod log_limit;
pub mod persist;
pub mod stop;
pub mod unique;

pub use interface::InterfaceName;
pub use log_limit::{LogLimit, LogLimiter};
pub use persist::{PersistError, StateStore};
pub use stop::StopToken;
pub use unique::all_unique;
