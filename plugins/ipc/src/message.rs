//! The typed, versioned message a plugin sends for one lease event, and the daemon's reply.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Version of the message schema below. The daemon rejects any other version.
pub const PROTOCOL_VERSION: u16 = 1;

/// One lease event, as sent by a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Always [`PROTOCOL_VERSION`] when built by this crate.
    pub version: u16,
    /// Wall-clock time the plugin built the message, in milliseconds since the Unix epoch.
    /// Used to order replayed spool entries against live updates.
    pub created_unix_ms: u64,
    /// PID of the DHCP client process that ran the plugin (the plugin's parent).
    pub client_pid: u32,
    /// Client alias from `DHCPMGR_CLIENT`, when the daemon started the DHCP client.
    pub client: Option<String>,
    /// The event itself.
    pub event: ClientEvent,
}

/// What happened, per address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientEvent {
    /// A udhcpc event (DHCPv4).
    V4(V4Event),
    /// A dibbler-client event (DHCPv6).
    V6(V6Event),
}

/// An event from busybox udhcpc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4Event {
    /// The interface udhcpc runs on (`interface`).
    pub interface: String,
    /// Which script event (udhcpc's argv[1]).
    pub kind: V4EventKind,
    /// Present for `bound` and `renew`; absent for the others.
    pub lease: Option<V4Lease>,
}

/// udhcpc's script events (its argv[1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V4EventKind {
    /// The lease is gone or not yet there: remove the address (also udhcpc's first event).
    Deconfig,
    /// A new lease (ACK after DISCOVER/REQUEST).
    Bound,
    /// The lease was renewed (ACK after RENEW/REBIND); its values may have changed.
    Renew,
    /// The server sent a NAK: the lease is refused.
    Nak,
    /// No lease could be obtained (no answer to DISCOVER).
    Leasefail,
}

impl V4EventKind {
    /// Parses udhcpc's argv[1].
    pub fn from_arg(arg: &str) -> Option<Self> {
        Some(match arg {
            "deconfig" => Self::Deconfig,
            "bound" => Self::Bound,
            "renew" => Self::Renew,
            "nak" => Self::Nak,
            "leasefail" => Self::Leasefail,
            _ => return None,
        })
    }

    /// udhcpc's name of the event (`deconfig`, `bound`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deconfig => "deconfig",
            Self::Bound => "bound",
            Self::Renew => "renew",
            Self::Nak => "nak",
            Self::Leasefail => "leasefail",
        }
    }
}

/// A DHCPv4 lease as udhcpc reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4Lease {
    /// `ip` (yiaddr).
    pub address: Ipv4Addr,
    /// Prefix length from `mask` (or derived from `subnet`).
    pub prefix_len: u8,
    /// `router` (option 3), in order.
    pub routers: Vec<Ipv4Addr>,
    /// `dns` (option 6), in order.
    pub dns_servers: Vec<Ipv4Addr>,
    /// `domain` (option 15).
    pub domain: Option<String>,
    /// `lease` (option 51), seconds.
    pub lease_secs: Option<u32>,
    /// Renewal time T1 (option 58), seconds.
    pub renewal_secs: Option<u32>,
    /// Rebinding time T2 (option 59), seconds.
    pub rebinding_secs: Option<u32>,
    /// `serverid` (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// `mtu` (option 26).
    pub mtu: Option<u16>,
    /// `broadcast` (option 28).
    pub broadcast: Option<Ipv4Addr>,
    /// `staticroutes` (option 121).
    pub static_routes: Vec<StaticRoute>,
    /// `hostname` (option 12).
    pub hostname: Option<String>,
    /// `ntpsrv` (option 42).
    pub ntp_servers: Vec<Ipv4Addr>,
    /// Options udhcpc passed as `optNNN=<hex>`, keyed by option code, lowercase hex payload.
    pub raw_options: BTreeMap<u8, String>,
    /// Named variables not mapped to a field above (e.g. `timezone`, `vendor`), kept verbatim.
    pub other: BTreeMap<String, String>,
}

impl V4Lease {
    /// A lease with only an address and prefix length; every optional field empty.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        Self {
            address,
            prefix_len,
            routers: Vec::new(),
            dns_servers: Vec::new(),
            domain: None,
            lease_secs: None,
            renewal_secs: None,
            rebinding_secs: None,
            server_id: None,
            mtu: None,
            broadcast: None,
            static_routes: Vec::new(),
            hostname: None,
            ntp_servers: Vec::new(),
            raw_options: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }
}

/// One classless static route (option 121).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    /// Network reached through the route.
    pub destination: Ipv4Addr,
    /// Prefix length of `destination` (0 to 32).
    pub prefix_len: u8,
    /// The router to send through.
    pub gateway: Ipv4Addr,
}

