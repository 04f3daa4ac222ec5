//! Our nftables table as netlink objects, with no `nft` process: the table, its sets, its two
//! chains and their rules as typed values ([`ruleset`], pure and tested), and the messages that
//! put them in place ([`Ruleset::install`]: keeps the sets and their elements, empties and
//! refills the chains) or take them away ([`removal`]), each sent as one transaction. The
//! expressions are those `nft` itself generates for the rules in `hook`'s layout (checked
//! against `nft --debug=netlink`).

use crate::hook::{HookConfig, KernelSet};
use crate::nftnl::{
    attr, nested, Msg, NFT_MSG_DELRULE, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE,
    NFT_MSG_NEWSET, NFT_MSG_NEWTABLE, NLM_F_APPEND, NLM_F_CREATE,
};

const SET_TIMEOUT: u32 = 0x10;
const SET_EVAL: u32 = 0x20;
/// nft's data type number for ether_addr.
const TYPE_ETHER_ADDR: u32 = 9;
const META_IIFNAME: u32 = 6;
const META_IIFTYPE: u32 = 8;
const META_L4PROTO: u32 = 16;
const PAYLOAD_LL: u32 = 0;
const PAYLOAD_TRANSPORT: u32 = 2;
const NF_INET_PRE_ROUTING: u32 = 0;
/// `mangle - 5`: before iptables' mangle table.
const PRIORITY: i32 = -155;
const NF_ACCEPT: u32 = 1;
const IFNAMSIZ: usize = 16;
const IPPROTO_UDP: u8 = 17;
const ARPHRD_ETHER: u16 = 1;

/// A comparison of register 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq = 0,
    Lte = 3,
    Gte = 5,
}

/// A rate limit: `rate` per `per_secs`, `burst` packets; `over`: matches above the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    pub rate: u64,
    pub per_secs: u64,
    pub burst: u32,
    pub over: bool,
}

/// One expression (loads go to register 1, comparisons and lookups read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Meta(u32),
    Cmp(CmpOp, Vec<u8>),
    Payload {
        base: u32,
        offset: u32,
        len: u32,
    },
    Lookup(String),
    /// Update the element of the register's key in a dynamic set, with a limit per element.
    Update {
        set: String,
        limit: Limit,
    },
    Limit(Limit),
    Counter,
    Drop,
    Jump(String),
    /// Queue to userspace, accepted while nobody listens.
    Queue(u16),
    /// Copy to userspace (NFLOG group), the packet goes on.
    Log(u16),
}

/// A set of ether addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetDef {
    pub name: String,
    pub flags: u32,
    pub size: Option<u32>,
    pub timeout_ms: Option<u64>,
}

/// A chain, a base chain on prerouting if `hooked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainDef {
    pub name: String,
    pub hooked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub chain: String,
    pub exprs: Vec<Expr>,
}

/// Everything in our table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ruleset {
    pub table: String,
    pub sets: Vec<SetDef>,
    pub chains: Vec<ChainDef>,
    pub rules: Vec<Rule>,
}

fn ifname(name: &str) -> Vec<u8> {
    let mut data = name.as_bytes().to_vec();
    data.resize(IFNAMSIZ, 0);
    data
}

fn ether_saddr() -> Vec<Expr> {
    vec![
        Expr::Meta(META_IIFTYPE),
        Expr::Cmp(CmpOp::Eq, ARPHRD_ETHER.to_ne_bytes().to_vec()),
        Expr::Payload {
            base: PAYLOAD_LL,
            offset: 6,
            len: 6,
        },
    ]
}

