//! `[sysevent] profile`: which system events dhcpmgr sets. What each profile sets, and in
//! which order, is the system-event emitter's (`crate::sysevent`).

/// Which system events dhcpmgr sets (`[sysevent] profile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Every key of docs/contracts.md#system-events: for a box without WAN Manager.
    #[default]
    Standalone,
    /// Only the keys RDK's C DHCP manager sets, in its order; WAN Manager sets the rest
    /// (`ipv4_IF_ipaddr/subnet/gw_0/dns_*`, `wan6_ns`, MAP) from the lease event.
    RdkWanManager,
}

impl Profile {
    /// `standalone` or `rdk-wanmanager`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "standalone" => Some(Self::Standalone),
            "rdk-wanmanager" => Some(Self::RdkWanManager),
            _ => None,
        }
    }
}
