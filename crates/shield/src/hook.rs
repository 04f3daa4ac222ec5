//! The kernel side of the shield: which packets go to userspace and what is enforced before
//! that. Our nftables table goes in and out over netlink, one transaction each (`nftobj`: the
//! objects; no `nft` process); [`iptables_plan`] produces the `iptables`/`ip6tables` commands
//! for the NFQUEUE hook on kernels without nftables' `queue` statement (pure, tested). [`Hook`]
//! applies both at start and removes them at stop. Set elements change at run time through
//! `nftnl`, not here.
//!
//! Layout (one nftables table of our own, plus one iptables chain of our own where nftables has
//! no `queue` statement):
//!
//! ```text
//! table inet dhcpmgr_shield            prerouting, priority mangle - 5 (before iptables' mangle)
//!   iifname {LAN} udp dport {67,68[,546,547]} → chain dhcp:
//!     ether saddr @deny   drop            Block/Deny: the client costs userspace nothing
//!     ether saddr @throttle + per-MAC meter (N/minute) over → drop
//!     per-MAC meter (mac_rate/s, burst) over → drop        one flooding MAC hurts only itself
//!     [nft queue available:] global meter, queue num N bypass
//! mangle PREROUTING -i LAN -p udp --dports … -j DHCPMGR_SHIELD   (iptables and ip6tables)
//!   DHCPMGR_SHIELD: -m limit queue_rate/s -j NFQUEUE --queue-num N --queue-bypass
//!                   (over the global limit: RETURN, i.e. accepted without inspection)
//! ```
//!
//! Over the global limit packets are accepted uninspected (the shield fails open: DHCP service
//! matters more than the record), over the per-MAC limit they are dropped (only the flooding
//! MAC loses, and a well-behaved client sends a few packets a minute). `--queue-bypass` accepts
//! packets while no daemon is bound; the queue's fail-open flag accepts them when it is full.

use std::process::{Command, Stdio};

use crate::nftnl::{self, NftError};
use crate::nftobj;

/// Our nftables table (family inet) and iptables chain.
pub(crate) const TABLE: &str = "dhcpmgr_shield";
pub(crate) const CHAIN: &str = "DHCPMGR_SHIELD";
const COMMENT: &str = "dhcpmgr-shield";

/// What the rules are built from (the `[shield]` values that concern the kernel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HookConfig {
    /// Observe mode: the kernel logs copies to NFLOG group `queue_num` instead of queueing.
    pub observe: bool,
    pub interfaces: Vec<String>,
    pub ipv6: bool,
    pub queue_num: u16,
    pub queue_rate: u32,
    pub queue_burst: u32,
    pub mac_rate: u32,
    pub mac_burst: u32,
    pub throttle_per_minute: u32,
}

/// Which kernel sets hold enforced clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum KernelSet {
    /// Block and Deny: dropped before the queue.
    Deny,
    /// Throttle: a small per-MAC rate.
    Throttle,
}

impl KernelSet {
    pub(crate) const ALL: [KernelSet; 2] = [KernelSet::Deny, KernelSet::Throttle];

    /// The set's name in our table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            KernelSet::Deny => "deny",
            KernelSet::Throttle => "throttle",
        }
    }
}

/// One command line to run (program and arguments).
pub(crate) type Cmdline = Vec<String>;

fn families(ipv6: bool) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![("iptables", "67,68")];
    if ipv6 {
        f.push(("ip6tables", "546,547"));
    }
    f
}

fn cmd(program: &str, args: &[&str]) -> Cmdline {
    std::iter::once(program)
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect()
}

/// The iptables commands that queue `cfg`'s DHCP to userspace (none when the queue statement
/// lives in nftables).
pub(crate) fn iptables_plan(cfg: &HookConfig, queue_in_nft: bool) -> Vec<Cmdline> {
    let mut iptables = Vec::new();
    if queue_in_nft || cfg.observe {
        return iptables;
    }
    let limit = match cfg.queue_rate {
        0 => String::new(),
        rate => format!(
            "-m limit --limit {rate}/second --limit-burst {} ",
            cfg.queue_burst
        ),
    };
    for (program, ports) in families(cfg.ipv6) {
        let words = |line: String| -> Cmdline {
            std::iter::once(program.to_string())
                .chain(line.split_whitespace().map(str::to_string))
                .collect()
        };
        iptables.push(words(format!("-w -t mangle -N {CHAIN}")));
        iptables.push(words(format!(
            "-w -t mangle -A {CHAIN} {limit}-j NFQUEUE --queue-num {} --queue-bypass",
            cfg.queue_num
        )));
        for interface in &cfg.interfaces {
            iptables.push(words(format!(
                "-w -t mangle -I PREROUTING -i {interface} -p udp -m multiport --dports {ports} \
                 -m comment --comment {COMMENT} -j {CHAIN}"
            )));
        }
    }
    iptables
}

/// Commands that remove our iptables rules: each jump (deleted repeatedly until none is left,
/// found by listing), then our chain. Only rules carrying our comment or jumping to our chain.
pub(crate) fn iptables_removal(listing: &str, program: &str) -> Vec<Cmdline> {
    let mut out = Vec::new();
    for line in listing.lines() {
        if let Some(rule) = line.strip_prefix("-A PREROUTING ") {
            if rule.contains(&format!("-j {CHAIN}")) {
                let mut args = vec!["-w", "-t", "mangle", "-D", "PREROUTING"];
                args.extend(rule.split_whitespace());
                out.push(cmd(program, &args));
            }
        }
    }
    if listing.lines().any(|l| l == format!("-N {CHAIN}")) {
        out.push(cmd(program, &["-w", "-t", "mangle", "-F", CHAIN]));
        out.push(cmd(program, &["-w", "-t", "mangle", "-X", CHAIN]));
    }
    out
}

