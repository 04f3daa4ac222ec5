//! The interfaces as rtnetlink tells them (pure): per interface whether it exists, is
//! administratively up, has carrier, and which IPv6 link-local addresses it holds and whether
//! they finished duplicate address detection; and from that, what a client waits for before
//! its DHCP client can start ([`Links::waiting_for`]). The netlink subscription that feeds it
//! lives at the edge ([`crate::netlink`]); [`parse`] turns its messages into [`LinkEvent`]s.

pub(crate) mod parse;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::model::Waiting;

/// One change rtnetlink reported, as the readiness logic needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// The interface exists with these flags (new, changed or renamed).
    Link {
        index: u32,
        name: String,
        admin_up: bool,
        carrier: bool,
    },
    /// The interface is gone.
    LinkGone { index: u32 },
    /// An IPv6 link-local address is on the interface; `usable` once DAD has finished (not
    /// tentative, not failed).
    LinkLocal {
        index: u32,
        address: Ipv6Addr,
        usable: bool,
    },
    /// An IPv6 link-local address left the interface.
    LinkLocalGone { index: u32, address: Ipv6Addr },
}

/// One interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Link {
    pub name: String,
    pub admin_up: bool,
    pub carrier: bool,
    /// Link-local addresses, each with whether DAD has finished.
    link_local: BTreeMap<Ipv6Addr, bool>,
}

impl Link {
    /// Whether a link-local address that finished DAD is present.
    pub(crate) fn has_usable_link_local(&self) -> bool {
        self.link_local.values().any(|&usable| usable)
    }
}

/// Every interface by kernel index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Links {
    by_index: BTreeMap<u32, Link>,
}

impl Links {
    /// Applies one change. An address for an interface not seen yet is kept under its index
    /// until the interface's own message names it.
    pub(crate) fn apply(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Link {
                index,
                name,
                admin_up,
                carrier,
            } => {
                let link = self.by_index.entry(index).or_default();
                link.name = name;
                link.admin_up = admin_up;
                link.carrier = carrier;
                if !admin_up {
                    // The kernel flushes IPv6 addresses when the link goes down; its
                    // address notifications may come after this one.
                    link.link_local.clear();
                }
            }
            LinkEvent::LinkGone { index } => {
                self.by_index.remove(&index);
            }
            LinkEvent::LinkLocal {
                index,
                address,
                usable,
            } => {
                self.by_index
                    .entry(index)
                    .or_default()
                    .link_local
                    .insert(address, usable);
            }
            LinkEvent::LinkLocalGone { index, address } => {
                if let Some(link) = self.by_index.get_mut(&index) {
                    link.link_local.remove(&address);
                }
            }
        }
    }

    /// Starts over from a full dump.
    pub(crate) fn reset(&mut self, events: impl IntoIterator<Item = LinkEvent>) {
        self.by_index.clear();
        for event in events {
            self.apply(event);
        }
    }

    /// The interface called `name`, if it exists.
    pub(crate) fn get(&self, name: &str) -> Option<&Link> {
        self.by_index.values().find(|l| l.name == name)
    }

    /// What a client on `name` waits for: the interface, then it up with carrier, then (when
    /// `needs_link_local`, DHCPv6) a link-local address past DAD. `None`: ready.
    pub(crate) fn waiting_for(&self, name: &str, needs_link_local: bool) -> Option<Waiting> {
        let Some(link) = self.get(name) else {
            return Some(Waiting::Interface(name.to_string()));
        };
        if !(link.admin_up && link.carrier) {
            Some(Waiting::Carrier(name.to_string()))
        } else if needs_link_local && !link.has_usable_link_local() {
            Some(Waiting::LinkLocal(name.to_string()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, admin_up: bool, carrier: bool) -> LinkEvent {
        LinkEvent::Link {
            index,
            name: name.into(),
            admin_up,
            carrier,
        }
    }

    fn ll(index: u32, usable: bool) -> LinkEvent {
        LinkEvent::LinkLocal {
            index,
            address: "fe80::1".parse().unwrap(),
            usable,
        }
    }

    #[test]
    fn a_missing_interface_is_waited_for_then_carrier_then_link_local() {
        let mut links = Links::default();
        let wait = |links: &Links, v6| links.waiting_for("erouter0", v6);
        assert_eq!(
            wait(&links, false),
            Some(Waiting::Interface("erouter0".into()))
        );
        links.apply(link(7, "erouter0", true, false));
        assert_eq!(
            wait(&links, false),
            Some(Waiting::Carrier("erouter0".into()))
        );
        links.apply(link(7, "erouter0", true, true));
        assert_eq!(wait(&links, false), None);
        assert_eq!(
            wait(&links, true),
            Some(Waiting::LinkLocal("erouter0".into()))
        );
        links.apply(ll(7, false));
        assert_eq!(
            wait(&links, true),
            Some(Waiting::LinkLocal("erouter0".into()))
        );
        links.apply(ll(7, true));
        assert_eq!(wait(&links, true), None);
    }

    #[test]
    fn admin_down_forgets_link_local_addresses_and_carrier_loss_keeps_them() {
        let mut links = Links::default();
        links.apply(link(7, "erouter0", true, true));
        links.apply(ll(7, true));
        links.apply(link(7, "erouter0", true, false));
        assert_eq!(
            links.waiting_for("erouter0", true),
            Some(Waiting::Carrier("erouter0".into()))
        );
        links.apply(link(7, "erouter0", true, true));
        assert_eq!(links.waiting_for("erouter0", true), None);
        links.apply(link(7, "erouter0", false, false));
        links.apply(link(7, "erouter0", true, true));
        assert_eq!(
            links.waiting_for("erouter0", true),
            Some(Waiting::LinkLocal("erouter0".into()))
        );
    }

    #[test]
    fn a_rename_is_the_old_name_gone_and_the_new_one_there() {
        let mut links = Links::default();
        links.apply(link(7, "eth1", true, true));
        links.apply(link(7, "erouter0", true, true));
        assert_eq!(
            links.waiting_for("eth1", false),
            Some(Waiting::Interface("eth1".into()))
        );
        assert_eq!(links.waiting_for("erouter0", false), None);
    }

    #[test]
    fn a_deleted_interface_and_its_addresses_are_gone() {
        let mut links = Links::default();
        links.apply(ll(7, true));
        links.apply(link(7, "erouter0", true, true));
        assert_eq!(links.waiting_for("erouter0", true), None);
        links.apply(LinkEvent::LinkGone { index: 7 });
        assert!(links.get("erouter0").is_none());
        links.apply(link(8, "erouter0", true, true));
        assert_eq!(
            links.waiting_for("erouter0", true),
            Some(Waiting::LinkLocal("erouter0".into()))
        );
        links.apply(ll(8, true));
        assert_eq!(links.waiting_for("erouter0", true), None);
        links.apply(LinkEvent::LinkLocalGone {
            index: 8,
            address: "fe80::1".parse().unwrap(),
        });
        assert_eq!(
            links.waiting_for("erouter0", true),
            Some(Waiting::LinkLocal("erouter0".into()))
        );
    }
}
