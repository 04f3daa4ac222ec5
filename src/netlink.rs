//! The process-wide rtnetlink connection: the few interface changes the daemon makes (IPv4
//! addresses, adds and deletes both idempotent; IA_NA addresses; MTU; an optional default
//! route) and, on the same socket, the link and address notifications
//! (`RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR`) the controller follows the
//! interfaces' readiness with ([`LinkNotifications`], [`Net::dump_links`]).

use crate::model::V4Addr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, CacheInfo};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, MulticastGroup, RouteMessageBuilder};

use crate::link::{parse, LinkEvent};

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
pub(crate) struct Net {
    handle: Handle,
}

const EEXIST: i32 = 17;
const ENOENT: i32 = 2;
const EADDRNOTAVAIL: i32 = 99;
const ENODEV: i32 = 19;

/// The link and address notifications of the connection.
pub(crate) struct LinkNotifications {
    messages: BoxStream<'static, (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
}

/// One notification as the controller takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notification {
    Event(LinkEvent),
    /// The kernel dropped notifications (the socket's buffer overran): dump everything again.
    Resync,
}

impl LinkNotifications {
    /// Notifications that never come (after the connection ended).
    pub(crate) fn ended() -> Self {
        Self {
            messages: futures_util::stream::pending().boxed(),
        }
    }

    /// The next notification that matters; messages that cannot be understood are logged and
    /// skipped (netlink-proto already drops, and logs, datagrams it cannot decode). `None`
    /// once the connection has ended.
    pub(crate) async fn next(&mut self) -> Option<Notification> {
        loop {
            let (message, _) = self.messages.next().await?;
            match message.payload {
                NetlinkPayload::InnerMessage(inner) => match parse::link_event(&inner) {
                    Ok(Some(event)) => return Some(Notification::Event(event)),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "skipping a netlink notification"),
                },
                NetlinkPayload::Overrun(_) => {
                    tracing::warn!("netlink notifications overran; reading the interfaces again");
                    return Some(Notification::Resync);
                }
                other => {
                    tracing::debug!(kind = ?other.message_type(), "skipping a netlink message")
                }
            }
        }
    }
}

impl Net {
    /// Opens the connection, subscribed to link and address notifications, and drives it on
    /// the current tokio runtime.
    pub(crate) fn open() -> Result<(Self, LinkNotifications), NetError> {
        let (connection, handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetError::Socket)?;
        tokio::spawn(connection);
        Ok((
            Self { handle },
            LinkNotifications {
                messages: messages.boxed(),
            },
        ))
    }

    /// Every interface and IPv6 link-local address as it is now.
    pub(crate) async fn dump_links(&self) -> Result<Vec<LinkEvent>, NetError> {
        let dump_error = |what: &str| {
            let what = what.to_string();
            move |source| NetError::Request {
                what,
                interface: "all interfaces".into(),
                source,
            }
        };
        let mut events = Vec::new();
        let mut links = self.handle.link().get().execute();
        while let Some(link) = links.try_next().await.map_err(dump_error("list links"))? {
            match parse::link_event(&RouteNetlinkMessage::NewLink(link)) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "skipping a link in the dump"),
            }
        }
        let mut addresses = self.handle.address().get().execute();
        while let Some(address) = addresses
            .try_next()
            .await
            .map_err(dump_error("list addresses"))?
        {
            match parse::link_event(&RouteNetlinkMessage::NewAddress(address)) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "skipping an address in the dump"),
            }
        }
        Ok(events)
    }

    /// The kernel's index of `interface`.
    pub(crate) fn index(interface: &str) -> Result<u32, NetError> {
        nix::net::if_::if_nametoindex(interface)
            .map_err(|_| NetError::NoSuchInterface(interface.to_string()))
    }

    /// Adds `addr` to `interface`; an address already there is success.
    pub(crate) async fn add_v4(&self, interface: &str, addr: V4Addr) -> Result<(), NetError> {
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
    pub(crate) fn promote_secondaries(interface: &str) -> std::io::Result<()> {
        std::fs::write(
            format!("/proc/sys/net/ipv4/conf/{interface}/promote_secondaries"),
            "1",
        )
    }

    /// Removes `addr` from `interface`; an address (or interface) already gone is success.
    pub(crate) async fn del_v4(&self, interface: &str, addr: V4Addr) -> Result<(), NetError> {
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
    pub(crate) async fn replace_v6(
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
    pub(crate) async fn del_v6(&self, interface: &str, address: Ipv6Addr) -> Result<(), NetError> {
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
    pub(crate) async fn has_v4(&self, interface: &str, addr: V4Addr) -> Result<bool, NetError> {
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
    pub(crate) async fn mtu(&self, interface: &str) -> Result<Option<u32>, NetError> {
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
    pub(crate) async fn set_mtu(&self, interface: &str, mtu: u32) -> Result<(), NetError> {
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
    pub(crate) async fn replace_default_route(
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