/// The ruleset for `cfg` (`queue_in_nft`: the queue statement lives here, not in iptables).
pub(crate) fn ruleset(table: &str, cfg: &HookConfig, queue_in_nft: bool) -> Ruleset {
    let set = |name: &str, flags, size, timeout_ms| SetDef {
        name: name.into(),
        flags,
        size,
        timeout_ms,
    };
    let sets = vec![
        set(KernelSet::Deny.name(), SET_TIMEOUT, None, None),
        set(KernelSet::Throttle.name(), SET_TIMEOUT, None, None),
        set(
            "mac_meter",
            SET_TIMEOUT | SET_EVAL,
            Some(65536),
            Some(60_000),
        ),
        set(
            "throttle_meter",
            SET_TIMEOUT | SET_EVAL,
            Some(65536),
            Some(600_000),
        ),
    ];
    let chains = vec![
        ChainDef {
            name: "prerouting".into(),
            hooked: true,
        },
        ChainDef {
            name: "dhcp".into(),
            hooked: false,
        },
    ];
    let mut rules = Vec::new();
    let mut port_ranges = vec![(67u16, 68u16)];
    if cfg.ipv6 {
        port_ranges.push((546, 547));
    }
    for interface in &cfg.interfaces {
        for (low, high) in &port_ranges {
            rules.push(Rule {
                chain: "prerouting".into(),
                exprs: vec![
                    Expr::Meta(META_IIFNAME),
                    Expr::Cmp(CmpOp::Eq, ifname(interface)),
                    Expr::Meta(META_L4PROTO),
                    Expr::Cmp(CmpOp::Eq, vec![IPPROTO_UDP]),
                    Expr::Payload {
                        base: PAYLOAD_TRANSPORT,
                        offset: 2,
                        len: 2,
                    },
                    Expr::Cmp(CmpOp::Gte, low.to_be_bytes().to_vec()),
                    Expr::Cmp(CmpOp::Lte, high.to_be_bytes().to_vec()),
                    Expr::Jump("dhcp".into()),
                ],
            });
        }
    }
    let dhcp = |exprs: Vec<Expr>| Rule {
        chain: "dhcp".into(),
        exprs,
    };
    let mut deny = ether_saddr();
    deny.extend([
        Expr::Lookup(KernelSet::Deny.name().into()),
        Expr::Counter,
        Expr::Drop,
    ]);
    rules.push(dhcp(deny));
    let mut throttle = ether_saddr();
    throttle.push(Expr::Lookup(KernelSet::Throttle.name().into()));
    throttle.extend(ether_saddr().into_iter().skip(2));
    throttle.extend([
        Expr::Update {
            set: "throttle_meter".into(),
            limit: Limit {
                rate: cfg.throttle_per_minute.into(),
                per_secs: 60,
                burst: cfg.throttle_per_minute,
                over: true,
            },
        },
        Expr::Counter,
        Expr::Drop,
    ]);
    rules.push(dhcp(throttle));
    let mut meter = ether_saddr();
    meter.extend([
        Expr::Update {
            set: "mac_meter".into(),
            limit: Limit {
                rate: cfg.mac_rate.into(),
                per_secs: 1,
                burst: cfg.mac_burst,
                over: true,
            },
        },
        Expr::Counter,
        Expr::Drop,
    ]);
    rules.push(dhcp(meter));
    // Userspace's share, behind the global meter: held (nft queue) or copied (log).
    let to_userspace = if cfg.observe {
        Some(Expr::Log(cfg.queue_num))
    } else if queue_in_nft {
        Some(Expr::Queue(cfg.queue_num))
    } else {
        None
    };
    if let Some(last) = to_userspace {
        let mut exprs = Vec::new();
        if cfg.queue_rate > 0 {
            exprs.push(Expr::Limit(Limit {
                rate: cfg.queue_rate.into(),
                per_secs: 1,
                burst: cfg.queue_burst,
                over: false,
            }));
        }
        exprs.push(last);
        rules.push(dhcp(exprs));
    }
    Ruleset {
        table: table.into(),
        sets,
        chains,
        rules,
    }
}

fn string(buf: &mut Vec<u8>, kind: u16, text: &str) {
    attr(buf, kind, format!("{text}\0").as_bytes());
}

