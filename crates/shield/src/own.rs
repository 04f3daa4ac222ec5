//! The gateway's own DHCP servers, which are never a `rogue_server`: replies from the MACs of
//! the shield's interfaces, replies with no source MAC (the gateway's own broadcasts looped
//! back into PREROUTING carry none) from the addresses of those interfaces, and servers the
//! config names in `trusted_servers` (by MAC, or by address). An own address sent from a MAC
//! that is not the gateway's is a LAN host pretending, and stays a rogue. The interfaces'
//! addresses are read again every [`REFRESH`] (they come and go with the LAN's configuration).

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::action::Mac;

/// How often the interfaces' addresses are read again.
pub(crate) const REFRESH: Duration = Duration::from_secs(10);

/// A server the config names as legitimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrustedServer {
    Mac(Mac),
    Ip(IpAddr),
}

impl TrustedServer {
    /// A MAC (`aa:bb:cc:dd:ee:ff`) or an IPv4/IPv6 address.
    pub fn parse(text: &str) -> Result<TrustedServer, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse() {
            return Ok(TrustedServer::Ip(ip));
        }
        text.parse()
            .map(TrustedServer::Mac)
            .map_err(|_| format!("{text:?} is neither a MAC address nor an IP address"))
    }
}

impl fmt::Display for TrustedServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedServer::Mac(m) => m.fmt(f),
            TrustedServer::Ip(ip) => ip.fmt(f),
        }
    }
}

/// The gateway's own MACs and addresses, and the configured servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OwnServers {
    pub macs: HashSet<Mac>,
    pub ips: HashSet<IpAddr>,
    pub trusted: HashSet<TrustedServer>,
}

impl OwnServers {
    /// Whether a server message from `mac` / `ip` is the gateway's own or a configured one.
    pub(crate) fn is_own(&self, mac: Option<Mac>, ip: Option<IpAddr>) -> bool {
        let named = mac.is_some_and(|m| self.trusted.contains(&TrustedServer::Mac(m)))
            || ip.is_some_and(|i| self.trusted.contains(&TrustedServer::Ip(i)));
        let ours = match mac {
            Some(m) => self.macs.contains(&m),
            None => ip.is_some_and(|i| self.ips.contains(&i)),
        };
        named || ours
    }
}

/// [`OwnServers`] kept fresh for a set of interfaces.
#[derive(Debug)]
pub(crate) struct OwnTracker {
    interfaces: Vec<String>,
    own: OwnServers,
    read_at: Option<Instant>,
}

impl OwnTracker {
    pub(crate) fn new(interfaces: Vec<String>, trusted: &[TrustedServer]) -> OwnTracker {
        OwnTracker {
            interfaces,
            own: OwnServers {
                trusted: trusted.iter().copied().collect(),
                ..OwnServers::default()
            },
            read_at: None,
        }
    }

    /// The current view, read again from the kernel if it is older than [`REFRESH`].
    pub(crate) fn get(&mut self, now: Instant) -> &OwnServers {
        if self
            .read_at
            .is_none_or(|t| now.saturating_duration_since(t) >= REFRESH)
        {
            self.read_at = Some(now);
            let (macs, ips) = read_addresses(&self.interfaces);
            self.own.macs = macs;
            self.own.ips = ips;
        }
        &self.own
    }
}

/// The MACs and addresses of `interfaces` (none when they cannot be read).
fn read_addresses(interfaces: &[String]) -> (HashSet<Mac>, HashSet<IpAddr>) {
    let mut macs = HashSet::new();
    let mut ips = HashSet::new();
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return (macs, ips);
    };
    for a in all.filter(|a| interfaces.contains(&a.interface_name)) {
        let Some(address) = a.address else { continue };
        if let Some(mac) = address.as_link_addr().and_then(|l| l.addr()) {
            macs.insert(Mac(mac));
        } else if let Some(v4) = address.as_sockaddr_in() {
            ips.insert(IpAddr::V4(v4.ip()));
        } else if let Some(v6) = address.as_sockaddr_in6() {
            ips.insert(IpAddr::V6(v6.ip()));
        }
    }
    (macs, ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_named_servers_but_not_impostors() {
        let gw_mac = Mac([2, 0, 0, 0, 0, 1]);
        let gw_ip: IpAddr = "192.168.1.1".parse().unwrap();
        let named_mac = Mac([2, 0, 0, 0, 0, 0x20]);
        let named_ip: IpAddr = "fe80::20".parse().unwrap();
        let rogue = Mac([2, 0, 0, 0, 0, 0x66]);
        let own = OwnServers {
            macs: [gw_mac].into(),
            ips: [gw_ip].into(),
            trusted: [TrustedServer::Mac(named_mac), TrustedServer::Ip(named_ip)].into(),
        };
        assert!(own.is_own(Some(gw_mac), Some(gw_ip)));
        assert!(own.is_own(None, Some(gw_ip)), "looped back, no MAC");
        assert!(own.is_own(Some(named_mac), Some("192.168.1.20".parse().unwrap())));
        assert!(own.is_own(Some(rogue), Some(named_ip)), "named by address");
        assert!(
            !own.is_own(Some(rogue), Some(gw_ip)),
            "the gateway's address from a LAN host's MAC is a rogue"
        );
        assert!(!own.is_own(Some(rogue), Some("192.168.1.66".parse().unwrap())));
        assert!(!own.is_own(None, None));
    }

    #[test]
    fn trusted_servers_parse() {
        assert_eq!(
            TrustedServer::parse("02:00:00:00:00:20"),
            Ok(TrustedServer::Mac(Mac([2, 0, 0, 0, 0, 0x20])))
        );
        assert_eq!(
            TrustedServer::parse(" 192.168.1.2 ").map(|t| t.to_string()),
            Ok("192.168.1.2".into())
        );
        assert!(TrustedServer::parse("fe80::1").is_ok());
        assert!(TrustedServer::parse("router").is_err());
    }

    #[test]
    fn loopback_addresses_are_read() {
        let (macs, ips) = read_addresses(&["lo".to_string()]);
        assert!(
            ips.contains(&IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            "{ips:?}"
        );
        assert!(macs.iter().all(|m| m.0 == [0; 6]), "{macs:?}");
    }
}