/// Why the rules could not be put in place.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HookError {
    #[error("cannot run {program}: {source} (install iptables)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("nftables: {0}")]
    Netlink(#[from] NftError),
}

fn run(argv: &[String]) -> Result<String, HookError> {
    let (program, args) = argv
        .split_first()
        .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| HookError::Spawn {
            program: program.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(HookError::Failed {
            command: argv.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The installed rules; [`Hook::remove`] (also on drop) takes them away again.
#[derive(Debug)]
pub(crate) struct Hook {
    ipv6: bool,
    /// Whether the queue statement lives in nftables (else iptables).
    pub queue_in_nft: bool,
    removed: bool,
}

impl Hook {
    /// Removes leftovers of an earlier run, then installs the rules for `cfg`.
    pub(crate) fn install(cfg: &HookConfig) -> Result<Hook, HookError> {
        let queue_in_nft =
            !cfg.observe && nftnl::execute(&nftobj::queue_probe(cfg.queue_num)).is_ok();
        // Leftovers of a killed earlier run, whatever its settings.
        remove_iptables(true);
        let mut hook = Hook {
            ipv6: cfg.ipv6,
            queue_in_nft,
            removed: false,
        };
        nftnl::execute(&nftobj::ruleset(TABLE, cfg, queue_in_nft).install())?;
        for argv in &iptables_plan(cfg, queue_in_nft) {
            if let Err(e) = run(argv) {
                hook.remove();
                return Err(e);
            }
        }
        Ok(hook)
    }

    /// Removes our table and chains; idempotent, never touches other rules.
    pub(crate) fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        remove_all(self.ipv6);
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Removes our nftables table (one transaction) and our iptables rules, whatever put them
/// there.
pub(crate) fn remove_all(ipv6: bool) {
    remove_iptables(ipv6);
    if let Err(e) = nftnl::execute(&nftobj::removal(TABLE)) {
        tracing::warn!(error = %e, "removing the shield's nftables table failed");
    }
}

fn remove_iptables(ipv6: bool) {
    for (program, _) in families(ipv6) {
        let Ok(listing) = run(&cmd(program, &["-w", "-t", "mangle", "-S"])) else {
            continue;
        };
        for argv in iptables_removal(&listing, program) {
            if let Err(e) = run(&argv) {
                tracing::warn!(error = %e, "removing a shield rule failed");
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two LAN interfaces, DHCPv6 on, the NFQUEUE path: shared with `nftobj`'s tests.
    pub(crate) fn cfg() -> HookConfig {
        HookConfig {
            observe: false,
            interfaces: vec!["brlan0".into(), "wl0".into()],
            ipv6: true,
            queue_num: 67,
            queue_rate: 2000,
            queue_burst: 4000,
            mac_rate: 20,
            mac_burst: 40,
            throttle_per_minute: 10,
        }
    }

    #[test]
    fn iptables_plan_queues_dhcp_only_on_lan_interfaces() {
        let lines: Vec<String> = iptables_plan(&cfg(), false)
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert!(lines.contains(&"iptables -w -t mangle -N DHCPMGR_SHIELD".to_string()));
        assert!(lines.contains(&"iptables -w -t mangle -A DHCPMGR_SHIELD -m limit --limit 2000/second --limit-burst 4000 -j NFQUEUE --queue-num 67 --queue-bypass".to_string()));
        assert!(lines.contains(&"ip6tables -w -t mangle -I PREROUTING -i wl0 -p udp -m multiport --dports 546,547 -m comment --comment dhcpmgr-shield -j DHCPMGR_SHIELD".to_string()));
        assert_eq!(lines.len(), 2 * (2 + 2));
        assert!(iptables_plan(&cfg(), true).is_empty());
        let observe = HookConfig {
            observe: true,
            ..cfg()
        };
        assert!(
            iptables_plan(&observe, false).is_empty(),
            "observe mode needs no iptables"
        );
        let v4only = iptables_plan(
            &HookConfig {
                ipv6: false,
                ..cfg()
            },
            false,
        );
        assert!(v4only.iter().all(|c| c[0] == "iptables"));
    }

    #[test]
    fn removal_touches_only_our_rules() {
        let listing = "-P PREROUTING ACCEPT\n-N DHCPMGR_SHIELD\n-N OTHER\n\
            -A PREROUTING -i brlan0 -p udp -m multiport --dports 67,68 -m comment --comment dhcpmgr-shield -j DHCPMGR_SHIELD\n\
            -A PREROUTING -i eth0 -j OTHER\n\
            -A DHCPMGR_SHIELD -m limit --limit 2000/sec --limit-burst 4000 -j NFQUEUE --queue-num 67 --queue-bypass\n";
        let cmds: Vec<String> = iptables_removal(listing, "iptables")
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            cmds,
            vec![
                "iptables -w -t mangle -D PREROUTING -i brlan0 -p udp -m multiport --dports 67,68 -m comment --comment dhcpmgr-shield -j DHCPMGR_SHIELD",
                "iptables -w -t mangle -F DHCPMGR_SHIELD",
                "iptables -w -t mangle -X DHCPMGR_SHIELD",
            ]
        );
        assert!(iptables_removal("-P PREROUTING ACCEPT\n", "iptables").is_empty());
    }
}