fn u32be(buf: &mut Vec<u8>, kind: u16, value: u32) {
    attr(buf, kind, &value.to_be_bytes());
}

const REG_VERDICT: u32 = 0;
const REG_1: u32 = 1;

fn expr_name(e: &Expr) -> &'static str {
    match e {
        Expr::Meta(_) => "meta",
        Expr::Cmp(..) => "cmp",
        Expr::Payload { .. } => "payload",
        Expr::Lookup(_) => "lookup",
        Expr::Update { .. } => "dynset",
        Expr::Limit(_) => "limit",
        Expr::Counter => "counter",
        Expr::Drop | Expr::Jump(_) => "immediate",
        Expr::Queue(_) => "queue",
        Expr::Log(_) => "log",
    }
}

fn expr_data(b: &mut Vec<u8>, e: &Expr) {
    match e {
        Expr::Meta(key) => {
            u32be(b, 1, REG_1);
            u32be(b, 2, *key);
        }
        Expr::Cmp(op, value) => {
            u32be(b, 1, REG_1);
            u32be(b, 2, *op as u32);
            nested(b, 3, |d| attr(d, 1, value));
        }
        Expr::Payload { base, offset, len } => {
            u32be(b, 1, REG_1);
            u32be(b, 2, *base);
            u32be(b, 3, *offset);
            u32be(b, 4, *len);
        }
        Expr::Lookup(set) => {
            string(b, 1, set);
            u32be(b, 2, REG_1);
        }
        Expr::Update { set, limit } => {
            string(b, 1, set);
            // NFT_DYNSET_OP_UPDATE
            u32be(b, 3, 1);
            u32be(b, 4, REG_1);
            nested(b, 7, |x| expression(x, &Expr::Limit(*limit)));
        }
        Expr::Limit(l) => {
            attr(b, 1, &l.rate.to_be_bytes());
            attr(b, 2, &l.per_secs.to_be_bytes());
            u32be(b, 3, l.burst);
            u32be(b, 4, 0);
            u32be(b, 5, u32::from(l.over));
        }
        Expr::Counter => {
            attr(b, 1, &0u64.to_be_bytes());
            attr(b, 2, &0u64.to_be_bytes());
        }
        Expr::Drop | Expr::Jump(_) => {
            u32be(b, 1, REG_VERDICT);
            nested(b, 2, |d| {
                nested(d, 2, |v| match e {
                    Expr::Jump(chain) => {
                        // NFT_JUMP
                        u32be(v, 1, (-3i32) as u32);
                        string(v, 2, chain);
                    }
                    // NF_DROP
                    _ => u32be(v, 1, 0),
                })
            });
        }
        Expr::Queue(num) => {
            attr(b, 1, &num.to_be_bytes());
            attr(b, 2, &1u16.to_be_bytes());
            // NFT_QUEUE_FLAG_BYPASS
            attr(b, 3, &1u16.to_be_bytes());
        }
        Expr::Log(group) => attr(b, 1, &group.to_be_bytes()),
    }
}

/// An expression's name and data attributes (`NFTA_EXPR_NAME`, `NFTA_EXPR_DATA`).
fn expression(buf: &mut Vec<u8>, e: &Expr) {
    string(buf, 1, expr_name(e));
    nested(buf, 2, |b| expr_data(b, e));
}

fn table_msg(kind: u16, flags: u16, table: &str) -> Msg {
    let mut body = Vec::new();
    string(&mut body, 1, table);
    if kind == NFT_MSG_NEWTABLE {
        u32be(&mut body, 2, 0);
    }
    Msg { kind, flags, body }
}

