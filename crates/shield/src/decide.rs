//! The decision for one inspected packet: the client's action in force, then the config rules
//! (first match wins and may assign an action), then the built-in detections; out of that the
//! verdict, its mark and whether the packet is recorded at all (Deny: never). Pure.
//!
//! Marks: `mark_base | code`, code in the low byte ([`Mark`]); `mark_base = 0` sets none.

use serde::Serialize;

use crate::action::Action;
use crate::clients::Observation;
use crate::config::{RuleConfig, Verdict};
use crate::event::Event;
use crate::inspect::Facts;

/// The verdict codes in the low byte of the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub(crate) enum Mark {
    Accepted = 1,
    Allowed = 2,
    Monitored = 3,
    Throttled = 4,
    Flagged = 5,
    Malformed = 6,
    Dropped = 7,
}

/// The built-in detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Detection {
    /// A server message (OFFER/ACK/NAK, ADVERTISE/REPLY/RECONFIGURE) arriving from the LAN,
    /// not from the gateway's own server or a configured one.
    RogueServer,
    /// DHCPv4 chaddr differs from the frame's source MAC on a message that is not relayed.
    ChaddrMismatch,
    /// RELEASE/DECLINE whose chaddr is not the sender's MAC.
    SpoofedRelease,
    /// Option 82, giaddr or a RELAY-FORW from a client port.
    RelayFromClient,
    /// Many client MACs behind one source MAC within a minute.
    StarvationChaddrs,
    /// A burst of new MACs within a minute.
    StarvationNewMacs,
}

impl Detection {
    pub(crate) const ALL: [Detection; 6] = [
        Detection::RogueServer,
        Detection::ChaddrMismatch,
        Detection::SpoofedRelease,
        Detection::RelayFromClient,
        Detection::StarvationChaddrs,
        Detection::StarvationNewMacs,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Detection::RogueServer => "rogue_server",
            Detection::ChaddrMismatch => "chaddr_mismatch",
            Detection::SpoofedRelease => "spoofed_release",
            Detection::RelayFromClient => "relay_from_client",
            Detection::StarvationChaddrs => "starvation_chaddrs",
            Detection::StarvationNewMacs => "starvation_new_macs",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What decides.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub rules: Vec<RuleConfig>,
    pub malformed: Verdict,
    pub mark_base: u32,
    pub starvation_chaddrs: u32,
    pub starvation_new_macs: u32,
}

/// The outcome for one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub verdict: Verdict,
    pub code: Mark,
    /// The mark to set with the verdict (`None`: leave the packet's mark alone).
    pub mark: Option<u32>,
    /// Whether the event is recorded and streamed (not for denied clients).
    pub record: bool,
    /// The config rule that matched.
    pub rule: Option<usize>,
    /// The action in force after this packet (possibly just assigned by `rule`).
    pub action: Option<Action>,
    /// An action the matched rule assigns (the caller stores and enforces it).
    pub assign: Option<Action>,
    pub detections: Vec<Detection>,
}

fn detections(p: &Policy, facts: &Facts, obs: &Observation) -> Vec<Detection> {
    let mut out = Vec::new();
    if facts.from_server && !facts.own_server {
        out.push(Detection::RogueServer);
    }
    let mismatch = !facts.v6
        && !facts.from_server
        && !facts.relayed
        && facts.client_mac.is_some()
        && facts.source_mac.is_some()
        && facts.client_mac != facts.source_mac;
    if mismatch {
        // RELEASE (7) and DECLINE (4) on someone else's behalf are their own detection.
        if matches!(facts.message_type, Some(4 | 7)) {
            out.push(Detection::SpoofedRelease);
        } else {
            out.push(Detection::ChaddrMismatch);
        }
    }
    if !facts.from_server && (facts.relayed || facts.has_option82) {
        out.push(Detection::RelayFromClient);
    }
    if obs.chaddrs_behind_source >= p.starvation_chaddrs {
        out.push(Detection::StarvationChaddrs);
    }
    if obs.new_macs_in_window >= p.starvation_new_macs {
        out.push(Detection::StarvationNewMacs);
    }
    out
}

