//! Named network namespaces (`ip netns`): create, run commands inside, inspect interfaces, and
//! delete again — killing whatever still runs inside — when dropped.

use std::ffi::OsStr;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::process::poll;

/// Prefix of every lab namespace name: `dm-<pid>-<counter>-<role>`.
const PREFIX: &str = "dm-";

/// A named network namespace owned by the lab; dropping it kills every process inside and
/// deletes it (which also removes the interfaces in it, e.g. a veth end).
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` with its loopback up.
    pub(crate) fn create(name: String) -> Netns {
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <ns> ARGS…`; panics with ip's stderr on failure, returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec <ns> program`); add
    /// arguments and environment as usual.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `argv` inside the namespace and returns its output, whatever the exit status;
    /// panics only if it cannot be started.
    pub fn run(&self, argv: &[&str]) -> Output {
        let (program, args) = argv.split_first().expect("run needs a program");
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {argv:?} in netns {}: {e}", self.name))
    }

    /// Runs `argv` inside the namespace, panics (with stderr) unless it exits 0, returns stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        checked(&format!("{argv:?} in netns {}", self.name), self.run(argv))
    }

    /// Addresses (IPv4 and IPv6, with prefix length) on interface `ifname`, as `ip -j addr` lists them.
    pub fn addrs(&self, ifname: &str) -> Vec<(IpAddr, u8)> {
        let json = self.ip(&["-j", "addr", "show", "dev", ifname]);
        parse_addrs(&json).unwrap_or_else(|| panic!("unexpected `ip -j addr` output: {json}"))
    }

    /// IPv4 addresses (with prefix length) on interface `ifname`.
    pub fn ipv4_addrs(&self, ifname: &str) -> Vec<(Ipv4Addr, u8)> {
        self.addrs(ifname)
            .into_iter()
            .filter_map(|(addr, len)| match addr {
                IpAddr::V4(v4) => Some((v4, len)),
                IpAddr::V6(_) => None,
            })
            .collect()
    }

    /// The MTU of interface `ifname`.
    pub fn mtu(&self, ifname: &str) -> u32 {
        let json = self.ip(&["-j", "link", "show", "dev", ifname]);
        serde_json::from_str::<Value>(&json)
            .ok()
            .and_then(|v| v[0]["mtu"].as_u64())
            .and_then(|mtu| u32::try_from(mtu).ok())
            .unwrap_or_else(|| panic!("unexpected `ip -j link` output: {json}"))
    }

    /// Pids of all processes inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        pids(&self.name)
    }

    /// Deletes namespaces of earlier lab runs whose process is gone (e.g. killed by a timeout),
    /// killing what still runs in them.
    pub(crate) fn sweep_stale() {
        let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
            return;
        };
        for name in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
        {
            let owner = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('-').next()?.parse().ok());
            if owner.is_some_and(|pid| !alive(pid)) {
                remove(name);
            }
        }
    }

    /// Unique name `dm-<pid>-<counter>` for the lab's namespaces (`<name>-isp`, `<name>-cpe`).
    pub(crate) fn lab_name(counter: u32) -> String {
        format!("{PREFIX}{}-{counter}", std::process::id())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
    })
}

/// Kills everything in namespace `name` and deletes it; never panics.
fn remove(name: &str) {
    poll(Duration::from_secs(3), || {
        let pids = pids(name);
        for pid in &pids {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        pids.is_empty()
    });
    let _ = Command::new("ip").args(["netns", "delete", name]).output();
}

fn pids(name: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `ip ARGS…` in the current namespace; panics with ip's stderr on failure, returns stdout.
pub(crate) fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip {args:?}: {e}"));
    checked(&format!("ip {}", args.join(" ")), out)
}

fn checked(what: &str, out: Output) -> String {
    if !out.status.success() {
        panic!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn parse_addrs(json: &str) -> Option<Vec<(IpAddr, u8)>> {
    let links: Value = serde_json::from_str(json).ok()?;
    links
        .as_array()?
        .iter()
        .flat_map(|link| link["addr_info"].as_array().into_iter().flatten())
        .map(|a| {
            Some((
                a["local"].as_str()?.parse().ok()?,
                u8::try_from(a["prefixlen"].as_u64()?).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_json_addresses() {
        let json = r#"[{"ifname":"erouter0","mtu":1500,"addr_info":[
            {"family":"inet","local":"192.0.2.100","prefixlen":24},
            {"family":"inet6","local":"fe80::1","prefixlen":64}]}]"#;
        assert_eq!(
            parse_addrs(json),
            Some(vec![
                ("192.0.2.100".parse().unwrap(), 24),
                ("fe80::1".parse().unwrap(), 64)
            ])
        );
        assert_eq!(parse_addrs("[]"), Some(vec![]));
        assert_eq!(parse_addrs("garbage"), None);
    }
}