/// An event from dibbler-client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6Event {
    /// `IFACE`.
    pub interface: String,
    /// Which script event (dibbler's argv[1]).
    pub kind: V6EventKind,
    /// IA_NA addresses in the server's reply (`ADDRn*`), duplicates removed. Empty in an
    /// `update` that renewed only the prefix: that is not a lost address.
    pub addresses: Vec<V6Address>,
    /// Delegated prefixes in the server's reply (`PREFIXn*`), duplicates removed. Empty in an
    /// `update` that renewed only the address: that is not a lost prefix.
    pub prefixes: Vec<V6Prefix>,
    /// `SRV_OPTIONn` values as dibbler renders them (trimmed): address and domain lists
    /// space-separated, DUIDs and unknown options colon-separated lowercase hex of the payload.
    /// `[generic]` placeholders are left out.
    pub server_options: BTreeMap<u16, String>,
    /// `REMOTE_ADDR`: the server (or multicast group) the reply answered.
    pub remote_addr: Option<Ipv6Addr>,
    /// `CLNT_MESSAGE` and `SRV_MESSAGE`, e.g. `REQUEST` and `REPLY`.
    pub client_message: Option<String>,
    /// The server's message type, e.g. `REPLY`.
    pub server_message: Option<String>,
    /// IAID, T1 and T2 of the first IA_NA (`ADDR1IAID`, `ADDR1T1`, `ADDR1T2`): only RDK's
    /// patched dibbler-client exports them; absent from upstream dibbler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ia_na: Option<IaParams>,
    /// The same for the first IA_PD (`PREFIX1IAID`, `PREFIX1T1`, `PREFIX1T2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ia_pd: Option<IaParams>,
}

/// What the server said of one IA besides its addresses or prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IaParams {
    /// The IA's identifier.
    pub iaid: Option<u32>,
    /// When to renew (seconds, RFC 8415 §21.4); 0 lets the client choose.
    pub t1: Option<u32>,
    /// When to rebind (seconds); 0 lets the client choose.
    pub t2: Option<u32>,
}

/// dibbler-client's script events (its argv[1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V6EventKind {
    /// REPLY to REQUEST or CONFIRM (also a rapid-commit SOLICIT).
    Add,
    /// REPLY to RENEW, REBIND or INFORMATION-REQUEST.
    Update,
    /// REPLY to RELEASE (RDK's dibbler also calls it `del`).
    Delete,
    /// RDK's patched dibbler-client: the listed addresses and prefixes (all, when none is
    /// listed) ran out without a renewal.
    Expire,
}

impl V6EventKind {
    /// Parses dibbler's argv[1].
    pub fn from_arg(arg: &str) -> Option<Self> {
        Some(match arg {
            "add" => Self::Add,
            "update" => Self::Update,
            "delete" | "del" => Self::Delete,
            "expire" => Self::Expire,
            _ => return None,
        })
    }

    /// dibbler's name of the event (`add`, `update`, `delete`, `expire`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Expire => "expire",
        }
    }
}

/// An IA_NA address with its lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6Address {
    /// The address (`ADDRn`).
    pub address: Ipv6Addr,
    /// Preferred lifetime, seconds (`ADDRnPREF`); 0xffffffff is infinite.
    pub preferred: u32,
    /// Valid lifetime, seconds (`ADDRnVALID`); 0xffffffff is infinite.
    pub valid: u32,
}

/// A delegated prefix with its lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V6Prefix {
    /// The prefix (`PREFIXn`).
    pub prefix: Ipv6Addr,
    /// Its length (`PREFIXnLEN`, 0 to 128).
    pub length: u8,
    /// Preferred lifetime, seconds (`PREFIXnPREF`); 0xffffffff is infinite.
    pub preferred: u32,
    /// Valid lifetime, seconds (`PREFIXnVALID`); 0xffffffff is infinite.
    pub valid: u32,
}

/// The daemon's answer to one envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The event is applied (in force and persisted).
    pub accepted: bool,
    /// Why the message was rejected; empty when accepted.
    #[serde(default)]
    pub reason: String,
    /// Not applied for a passing reason (the daemon could not persist it): the plugin spools
    /// the message so that it is applied later. Left out of the encoding when false, so that
    /// plugins that predate it still read every other reply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
}

impl Reply {
    /// The event is applied.
    pub fn accepted() -> Self {
        Self {
            accepted: true,
            reason: String::new(),
            retry: false,
        }
    }

    /// Refused for good, saying why: the plugin logs it and does not send it again.
    pub fn rejected(reason: impl Into<String>) -> Self {
        Self {
            accepted: false,
            reason: reason.into(),
            retry: false,
        }
    }

    /// Not applied now, but worth sending again: the plugin spools it.
    pub fn retry_later(reason: impl Into<String>) -> Self {
        Self {
            retry: true,
            ..Self::rejected(reason)
        }
    }
}

/// Why a body could not be turned into an [`Envelope`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not JSON, or has no `version`.
    #[error("message is not valid JSON or lacks a version: {0}")]
    Malformed(String),
    /// The plugin speaks a protocol version this daemon does not.
    #[error("unsupported protocol version {0} (this daemon speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u16),
    /// The body has this version but not its schema (unknown field, wrong type, out of range).
    #[error("message does not match protocol version {PROTOCOL_VERSION}: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u16,
}

/// Decodes a frame body, checking the version before the schema.
pub fn decode_envelope(body: &[u8]) -> Result<Envelope, DecodeError> {
    let probe: VersionOnly =
        serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if probe.version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(probe.version));
    }
    serde_json::from_slice(body).map_err(|e| DecodeError::Invalid(e.to_string()))
}

