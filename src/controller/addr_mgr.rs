//! dibbler-client's `client-AddrMgr.xml` (pure, strict): the IA_NA addresses and delegated
//! prefixes it holds, with what is left of their lifetimes. dibbler-client runs no script for a
//! rapid-commit REPLY but writes this file after every change, so the daemon takes such a lease
//! from here. Anything that is not the expected shape (truncated, oversized, unknown values) is
//! refused as a whole.

use std::net::Ipv6Addr;

use dhcpmgr_ipc::{V6Address, V6Prefix};
use roxmltree::{Document, Node};

/// The name of the file in dibbler-client's work directory.
pub(super) const FILE_NAME: &str = "client-AddrMgr.xml";

/// A larger file is not dibbler's (a few IAs take a few KiB).
const MAX_BYTES: usize = 64 * 1024;

/// Why the file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum AddrMgrError {
    #[error("the file is {0} bytes, more than dibbler writes")]
    TooLarge(usize),
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("the root element is <{0}>, not <AddrMgr>")]
    Root(String),
    #[error("<{element}> has no valid {what}")]
    Missing {
        element: &'static str,
        what: &'static str,
    },
}

/// The bindings the file holds for one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Bindings {
    pub addresses: Vec<V6Address>,
    pub prefixes: Vec<V6Prefix>,
}

