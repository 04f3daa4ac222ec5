//! The LAN side of the lab (docs/testing.md#the-lab), for the DHCP shield: a `lan` namespace of client hosts
//! joined to the `cpe` namespace's bridge [`LAN_BRIDGE`] (192.168.1.1/24) by one veth pair per
//! host, a LAN DHCP server (dnsmasq in `cpe` on the bridge), busybox udhcpc as a LAN client, and
//! a rogue DHCP server (dnsmasq on a LAN host). Built with [`Lab::lan`]; everything goes away
//! when the [`Lan`] and the lab are dropped.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::netns::{self, Netns};
use crate::process::{log_tail, poll, Guarded};
use crate::Lab;

/// The gateway's LAN bridge in `cpe`, the shield's interface.
pub const LAN_BRIDGE: &str = "brlan0";
/// The gateway's address on [`LAN_BRIDGE`] (/24).
pub const LAN_GW: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

/// Tools the LAN needs besides the lab's own, with their Debian packages.
const TOOLS: &[(&str, &str)] = &[
    ("dnsmasq", "dnsmasq-base"),
    ("nft", "nftables"),
    ("iptables", "iptables"),
];

/// The LAN: its namespace, the hosts made so far, the DHCP servers running.
pub struct Lan {
    servers: Vec<Guarded>,
    ns: Netns,
    cpe: String,
    dir: PathBuf,
    hosts: u32,
}

/// A client host in the `lan` namespace: one interface, bridged into [`LAN_BRIDGE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanHost {
    pub ifname: String,
    pub mac: String,
}

/// What one udhcpc run got.
#[derive(Debug)]
pub struct LanLease {
    pub addr: Option<Ipv4Addr>,
    pub output: Output,
}

impl Lab {
    /// Builds the LAN: checks dnsmasq/nft/iptables, creates `<lab>-lan`, the bridge
    /// [`LAN_BRIDGE`] with [`LAN_GW`] in `cpe`. Panics with a clear message on failure.
    pub fn lan(&self) -> Lan {
        let missing: Vec<String> = TOOLS
            .iter()
            .filter(|(tool, _)| !on_path(tool))
            .map(|(tool, pkg)| format!("{tool} not found: apt-get install {pkg}"))
            .collect();
        if !missing.is_empty() {
            panic!(
                "LAN lab preconditions not met (scripts/install-deps.sh installs everything):\n  {}",
                missing.join("\n  ")
            );
        }
        let ns = Netns::create(format!("{}-lan", self.name()));
        // Hosts' link-local addresses usable at once (no duplicate address detection).
        let dad = ns.run(&[
            "sh",
            "-c",
            "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
        ]);
        assert!(
            dad.status.success(),
            "cannot turn off DAD in the lan namespace: {dad:?}"
        );
        let cpe = self.cpe();
        cpe.ip(&["link", "add", LAN_BRIDGE, "type", "bridge"]);
        cpe.ip(&["addr", "add", &format!("{LAN_GW}/24"), "dev", LAN_BRIDGE]);
        cpe.ip(&["link", "set", LAN_BRIDGE, "up"]);
        Lan {
            servers: Vec::new(),
            ns,
            cpe: cpe.name().to_string(),
            dir: self.dir().to_path_buf(),
            hosts: 0,
        }
    }
}

/// The shield's nftables table in `cpe`.
const SHIELD_TABLE: &str = "dhcpmgr_shield";

impl Lab {
    /// The MACs in set `set` (`deny`, `throttle`) of the shield's table in `cpe`, as
    /// `nft -j list set` reports them; `None` when the set cannot be listed (no table).
    pub fn shield_set(&self, set: &str) -> Option<BTreeSet<String>> {
        let out = self
            .cpe()
            .run(&["nft", "-j", "list", "set", "inet", SHIELD_TABLE, set]);
        if !out.status.success() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("nft -j list set {set} is not JSON: {e}"));
        let mut macs = BTreeSet::new();
        for item in json["nftables"].as_array().into_iter().flatten() {
            for elem in item["set"]["elem"].as_array().into_iter().flatten() {
                // A plain element is its value; one with a timeout is {"elem": {"val": …}}.
                let val = elem.as_str().or_else(|| elem["elem"]["val"].as_str());
                if let Some(mac) = val {
                    macs.insert(mac.to_string());
                }
            }
        }
        Some(macs)
    }

    /// One request line on the shield's control socket at `socket` and its parsed answer line.
    pub fn shield_request(
        &self,
        socket: &Path,
        request: &serde_json::Value,
    ) -> std::io::Result<serde_json::Value> {
        let mut stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut line = request.to_string();
        line.push('\n');
        stream.write_all(line.as_bytes())?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer)?;
        serde_json::from_str(&answer).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("answer {answer:?}: {e}"),
            )
        })
    }
}

