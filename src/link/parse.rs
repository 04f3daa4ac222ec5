//! rtnetlink messages to [`LinkEvent`]s (pure): link messages carry the name and the
//! `IFF_UP`/`IFF_LOWER_UP` flags, IPv6 address messages the link-local addresses and whether
//! DAD is still under way (`IFA_F_TENTATIVE`, `IFA_F_DADFAILED`, in the header or, for the
//! full 32 bits, in `IFA_FLAGS`). Everything else is of no interest.

use std::net::{IpAddr, Ipv6Addr};

use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::LinkEvent;

/// Why a message of a kind the daemon follows could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LinkParseError {
    #[error("link message for index {0} carries no interface name")]
    NoName(u32),
    #[error("IPv6 address message for index {0} carries no address")]
    NoAddress(u32),
}

/// The event in `message`; `Ok(None)` for messages the readiness logic does not follow (other
/// kinds, IPv4 or global IPv6 addresses).
pub(crate) fn link_event(
    message: &RouteNetlinkMessage,
) -> Result<Option<LinkEvent>, LinkParseError> {
    match message {
        RouteNetlinkMessage::NewLink(link) => link_state(link).map(Some),
        RouteNetlinkMessage::DelLink(link) => Ok(Some(LinkEvent::LinkGone {
            index: link.header.index,
        })),
        RouteNetlinkMessage::NewAddress(address) => {
            Ok(link_local(address)?.map(|a| LinkEvent::LinkLocal {
                index: address.header.index,
                address: a,
                usable: finished_dad(address),
            }))
        }
        RouteNetlinkMessage::DelAddress(address) => {
            Ok(link_local(address)?.map(|a| LinkEvent::LinkLocalGone {
                index: address.header.index,
                address: a,
            }))
        }
        _ => Ok(None),
    }
}

fn link_state(link: &LinkMessage) -> Result<LinkEvent, LinkParseError> {
    let index = link.header.index;
    let name = link
        .attributes
        .iter()
        .find_map(|attr| match attr {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
        .ok_or(LinkParseError::NoName(index))?;
    let flags = link.header.flags;
    Ok(LinkEvent::Link {
        index,
        name,
        admin_up: flags.contains(LinkFlags::Up),
        carrier: flags.contains(LinkFlags::LowerUp) || flags.contains(LinkFlags::Running),
    })
}

/// The IPv6 link-local address of `message`, if it is one.
fn link_local(message: &AddressMessage) -> Result<Option<Ipv6Addr>, LinkParseError> {
    if message.header.family != AddressFamily::Inet6 {
        return Ok(None);
    }
    let address = message
        .attributes
        .iter()
        .find_map(|attr| match attr {
            AddressAttribute::Address(IpAddr::V6(a)) | AddressAttribute::Local(IpAddr::V6(a)) => {
                Some(*a)
            }
            _ => None,
        })
        .ok_or(LinkParseError::NoAddress(message.header.index))?;
    Ok(((address.segments()[0] & 0xffc0) == 0xfe80).then_some(address))
}

/// Whether the address finished duplicate address detection.
fn finished_dad(message: &AddressMessage) -> bool {
    let full = message.attributes.iter().find_map(|attr| match attr {
        AddressAttribute::Flags(flags) => Some(*flags),
        _ => None,
    });
    match full {
        Some(flags) => !flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
        None => !message
            .header
            .flags
            .intersects(AddressHeaderFlags::Tentative | AddressHeaderFlags::Dadfailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_message(index: u32, name: Option<&str>, flags: LinkFlags) -> RouteNetlinkMessage {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = flags;
        if let Some(name) = name {
            link.attributes.push(LinkAttribute::IfName(name.into()));
        }
        RouteNetlinkMessage::NewLink(link)
    }

    fn address_message(address: &str, flags: Option<AddressFlags>) -> AddressMessage {
        let mut message = AddressMessage::default();
        message.header.index = 7;
        let ip: IpAddr = address.parse().unwrap();
        message.header.family = match ip {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.attributes.push(AddressAttribute::Address(ip));
        if let Some(flags) = flags {
            message.attributes.push(AddressAttribute::Flags(flags));
        }
        message
    }

    #[test]
    fn link_flags_give_admin_state_and_carrier() {
        let up = link_message(7, Some("erouter0"), LinkFlags::Up | LinkFlags::LowerUp);
        assert_eq!(
            link_event(&up),
            Ok(Some(LinkEvent::Link {
                index: 7,
                name: "erouter0".into(),
                admin_up: true,
                carrier: true
            }))
        );
        let no_carrier = link_message(7, Some("erouter0"), LinkFlags::Up);
        assert!(matches!(
            link_event(&no_carrier),
            Ok(Some(LinkEvent::Link {
                admin_up: true,
                carrier: false,
                ..
            }))
        ));
    }

    #[test]
    fn a_link_message_without_a_name_is_refused() {
        let nameless = link_message(9, None, LinkFlags::Up);
        assert_eq!(link_event(&nameless), Err(LinkParseError::NoName(9)));
    }

    #[test]
    fn tentative_link_local_is_not_usable_until_dad_ends() {
        let tentative = address_message("fe80::2", Some(AddressFlags::Tentative));
        assert_eq!(
            link_event(&RouteNetlinkMessage::NewAddress(tentative)),
            Ok(Some(LinkEvent::LinkLocal {
                index: 7,
                address: "fe80::2".parse().unwrap(),
                usable: false
            }))
        );
        let failed = address_message("fe80::2", Some(AddressFlags::Dadfailed));
        assert!(matches!(
            link_event(&RouteNetlinkMessage::NewAddress(failed)),
            Ok(Some(LinkEvent::LinkLocal { usable: false, .. }))
        ));
        let mut header_only = address_message("fe80::2", None);
        header_only.header.flags = AddressHeaderFlags::Tentative;
        assert!(matches!(
            link_event(&RouteNetlinkMessage::NewAddress(header_only)),
            Ok(Some(LinkEvent::LinkLocal { usable: false, .. }))
        ));
        let done = address_message("fe80::2", Some(AddressFlags::Permanent));
        assert!(matches!(
            link_event(&RouteNetlinkMessage::NewAddress(done)),
            Ok(Some(LinkEvent::LinkLocal { usable: true, .. }))
        ));
    }

    #[test]
    fn global_and_ipv4_addresses_are_of_no_interest() {
        for address in ["2001:db8::1", "192.0.2.10"] {
            let message = RouteNetlinkMessage::NewAddress(address_message(address, None));
            assert_eq!(link_event(&message), Ok(None), "{address}");
        }
        let gone = RouteNetlinkMessage::DelAddress(address_message("fe80::2", None));
        assert_eq!(
            link_event(&gone),
            Ok(Some(LinkEvent::LinkLocalGone {
                index: 7,
                address: "fe80::2".parse().unwrap()
            }))
        );
    }

    #[test]
    fn an_ipv6_address_message_without_an_address_is_refused() {
        let mut empty = AddressMessage::default();
        empty.header.family = AddressFamily::Inet6;
        empty.header.index = 3;
        assert_eq!(
            link_event(&RouteNetlinkMessage::NewAddress(empty)),
            Err(LinkParseError::NoAddress(3))
        );
    }
}
