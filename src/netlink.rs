//! The process-wide rtnetlink handle and the few interface changes the daemon makes:
//! IPv4 addresses (adds and deletes both idempotent), MTU, an optional default route.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, CacheInfo};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder};

/// Why an interface change failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("cannot open a netlink socket: {0}")]
    Socket(std::io::Error),
    #[error("netlink refused to {what} on {interface}: {source}")]
    Request {
        what: String,
        interface: String,
        source: rtnetlink::Error,
    },
}

/// One netlink connection for the whole controller.
#[derive(Clone)]
pub struct Net {
    handle: Handle,
}

/// An IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V4Addr {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl std::fmt::Display for V4Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

const EEXIST: i32 = 17;
const ENOENT: i32 = 2;
const EADDRNOTAVAIL: i32 = 99;
const ENODEV: i32 = 19;

impl Net {
    /// Opens the connection and drives it on the current tokio runtime.
    pub fn open() -> Result<Self, NetError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(NetError::Socket)?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// The kernel's index of `interface`.
    pub fn index(interface: &str) -> Result<u32, NetError> {
        nix::net::if_::if_nametoindex(interface)
            .map_err(|_| NetError::NoSuchInterface(interface.to_string()))
    }

    /// Adds `addr` to `interface`; an address already there is success.
    pub async fn add_v4(&self, interface: &str, addr: V4Addr) -> Result<(), NetError> {
        let index = Self::index(interface)?;
        let result = self
            .handle
            .address()
            .add(index, IpAddr::V4(addr.address), addr.prefix_len)
            .execute()
            .await;
        tolerate(result, &[EEXIST]).map_err(|source| NetError::Request {
            what: format!("add {addr}"),
            interface: interface.to_string(),
            source,
        })
    }

    /// Makes the kernel promote a secondary address when the primary of its subnet is deleted
    /// (`promote_secondaries`); without it, removing an old lease's address after adding the
    /// new one in the same subnet would silently take the new one away too.
    pub fn promote_secondaries(interface: &str) -> std::io::Result<()> {
        std::fs::write(
            format!("/proc/sys/net/ipv4/conf/{interface}/promote_secondaries"),
            "1",
        )
    }

    /// Removes `addr` from `interface`; an address (or interface) already gone is success.
    pub async fn del_v4(&self, interface: &str, addr: V4Addr) -> Result<(), NetError> {
        let Ok(index) = Self::index(interface) else {
            return Ok(());
        };
        let mut message = AddressMessage::default();
        message.header.family = rtnetlink::packet_route::AddressFamily::Inet;
        message.header.prefix_len = addr.prefix_len;
        message.header.index = index;
        message
            .attributes
            .push(AddressAttribute::Local(IpAddr::V4(addr.address)));
        message
            .attributes
            .push(AddressAttribute::Address(IpAddr::V4(addr.address)));
        let result = self.handle.address().del(message).execute().await;
        tolerate(result, &[ENOENT, EADDRNOTAVAIL, ENODEV]).map_err(|source| NetError::Request {
            what: format!("delete {addr}"),
            interface: interface.to_string(),
            source,
        })
    }

    /// Puts the IPv6 `address`/128 on `interface` with these lifetimes, or refreshes the
    /// lifetimes of one already there (dibbler-client adds IA_NA addresses itself).
    pub async fn replace_v6(
        &self,
        interface: &str,
        address: Ipv6Addr,
        preferred: u32,
        valid: u32,
    ) -> Result<(), NetError> {
        let index = Self::index(interface)?;
        let mut request = self
            .handle
            .address()
            .add(index, IpAddr::V6(address), 128)
            .replace();
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_preferred = preferred;
        lifetimes.ifa_valid = valid;
        request
            .message_mut()
            .attributes
            .push(AddressAttribute::CacheInfo(lifetimes));
        request.execute().await.map_err(|source| NetError::Request {
            what: format!("configure {address}/128"),
            interface: interface.to_string(),
            source,
        })
    }

    /// Removes the IPv6 `address`/128 from `interface`; one already gone is success.
    pub async fn del_v6(&self, interface: &str, address: Ipv6Addr) -> Result<(), NetError> {
        let Ok(index) = Self::index(interface) else {
            return Ok(());
        };
        let mut message = AddressMessage::default();
        message.header.family = rtnetlink::packet_route::AddressFamily::Inet6;
        message.header.prefix_len = 128;
        message.header.index = index;
        message
            .attributes
            .push(AddressAttribute::Address(IpAddr::V6(address)));
        let result = self.handle.address().del(message).execute().await;
        tolerate(result, &[ENOENT, EADDRNOTAVAIL, ENODEV]).map_err(|source| NetError::Request {
            what: format!("delete {address}/128"),
            interface: interface.to_string(),
            source,
        })
    }

    /// Whether `interface` currently carries `addr`.
    pub async fn has_v4(&self, interface: &str, addr: V4Addr) -> Result<bool, NetError> {
        let index = Self::index(interface)?;
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(IpAddr::V4(addr.address))
            .execute();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(|source| NetError::Request {
                what: "list addresses".into(),
                interface: interface.to_string(),
                source,
            })?
        {
            if msg.header.prefix_len == addr.prefix_len {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The MTU of `interface`.
    pub async fn mtu(&self, interface: &str) -> Result<Option<u32>, NetError> {
        let index = Self::index(interface)?;
        let mut stream = self.handle.link().get().match_index(index).execute();
        let request_error = |source| NetError::Request {
            what: "read link".into(),
            interface: interface.to_string(),
            source,
        };
        while let Some(msg) = stream.try_next().await.map_err(request_error)? {
            for attr in msg.attributes {
                if let LinkAttribute::Mtu(mtu) = attr {
                    return Ok(Some(mtu));
                }
            }
        }
        Ok(None)
    }

    /// Sets the MTU of `interface`.
    pub async fn set_mtu(&self, interface: &str, mtu: u32) -> Result<(), NetError> {
        let index = Self::index(interface)?;
        let message = LinkMessageBuilder::<LinkUnspec>::new()
            .index(index)
            .mtu(mtu)
            .build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|source| NetError::Request {
                what: format!("set MTU {mtu}"),
                interface: interface.to_string(),
                source,
            })
    }

    /// Installs (or replaces) the default route through `gateway` on `interface`.
    pub async fn replace_default_route(
        &self,
        interface: &str,
        gateway: Ipv4Addr,
    ) -> Result<(), NetError> {
        let index = Self::index(interface)?;
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .output_interface(index)
            .gateway(gateway)
            .build();
        self.handle
            .route()
            .add(route)
            .replace()
            .execute()
            .await
            .map_err(|source| NetError::Request {
                what: format!("set default route via {gateway}"),
                interface: interface.to_string(),
                source,
            })
    }
}

fn tolerate(result: Result<(), rtnetlink::Error>, errnos: &[i32]) -> Result<(), rtnetlink::Error> {
    match result {
        Err(rtnetlink::Error::NetlinkError(ref msg))
            if msg
                .code
                .is_some_and(|code| errnos.contains(&code.get().abs())) =>
        {
            Ok(())
        }
        other => other,
    }
}