/// Decides for one packet. `action` is the client's action in force before this packet;
/// `event` is matched against the rules as inspected (verdict fields not yet filled).
pub(crate) fn decide(
    p: &Policy,
    event: &Event,
    facts: &Facts,
    action: Option<Action>,
    obs: &Observation,
) -> Decision {
    let mark = |code: Mark| (p.mark_base != 0).then_some(p.mark_base | code as u32);
    let mut d = Decision {
        verdict: Verdict::Accept,
        code: Mark::Accepted,
        mark: None,
        record: true,
        rule: None,
        action,
        assign: None,
        detections: Vec::new(),
    };
    if event.malformed.is_some() && facts.client.is_none() {
        d.verdict = p.malformed;
        d.code = Mark::Malformed;
        d.mark = mark(d.code);
        return d;
    }
    if d.action.is_none() {
        if let Some(i) = p.rules.iter().position(|r| r.filter.matches(event)) {
            d.rule = Some(i);
            d.assign = Some(p.rules[i].action);
            d.action = d.assign;
        }
    }
    match d.action {
        Some(Action::Deny) => {
            d.verdict = Verdict::Drop;
            d.code = Mark::Dropped;
            d.record = false;
            return d;
        }
        Some(Action::Block) => {
            d.verdict = Verdict::Drop;
            d.code = Mark::Dropped;
            return d;
        }
        Some(Action::Allow) => {
            d.code = Mark::Allowed;
            d.mark = mark(d.code);
            return d;
        }
        Some(Action::Throttle) => d.code = Mark::Throttled,
        Some(Action::Monitor) => d.code = Mark::Monitored,
        None => {}
    }
    d.detections = detections(p, facts, obs);
    if event.malformed.is_some() {
        d.verdict = p.malformed;
        d.code = Mark::Malformed;
    } else if !d.detections.is_empty() && d.code == Mark::Accepted {
        d.code = Mark::Flagged;
    }
    d.mark = mark(d.code);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{ClientKey, Mac};
    use crate::filter::Filter;

    fn policy() -> Policy {
        Policy {
            rules: vec![RuleConfig {
                name: "printers".into(),
                action: Action::Monitor,
                filter: Filter::parse(
                    r#"{"logic":"AND","rules":[{"field":"vendor_class","operator":"startswith","value":"HP"}]}"#,
                )
                .unwrap(),
            }],
            malformed: Verdict::Accept,
            mark_base: 0x4453_0000,
            starvation_chaddrs: 16,
            starvation_new_macs: 64,
        }
    }

    fn client(mac: u8, source: u8) -> Facts {
        Facts {
            client: Some(ClientKey::Mac(Mac([2, 0, 0, 0, 0, mac]))),
            client_mac: Some(Mac([2, 0, 0, 0, 0, mac])),
            source_mac: Some(Mac([2, 0, 0, 0, 0, source])),
            message_type: Some(1),
            ..Facts::default()
        }
    }

    fn event() -> Event {
        Event {
            proto: "v4",
            message_type: Some("DISCOVER".into()),
            ..Event::default()
        }
    }

    #[test]
    fn decisions() {
        let p = policy();
        let none = Observation::default();
        let plain = decide(&p, &event(), &client(1, 1), None, &none);
        assert_eq!(
            (plain.verdict, plain.code, plain.mark),
            (Verdict::Accept, Mark::Accepted, Some(0x4453_0001))
        );
        assert!(plain.detections.is_empty() && plain.record);

        let deny = decide(&p, &event(), &client(1, 1), Some(Action::Deny), &none);
        assert_eq!((deny.verdict, deny.record), (Verdict::Drop, false));
        let block = decide(&p, &event(), &client(1, 1), Some(Action::Block), &none);
        assert_eq!((block.verdict, block.record), (Verdict::Drop, true));
        let allow = decide(&p, &event(), &client(1, 9), Some(Action::Allow), &none);
        assert!(
            allow.detections.is_empty(),
            "allowed clients skip detections"
        );
        assert_eq!(allow.code, Mark::Allowed);

        let spoof = decide(&p, &event(), &client(1, 9), None, &none);
        assert_eq!(spoof.detections, vec![Detection::ChaddrMismatch]);
        assert_eq!(spoof.code, Mark::Flagged);
        let mut release = client(1, 9);
        release.message_type = Some(7);
        assert_eq!(
            decide(&p, &event(), &release, None, &none).detections,
            vec![Detection::SpoofedRelease]
        );
        let mut relayed = client(1, 1);
        relayed.has_option82 = true;
        assert_eq!(
            decide(&p, &event(), &relayed, None, &none).detections,
            vec![Detection::RelayFromClient]
        );
        let mut offer = client(1, 1);
        offer.from_server = true;
        assert_eq!(
            decide(&p, &event(), &offer, None, &none).detections,
            vec![Detection::RogueServer]
        );
        offer.own_server = true;
        assert!(
            decide(&p, &event(), &offer, None, &none)
                .detections
                .is_empty(),
            "the gateway's own server is no rogue"
        );
        let flood = Observation {
            chaddrs_behind_source: 16,
            new_macs_in_window: 64,
        };
        assert_eq!(
            decide(&p, &event(), &client(1, 1), None, &flood).detections,
            vec![Detection::StarvationChaddrs, Detection::StarvationNewMacs]
        );

        let hp = Event {
            vendor_class: Some("HP LaserJet".into()),
            ..event()
        };
        let ruled = decide(&p, &hp, &client(1, 1), None, &none);
        assert_eq!(
            (ruled.rule, ruled.assign, ruled.code),
            (Some(0), Some(Action::Monitor), Mark::Monitored)
        );

        let bad = Event {
            malformed: Some("short".into()),
            ..event()
        };
        let m = decide(
            &Policy {
                malformed: Verdict::Drop,
                ..policy()
            },
            &bad,
            &Facts::default(),
            None,
            &none,
        );
        assert_eq!((m.verdict, m.code), (Verdict::Drop, Mark::Malformed));
        let unmarked = decide(
            &Policy {
                mark_base: 0,
                ..policy()
            },
            &event(),
            &client(1, 1),
            None,
            &none,
        );
        assert_eq!(unmarked.mark, None);
    }
}