impl Ruleset {
    /// The transaction that puts the ruleset in place: table and sets created if missing
    /// (existing ones, and their elements, are kept), chains created if missing, emptied and
    /// filled with the rules.
    pub(crate) fn install(&self) -> Vec<Msg> {
        let t = self.table.as_str();
        let mut msgs = vec![table_msg(NFT_MSG_NEWTABLE, NLM_F_CREATE, t)];
        for (id, s) in self.sets.iter().enumerate() {
            let mut body = Vec::new();
            string(&mut body, 1, t);
            string(&mut body, 2, &s.name);
            u32be(&mut body, 3, s.flags);
            u32be(&mut body, 4, TYPE_ETHER_ADDR);
            u32be(&mut body, 5, 6);
            if let Some(size) = s.size {
                nested(&mut body, 9, |d| u32be(d, 1, size));
            }
            u32be(&mut body, 10, id as u32 + 1);
            if let Some(ms) = s.timeout_ms {
                attr(&mut body, 11, &ms.to_be_bytes());
            }
            msgs.push(Msg {
                kind: NFT_MSG_NEWSET,
                flags: NLM_F_CREATE,
                body,
            });
        }
        for c in &self.chains {
            let mut body = Vec::new();
            string(&mut body, 1, t);
            string(&mut body, 3, &c.name);
            if c.hooked {
                nested(&mut body, 4, |h| {
                    u32be(h, 1, NF_INET_PRE_ROUTING);
                    u32be(h, 2, PRIORITY as u32);
                });
                u32be(&mut body, 5, NF_ACCEPT);
                string(&mut body, 7, "filter");
            }
            msgs.push(Msg {
                kind: NFT_MSG_NEWCHAIN,
                flags: NLM_F_CREATE,
                body,
            });
        }
        for c in &self.chains {
            let mut body = Vec::new();
            string(&mut body, 1, t);
            string(&mut body, 2, &c.name);
            msgs.push(Msg {
                kind: NFT_MSG_DELRULE,
                flags: 0,
                body,
            });
        }
        for r in &self.rules {
            let mut body = Vec::new();
            string(&mut body, 1, t);
            string(&mut body, 2, &r.chain);
            nested(&mut body, 4, |list| {
                for e in &r.exprs {
                    nested(list, 1, |x| expression(x, e));
                }
            });
            msgs.push(Msg {
                kind: NFT_MSG_NEWRULE,
                flags: NLM_F_CREATE | NLM_F_APPEND,
                body,
            });
        }
        msgs
    }
}

/// The transaction that removes `table` whether or not it exists (created, then deleted).
pub(crate) fn removal(table: &str) -> Vec<Msg> {
    vec![
        table_msg(NFT_MSG_NEWTABLE, NLM_F_CREATE, table),
        table_msg(NFT_MSG_DELTABLE, 0, table),
    ]
}