/// `ss -Hlun sport = :67` inside namespace `ns`.
fn listeners_on_67(ns: &str) -> String {
    std::process::Command::new("ip")
        .args(["netns", "exec", ns, "ss", "-Hlun", "sport = :67"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

impl Lan {
    /// The `lan` namespace.
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// A new host with MAC `mac`: `lanN` in `lan`, its peer `lanNp` a port of the bridge.
    pub fn host(&mut self, mac: &str) -> LanHost {
        self.hosts += 1;
        let ifname = format!("lan{}", self.hosts);
        let port = format!("{ifname}p");
        netns::ip(&[
            "link",
            "add",
            &ifname,
            "netns",
            self.ns.name(),
            "address",
            mac,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.cpe,
        ]);
        netns::ip(&[
            "-n",
            &self.cpe,
            "link",
            "set",
            &port,
            "master",
            crate::lan::LAN_BRIDGE,
        ]);
        netns::ip(&["-n", &self.cpe, "link", "set", &port, "up"]);
        self.ns.ip(&["link", "set", &ifname, "up"]);
        LanHost {
            ifname,
            mac: mac.to_string(),
        }
    }

    /// Starts dnsmasq as the gateway's LAN DHCP server on [`LAN_BRIDGE`] (192.168.1.100–199,
    /// no DNS) and waits until it listens on port 67.
    pub fn start_dhcp_server(&mut self) {
        let leases = self.dir.join("dnsmasq-lan.leases");
        let server = self.dnsmasq(
            &self.cpe,
            "dnsmasq-lan",
            &[
                &format!("--interface={LAN_BRIDGE}"),
                "--dhcp-range=192.168.1.100,192.168.1.199,255.255.255.0,1h",
                &format!("--dhcp-leasefile={}", leases.display()),
            ],
        );
        self.servers.push(server);
    }

    /// Starts a rogue DHCP server (dnsmasq, 192.168.1.50–59) on LAN host `host`, which gets
    /// the address 192.168.1.66/24 first.
    pub fn start_rogue_server(&mut self, host: &LanHost) {
        self.ns
            .ip(&["addr", "add", "192.168.1.66/24", "dev", &host.ifname]);
        let leases = self.dir.join("dnsmasq-rogue.leases");
        let server = self.dnsmasq(
            self.ns.name(),
            "dnsmasq-rogue",
            &[
                &format!("--interface={}", host.ifname),
                "--dhcp-range=192.168.1.50,192.168.1.59,255.255.255.0,1h",
                &format!("--dhcp-leasefile={}", leases.display()),
            ],
        );
        self.servers.push(server);
    }

    fn dnsmasq(&self, ns: &str, name: &str, args: &[&str]) -> Guarded {
        let log = self.dir.join(format!("{name}.log"));
        let pid = self.dir.join(format!("{name}.pid"));
        let out = fs::File::create(&log).expect("create the dnsmasq log");
        let err = out.try_clone().expect("clone the dnsmasq log");
        let mut cmd = std::process::Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns,
            "dnsmasq",
            "--no-daemon",
            "--conf-file=/dev/null",
        ])
        .args([
            "--port=0",
            "--bind-interfaces",
            "--user=root",
            "--group=root",
            "--log-dhcp",
        ])
        // No ICMP check before an offer: it delays the first OFFER by seconds.
        .arg("--no-ping")
        .arg(format!("--pid-file={}", pid.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
        let mut server = Guarded::spawn(&mut cmd, name);
        let mut exited = None;
        let listening = poll(Duration::from_secs(10), || {
            exited = server.exited();
            exited.is_some() || !listeners_on_67(ns).trim().is_empty()
        });
        if !listening || exited.is_some() {
            panic!(
                "{name} did not start serving ({exited:?})\n{}",
                log_tail(&log, 20)
            );
        }
        server
    }

    /// Runs busybox udhcpc once on `host` (`-n -q`, `tries` DISCOVERs one second apart) and
    /// returns the address it was offered and bound, if any.
    pub fn udhcpc(&self, host: &LanHost, tries: u32) -> LanLease {
        self.udhcpc_with(host, tries, &[])
    }

    /// [`Lan::udhcpc`] asking for broadcast replies (`-B`): the servers' OFFER and ACK go to
    /// every port of the bridge, and the gateway's own also loop back into its PREROUTING.
    pub fn udhcpc_broadcast(&self, host: &LanHost, tries: u32) -> LanLease {
        self.udhcpc_with(host, tries, &["-B"])
    }

    fn udhcpc_with(&self, host: &LanHost, tries: u32, extra: &[&str]) -> LanLease {
        let script = self.dir.join("lan-udhcpc.sh");
        let result = self.dir.join(format!("lan-{}.lease", host.ifname));
        let _ = fs::remove_file(&result);
        if !script.exists() {
            fs::write(
                &script,
                "#!/bin/sh\n[ \"$1\" = bound ] && echo \"$ip\" > \"$LAB_LEASE_FILE\"\nexit 0\n",
            )
            .expect("write the LAN udhcpc script");
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
                .expect("chmod the LAN udhcpc script");
        }
        let output = self
            .ns
            .command("busybox")
            .args(["udhcpc", "-f", "-n", "-q", "-i", &host.ifname])
            .args(["-t", &tries.to_string(), "-T", "1", "-A", "1"])
            .args(extra)
            .arg("-s")
            .arg(&script)
            .env("LAB_LEASE_FILE", &result)
            .output()
            .expect("run busybox udhcpc in the lan namespace");
        let addr = fs::read_to_string(&result)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        LanLease { addr, output }
    }
}