/// Encodes an envelope as a frame body.
pub fn encode_envelope(envelope: &Envelope) -> Vec<u8> {
    // Serialising these plain structs to a Vec cannot fail: no maps with non-string keys
    // other than u8 (which serde_json writes as strings) and no custom serialisers.
    serde_json::to_vec(envelope).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            version: PROTOCOL_VERSION,
            created_unix_ms: 1,
            client_pid: 42,
            client: Some("wan".into()),
            event: ClientEvent::V4(V4Event {
                interface: "erouter0".into(),
                kind: V4EventKind::Bound,
                lease: Some(V4Lease {
                    raw_options: BTreeMap::from([(125, "00aa".to_string())]),
                    ..V4Lease::new(Ipv4Addr::new(192, 0, 2, 10), 24)
                }),
            }),
        }
    }

    #[test]
    fn round_trips() {
        let env = sample();
        assert_eq!(decode_envelope(&encode_envelope(&env)).unwrap(), env);
    }

    #[test]
    fn v6_events_round_trip() {
        let env = Envelope {
            event: ClientEvent::V6(V6Event {
                interface: "erouter0".into(),
                kind: V6EventKind::Add,
                addresses: vec![V6Address {
                    address: "2001:db8:1::100".parse().unwrap(),
                    preferred: 3000,
                    valid: 4000,
                }],
                prefixes: vec![V6Prefix {
                    prefix: "2001:db8:12:3400::".parse().unwrap(),
                    length: 56,
                    preferred: 3000,
                    valid: 4000,
                }],
                server_options: BTreeMap::from([(23, "2001:db8:1::53".to_string())]),
                remote_addr: Some("ff02::1:2".parse().unwrap()),
                client_message: Some("REQUEST".into()),
                server_message: Some("REPLY".into()),
                ia_na: Some(IaParams {
                    iaid: Some(7),
                    t1: Some(1800),
                    t2: None,
                }),
                ia_pd: None,
            }),
            ..sample()
        };
        assert_eq!(decode_envelope(&encode_envelope(&env)).unwrap(), env);
        for kind in [
            V6EventKind::Add,
            V6EventKind::Update,
            V6EventKind::Delete,
            V6EventKind::Expire,
        ] {
            assert_eq!(V6EventKind::from_arg(kind.as_str()), Some(kind));
        }
        assert_eq!(V6EventKind::from_arg("del"), Some(V6EventKind::Delete));
        assert_eq!(V6EventKind::from_arg("deleted"), None);
    }

    #[test]
    fn v6_events_without_ia_parameters_keep_the_old_encoding() {
        let body = br#"{"version":1,"created_unix_ms":1,"client_pid":2,"client":null,"event":{"v6":{"interface":"erouter0","kind":"update","addresses":[],"prefixes":[],"server_options":{},"remote_addr":null,"client_message":null,"server_message":null}}}"#;
        let env = decode_envelope(body).unwrap();
        let ClientEvent::V6(event) = &env.event else {
            panic!("not v6: {env:?}")
        };
        assert_eq!((event.ia_na, event.ia_pd), (None, None));
        assert_eq!(encode_envelope(&env), body.to_vec());
    }

    #[test]
    fn replies_keep_their_encoding_and_carry_retry_only_when_set() {
        let plain = serde_json::to_string(&Reply::rejected("no")).unwrap();
        assert_eq!(plain, r#"{"accepted":false,"reason":"no"}"#);
        let retry = Reply::retry_later("disk full");
        let text = serde_json::to_string(&retry).unwrap();
        assert_eq!(
            text,
            r#"{"accepted":false,"reason":"disk full","retry":true}"#
        );
        assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), retry);
        let old: Reply = serde_json::from_str(r#"{"accepted":true,"reason":""}"#).unwrap();
        assert_eq!(old, Reply::accepted());
    }

    #[test]
    fn rejects_other_versions_before_schema() {
        let err = decode_envelope(br#"{"version": 7, "whatever": true}"#).unwrap_err();
        assert!(matches!(err, DecodeError::UnsupportedVersion(7)));
    }

    #[test]
    fn rejects_garbage_and_unknown_fields() {
        assert!(matches!(
            decode_envelope(b"\xff\x00garbage"),
            Err(DecodeError::Malformed(_))
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&encode_envelope(&sample())).unwrap();
        v["surprise"] = serde_json::Value::Bool(true);
        let body = serde_json::to_vec(&v).unwrap();
        assert!(matches!(
            decode_envelope(&body),
            Err(DecodeError::Invalid(_))
        ));
    }

    #[test]
    fn parses_event_arguments() {
        for kind in [
            V4EventKind::Deconfig,
            V4EventKind::Bound,
            V4EventKind::Renew,
            V4EventKind::Nak,
            V4EventKind::Leasefail,
        ] {
            assert_eq!(V4EventKind::from_arg(kind.as_str()), Some(kind));
        }
        assert_eq!(V4EventKind::from_arg("expire"), None);
    }
}