/// The configured bindings on `interface` in `text`, lifetimes counted down to `now_unix`
/// (seconds since the epoch); bindings whose valid lifetime is over are left out.
pub(super) fn parse(text: &str, interface: &str, now_unix: u64) -> Result<Bindings, AddrMgrError> {
    if text.len() > MAX_BYTES {
        return Err(AddrMgrError::TooLarge(text.len()));
    }
    let doc = Document::parse(text).map_err(|e| AddrMgrError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "AddrMgr" {
        return Err(AddrMgrError::Root(root.tag_name().name().to_string()));
    }
    let mut bindings = Bindings::default();
    for client in elements(root, "AddrClient") {
        for ia in elements(client, "AddrIA").filter(|ia| configured_on(ia, interface)) {
            for addr in elements(ia, "AddrAddr") {
                let address = text_of::<Ipv6Addr>(addr, "AddrAddr", "address")?;
                let (preferred, valid) = lifetimes(addr, "AddrAddr", now_unix)?;
                if valid > 0 {
                    bindings.addresses.push(V6Address {
                        address,
                        preferred,
                        valid,
                    });
                }
            }
        }
        for pd in elements(client, "AddrPD").filter(|pd| configured_on(pd, interface)) {
            for prefix in elements(pd, "AddrPrefix") {
                let address = text_of::<Ipv6Addr>(prefix, "AddrPrefix", "prefix")?;
                let length = attribute::<u8>(prefix, "length", "AddrPrefix")?;
                if length > 128 {
                    return Err(AddrMgrError::Missing {
                        element: "AddrPrefix",
                        what: "length",
                    });
                }
                let (preferred, valid) = lifetimes(prefix, "AddrPrefix", now_unix)?;
                if valid > 0 {
                    bindings.prefixes.push(V6Prefix {
                        prefix: address,
                        length,
                        preferred,
                        valid,
                    });
                }
            }
        }
    }
    Ok(bindings)
}

fn elements<'a, 'i>(
    parent: Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    parent
        .children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// An IA or PD dibbler has configured on `interface`.
fn configured_on(ia: &Node<'_, '_>, interface: &str) -> bool {
    ia.attribute("state") == Some("CONFIGURED") && ia.attribute("ifacename") == Some(interface)
}

fn text_of<T: std::str::FromStr>(
    node: Node<'_, '_>,
    element: &'static str,
    what: &'static str,
) -> Result<T, AddrMgrError> {
    node.text()
        .and_then(|t| t.trim().parse().ok())
        .ok_or(AddrMgrError::Missing { element, what })
}

fn attribute<T: std::str::FromStr>(
    node: Node<'_, '_>,
    name: &'static str,
    element: &'static str,
) -> Result<T, AddrMgrError> {
    node.attribute(name)
        .and_then(|v| v.parse().ok())
        .ok_or(AddrMgrError::Missing {
            element,
            what: name,
        })
}

/// Preferred and valid lifetimes left at `now_unix` (infinite stays infinite).
fn lifetimes(
    node: Node<'_, '_>,
    element: &'static str,
    now_unix: u64,
) -> Result<(u32, u32), AddrMgrError> {
    let obtained = attribute::<u64>(node, "timestamp", element)?;
    let preferred = attribute::<u32>(node, "pref", element)?;
    let valid = attribute::<u32>(node, "valid", element)?;
    if preferred > valid {
        return Err(AddrMgrError::Missing {
            element,
            what: "lifetimes (preferred exceeds valid)",
        });
    }
    let elapsed = now_unix.saturating_sub(obtained);
    let left = |secs: u32| match secs {
        u32::MAX => u32::MAX,
        secs => u32::try_from(u64::from(secs).saturating_sub(elapsed)).unwrap_or(0),
    };
    Ok((left(preferred), left(valid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What dibbler-client 1.0.1 wrote in the lab after a rapid-commit REPLY.
    const WRITTEN: &str = r#"<AddrMgr>
  <timestamp>1796231572</timestamp>
  <replayDetection>0</replayDetection>
  <AddrClient>
    <duid length="14">00:01:00:01:32:a3:0e:0f:02:00:00:00:02:01</duid>
    <ReconfigureKey />
    <!-- 1 IA(s) -->
    <AddrIA unicast="" T1="4" T2="6" IAID="1" state="CONFIGURED" ifacename="erouter0" iface="2">
      <duid length="14">00:01:00:01:32:a3:0e:0f:1e:4a:0e:f0:72:a1</duid>
      <AddrAddr timestamp="1796231571" pref="3000" valid="4000" prefix="128">2001:db8:1::100</AddrAddr>
    </AddrIA>
    <!-- 0 TA(s) -->
    <!-- 1 PD(s) -->
    <AddrPD unicast="" T1="4" T2="6" IAID="1" state="CONFIGURED" ifacename="erouter0" iface="2">
      <duid length="14">00:01:00:01:32:a3:0e:0f:1e:4a:0e:f0:72:a1</duid>
      <AddrPrefix timestamp="1796231571" pref="3000" valid="3000" length="56">2001:db8:12::</AddrPrefix>
    </AddrPD>
  </AddrClient>
</AddrMgr>"#;

    #[test]
    fn reads_address_and_prefix_with_the_lifetimes_left() {
        let bindings = parse(WRITTEN, "erouter0", 1_796_231_581).expect("parses");
        assert_eq!(
            bindings.addresses,
            [V6Address {
                address: "2001:db8:1::100".parse().unwrap(),
                preferred: 2990,
                valid: 3990,
            }]
        );
        assert_eq!(
            bindings.prefixes,
            [V6Prefix {
                prefix: "2001:db8:12::".parse().unwrap(),
                length: 56,
                preferred: 2990,
                valid: 2990,
            }]
        );
    }

    #[test]
    fn other_interfaces_unconfigured_ias_and_lapsed_bindings_are_left_out() {
        assert_eq!(
            parse(WRITTEN, "erouter1", 1_796_231_581),
            Ok(Bindings::default())
        );
        let pending = WRITTEN.replace("CONFIGURED", "NOTCONFIGURED");
        assert_eq!(
            parse(&pending, "erouter0", 1_796_231_581),
            Ok(Bindings::default())
        );
        let later = parse(WRITTEN, "erouter0", 1_796_231_571 + 3500).expect("parses");
        assert_eq!(later.prefixes, []);
        assert_eq!(later.addresses.len(), 1);
    }

    #[test]
    fn truncated_and_hostile_files_are_refused() {
        let truncated = &WRITTEN[..WRITTEN.len() / 2];
        assert!(matches!(
            parse(truncated, "erouter0", 0),
            Err(AddrMgrError::Xml(_))
        ));
        let bad_address = WRITTEN.replace("2001:db8:1::100", "2001:db8:1::zz");
        assert_eq!(
            parse(&bad_address, "erouter0", 0),
            Err(AddrMgrError::Missing {
                element: "AddrAddr",
                what: "address"
            })
        );
        let bad_length = WRITTEN.replace("length=\"56\"", "length=\"200\"");
        assert!(parse(&bad_length, "erouter0", 0).is_err());
        let no_lifetime = WRITTEN.replace(" valid=\"4000\"", "");
        assert!(parse(&no_lifetime, "erouter0", 0).is_err());
        let wrong_root = "<Other/>";
        assert_eq!(
            parse(wrong_root, "erouter0", 0),
            Err(AddrMgrError::Root("Other".into()))
        );
        let huge = format!("<AddrMgr>{}</AddrMgr>", " ".repeat(MAX_BYTES));
        assert!(matches!(
            parse(&huge, "erouter0", 0),
            Err(AddrMgrError::TooLarge(_))
        ));
    }
}
