//! The udhcpc command line for a client, built from its configuration (pure).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::config::{HexBytes, V4ClientConfig};

/// Options busybox udhcpc puts in its parameter request list on its own.
pub(crate) const UDHCPC_DEFAULT_PRL: [u8; 7] = [1, 3, 6, 12, 15, 28, 42];

/// Everything besides the client's configuration that goes on the command line.
#[derive(Debug, Clone)]
pub(crate) struct LaunchContext<'a> {
    pub plugin: &'a Path,
    pub pid_file: &'a Path,
    /// Client identifier to send; `None` leaves udhcpc's own choice.
    pub client_id: Option<&'a HexBytes>,
    /// The address to ask for again (`-r`), from the lease the daemon still remembers.
    pub requested_address: Option<Ipv4Addr>,
}

/// How to run udhcpc: the program and the arguments that select the applet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UdhcpcProgram {
    pub program: PathBuf,
    pub leading_args: Vec<OsString>,
}

impl UdhcpcProgram {
    /// `udhcpc` as configured, or found on `PATH`, else `busybox udhcpc`.
    pub(crate) fn resolve(configured: Option<&Path>) -> Self {
        let program = configured
            .map(Path::to_path_buf)
            .or_else(|| find_on_path("udhcpc"))
            .unwrap_or_else(|| PathBuf::from("busybox"));
        let is_busybox = program.file_name().is_some_and(|n| n == "busybox");
        Self {
            program,
            leading_args: if is_busybox {
                vec!["udhcpc".into()]
            } else {
                Vec::new()
            },
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// udhcpc's arguments for `client`: foreground, our plugin as script, pid file, extra
/// requested options (`-O`), sent options (`-x`, option 60 as `-V` when it is text), the
/// stable client identifier and, when known, the address to request again.
pub(crate) fn udhcpc_args(client: &V4ClientConfig, ctx: &LaunchContext<'_>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-f".into(),
        "-i".into(),
        client.interface_name().into(),
        "-s".into(),
        ctx.plugin.into(),
        "-p".into(),
        ctx.pid_file.into(),
        "-t".into(),
        "4".into(),
        "-T".into(),
        "2".into(),
        "-A".into(),
        "5".into(),
    ];
    for code in client.requested_codes() {
        if !UDHCPC_DEFAULT_PRL.contains(&code.0) {
            args.push("-O".into());
            args.push(code.0.to_string().into());
        }
    }
    if let Some(id) = ctx.client_id {
        args.push("-x".into());
        args.push(format!("0x3d:{}", id.to_hex()).into());
    }
    for (code, value) in client.options_to_send() {
        match vendor_class_text(code.0, &value.0) {
            Some(text) => {
                args.push("-V".into());
                args.push(text.into());
            }
            None => {
                args.push("-x".into());
                args.push(format!("0x{:02x}:{}", code.0, value.to_hex()).into());
            }
        }
    }
    if let Some(address) = ctx.requested_address {
        args.push("-r".into());
        args.push(address.to_string().into());
    }
    args
}

/// Option 60 as printable text, for udhcpc's `-V`.
fn vendor_class_text(code: u8, value: &[u8]) -> Option<String> {
    if code != 60 || !value.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return None;
    }
    String::from_utf8(value.to_vec()).ok()
}

/// Client identifier derived from a MAC address: type 1 (Ethernet) then the address.
pub(crate) fn client_id_from_mac(mac: [u8; 6]) -> HexBytes {
    let mut id = vec![1u8];
    id.extend_from_slice(&mac);
    HexBytes(id)
}

/// Parses `aa:bb:cc:dd:ee:ff` as found in `/sys/class/net/IF/address`.
pub(crate) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let bytes = HexBytes::parse(text.trim()).ok()?;
    bytes.0.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn client(extra: &str) -> V4ClientConfig {
        let text = format!("[[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\n{extra}");
        Config::parse(&text).unwrap().dhcpv4_clients.remove(0)
    }

    fn args_of(client: &V4ClientConfig, requested: Option<Ipv4Addr>) -> Vec<String> {
        let id = HexBytes(vec![1, 2, 3, 4, 5, 6, 7]);
        let ctx = LaunchContext {
            plugin: Path::new("/usr/bin/dhcpmgr-udhcpc-plugin"),
            pid_file: Path::new("/run/dhcpmgr/udhcpc-wan.pid"),
            client_id: Some(&id),
            requested_address: requested,
        };
        udhcpc_args(client, &ctx)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    fn pairs(args: &[String], flag: &str) -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].clone())
            .collect()
    }

    #[test]
    fn foreground_with_plugin_pidfile_and_client_id() {
        let args = args_of(&client(""), None);
        assert!(args.contains(&"-f".to_string()));
        assert_eq!(pairs(&args, "-i"), ["erouter0"]);
        assert_eq!(pairs(&args, "-s"), ["/usr/bin/dhcpmgr-udhcpc-plugin"]);
        assert_eq!(pairs(&args, "-p"), ["/run/dhcpmgr/udhcpc-wan.pid"]);
        assert_eq!(pairs(&args, "-x"), ["0x3d:01020304050607"]);
        assert!(pairs(&args, "-r").is_empty());
    }

    #[test]
    fn requests_only_options_beyond_udhcpc_defaults() {
        let args = args_of(
            &client("request_options = [1, 3, 6, 15, 28, 42, 121, 125]"),
            None,
        );
        assert_eq!(pairs(&args, "-O"), ["121", "125"]);
    }

    #[test]
    fn vendor_class_text_goes_as_dash_v_other_options_as_hex() {
        let c = client(
            "sent_options = [{ tag = 60, value = \"64736c666f72756d2e6f7267\" }, { tag = 77, value = \"0102\" }]",
        );
        let args = args_of(&c, None);
        assert_eq!(pairs(&args, "-V"), ["dslforum.org"]);
        assert_eq!(pairs(&args, "-x"), ["0x3d:01020304050607", "0x4d:0102"]);
        let binary = client("sent_options = [{ tag = 60, value = \"00ff\" }]");
        assert_eq!(pairs(&args_of(&binary, None), "-x")[1], "0x3c:00ff");
    }

    #[test]
    fn asks_for_the_remembered_address() {
        let args = args_of(&client(""), Some(Ipv4Addr::new(192, 0, 2, 100)));
        assert_eq!(pairs(&args, "-r"), ["192.0.2.100"]);
    }

    #[test]
    fn client_id_from_sysfs_mac() {
        let mac = parse_mac("02:00:5e:10:00:01\n").unwrap();
        assert_eq!(client_id_from_mac(mac).to_hex(), "0102005e100001");
        assert_eq!(parse_mac("02:00:5e"), None);
        assert_eq!(parse_mac("zz:00:5e:10:00:01"), None);
    }
}