/// A transaction that succeeds only if this kernel has nftables' `queue` statement, and leaves
/// nothing behind (its probe table is created and deleted in it).
pub(crate) fn queue_probe(queue_num: u16) -> Vec<Msg> {
    let probe = Ruleset {
        table: "dhcpmgr_probe".into(),
        sets: Vec::new(),
        chains: vec![ChainDef {
            name: "c".into(),
            hooked: true,
        }],
        rules: vec![Rule {
            chain: "c".into(),
            exprs: vec![Expr::Queue(queue_num)],
        }],
    };
    let mut msgs = probe.install();
    msgs.push(table_msg(NFT_MSG_DELTABLE, 0, &probe.table));
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::tests::cfg;

    #[test]
    fn the_ruleset_matches_dhcp_on_lan_interfaces_only() {
        let r = ruleset("dhcpmgr_shield", &cfg(), false);
        let names: Vec<&str> = r.sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["deny", "throttle", "mac_meter", "throttle_meter"]);
        // Two interfaces × (v4, v6) port ranges jump to dhcp; then deny, throttle, meter.
        let prerouting: Vec<&Rule> = r.rules.iter().filter(|r| r.chain == "prerouting").collect();
        assert_eq!(prerouting.len(), 4);
        assert_eq!(
            prerouting[3].exprs[1],
            Expr::Cmp(CmpOp::Eq, b"wl0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec())
        );
        assert_eq!(prerouting[1].exprs[5], Expr::Cmp(CmpOp::Gte, vec![2, 0x22]));
        assert_eq!(prerouting[1].exprs[6], Expr::Cmp(CmpOp::Lte, vec![2, 0x23]));
        assert_eq!(prerouting[0].exprs[7], Expr::Jump("dhcp".into()));
        let dhcp: Vec<&Rule> = r.rules.iter().filter(|r| r.chain == "dhcp").collect();
        assert_eq!(dhcp.len(), 3, "no queue rule when iptables queues");
        assert_eq!(dhcp[0].exprs[3], Expr::Lookup("deny".into()));
        assert_eq!(dhcp[0].exprs.last(), Some(&Expr::Drop));
        assert!(dhcp[2].exprs.contains(&Expr::Update {
            set: "mac_meter".into(),
            limit: Limit {
                rate: 20,
                per_secs: 1,
                burst: 40,
                over: true
            }
        }));
        let queued = ruleset("dhcpmgr_shield", &cfg(), true);
        let last = queued.rules.last().map(|r| r.exprs.clone());
        assert_eq!(
            last,
            Some(vec![
                Expr::Limit(Limit {
                    rate: 2000,
                    per_secs: 1,
                    burst: 4000,
                    over: false
                }),
                Expr::Queue(67)
            ])
        );
        let observed = ruleset(
            "dhcpmgr_shield",
            &HookConfig {
                observe: true,
                ..cfg()
            },
            false,
        );
        assert_eq!(
            observed.rules.last().and_then(|r| r.exprs.last()),
            Some(&Expr::Log(67)),
            "observe mode copies, behind the global meter"
        );
        let v4 = ruleset(
            "t",
            &HookConfig {
                ipv6: false,
                ..cfg()
            },
            false,
        );
        assert_eq!(
            v4.rules.iter().filter(|r| r.chain == "prerouting").count(),
            2
        );
    }

    /// The message types of a transaction, in order.
    fn kinds(msgs: &[Msg]) -> Vec<u16> {
        msgs.iter().map(|m| m.kind).collect()
    }

    #[test]
    fn install_keeps_sets_and_refills_chains_in_one_transaction() {
        let msgs = ruleset("dhcpmgr_shield", &cfg(), false).install();
        assert_eq!(
            kinds(&msgs),
            [
                vec![NFT_MSG_NEWTABLE],
                vec![NFT_MSG_NEWSET; 4],
                vec![NFT_MSG_NEWCHAIN; 2],
                vec![NFT_MSG_DELRULE; 2],
                vec![NFT_MSG_NEWRULE; 7],
            ]
            .concat()
        );
        // Creation never replaces (no NLM_F_EXCL, no NLM_F_REPLACE): existing sets keep
        // their elements.
        assert!(msgs.iter().all(|m| m.flags & 0x300 == 0));
        let hooked = &msgs[5].body;
        assert!(hooked.windows(7).any(|w| w == b"filter\0"));
        assert!(hooked
            .windows(4)
            .any(|w| w == (-155i32 as u32).to_be_bytes()));
        let deny_rule = &msgs[13].body;
        for name in [&b"lookup\0"[..], b"deny\0", b"counter\0", b"immediate\0"] {
            assert!(deny_rule.windows(name.len()).any(|w| w == name));
        }
        let jump = &msgs[9].body;
        assert!(jump.windows(5).any(|w| w == b"dhcp\0"));
        assert!(jump.windows(4).any(|w| w == (-3i32 as u32).to_be_bytes()));
        assert_eq!(
            kinds(&removal("dhcpmgr_shield")),
            vec![NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE]
        );
        let probe = queue_probe(67);
        assert_eq!(probe.first().map(|m| m.kind), Some(NFT_MSG_NEWTABLE));
        assert_eq!(probe.last().map(|m| m.kind), Some(NFT_MSG_DELTABLE));
        assert!(probe
            .iter()
            .any(|m| m.body.windows(6).any(|w| w == b"queue\0")));
    }
}
