//! Why the controller did not do what a plugin message or a start asked: typed, so that the
//! answer to the plugin (refused for good, or "send it again later") follows from the kind, and
//! the text the plugin logs stays what it was.

use crate::config::ClientAlias;
use crate::lease::v4::LeaseError;
use crate::lease::v6::V6LeaseError;
use crate::netlink::NetError;
use crate::persist::PersistError;

/// No configured client matches a plugin message.
#[derive(Debug, thiserror::Error)]
pub(super) enum RouteError {
    /// The message names a client that runs on another interface.
    #[error("{family} client {alias} runs on {runs_on}, not {interface}")]
    WrongInterface {
        /// `DHCPv4` or `DHCPv6`.
        family: &'static str,
        /// The client the message named.
        alias: ClientAlias,
        /// Where that client runs (`no interface` when it has none).
        runs_on: String,
        /// The interface the message came from.
        interface: String,
    },
    /// No client of that alias (or, without one, on that interface).
    #[error("no {family} client {name} configured")]
    NoClient {
        /// `DHCPv4` or `DHCPv6`.
        family: &'static str,
        /// The alias asked for, or the interface.
        name: String,
    },
}

/// The lease is in force but its record could not be written; it is written again at the next
/// chance.
#[derive(Debug, thiserror::Error)]
#[error("the lease is in force but could not be stored: {0}")]
pub(super) struct NotStored(#[source] pub(super) PersistError);

/// Why an event was not acknowledged to the plugin. [`EventError::is_passing`] tells the two
/// answers apart: refused (the same event would be refused again) or passing (the plugin
/// spools it and sends it again).
#[derive(Debug, thiserror::Error)]
pub(super) enum EventError {
    /// Refused: no client for it.
    #[error(transparent)]
    Unrouted(#[from] RouteError),
    /// Refused: the client is disabled.
    #[error("client {0} is disabled; its events are not applied")]
    Disabled(ClientAlias),
    /// Refused: the DHCPv4 lease cannot be used as given.
    #[error(transparent)]
    V4Lease(#[from] LeaseError),
    /// Refused: the DHCPv6 lease cannot be used as given.
    #[error(transparent)]
    V6Lease(#[from] V6LeaseError),
    /// Passing: the kernel refused the address (netlink).
    #[error("cannot configure the address: {0}")]
    Configure(#[source] NetError),
    /// Passing: applied but not stored (a full disk, no file descriptors left).
    #[error(transparent)]
    NotStored(#[from] NotStored),
}

impl EventError {
    /// Whether the reason may pass, so that the plugin should send the event again.
    pub(super) fn is_passing(&self) -> bool {
        matches!(self, Self::Configure(_) | Self::NotStored(_))
    }
}

/// Why a DHCP client could not be started (its `Status` becomes `Error_Misconfigured`).
#[derive(Debug, thiserror::Error)]
pub(super) enum StartError {
    /// dibbler-client's work directory (configuration, DUID) could not be written.
    #[error("cannot prepare dibbler's work directory {dir}: {source}")]
    WorkDir {
        /// The client's work directory.
        dir: std::path::PathBuf,
        /// Why writing it failed.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kernel_and_disk_failures_ask_the_plugin_to_send_again() {
        let alias = ClientAlias::new("wan").unwrap();
        let refused = [
            EventError::from(RouteError::NoClient {
                family: "DHCPv4",
                name: "erouter9".into(),
            }),
            EventError::Disabled(alias.clone()),
            EventError::from(LeaseError::ZeroLeaseTime),
        ];
        for e in &refused {
            assert!(!e.is_passing(), "{e} is refused for good");
        }
        let passing = [
            EventError::Configure(NetError::NoSuchInterface("erouter0".into())),
            EventError::from(NotStored(PersistError::Write {
                path: "/var/lib/dhcpmgr/wan.json".into(),
                source: std::io::Error::from(std::io::ErrorKind::StorageFull),
            })),
        ];
        for e in &passing {
            assert!(e.is_passing(), "{e} may pass");
        }
        assert_eq!(
            refused[1].to_string(),
            "client wan is disabled; its events are not applied"
        );
        assert!(passing[1]
            .to_string()
            .starts_with("the lease is in force but could not be stored: cannot write"));
    }
}
