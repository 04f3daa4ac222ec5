//! The program's TOML configuration (`/etc/dhcpmgr/shield-web.toml`): where the daemon's shield
//! socket and the token are, and the optional `[web]` (the stream page) and `[export]` (the
//! syslog collector) sections, at least one of which must be present. Parsed at the edge into
//! typed values; [`Config::parse`] refuses anything unsafe or unusable with a clear message
//! (among others: a wildcard listen address without `allow_unspecified = true`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file asked for.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not TOML, or has a key or type the schema does not know.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A value is out of range or missing, or neither `[web]` nor `[export]` is there; the message says which.
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The daemon's shield socket.
    pub socket: PathBuf,
    /// The access token (root only, 0600).
    pub token_file: PathBuf,
    /// `[web]`: serve the stream page; `None` without the section.
    pub web: Option<WebConfig>,
    /// `[export]`: ship events to a syslog collector; `None` without the section.
    pub export: Option<ExportConfig>,
}

/// `[web]`: the stream page and its WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub struct WebConfig {
    /// Address and port the page and its WebSocket listen on (the LAN side).
    pub listen: SocketAddr,
    /// WebSocket sessions at once; more get 503.
    pub max_connections: usize,
    /// Events per second each session may receive, and the burst above it.
    pub events_per_second: u32,
    /// Events a session may receive at once beyond `events_per_second`.
    pub burst: u32,
    /// A session that has sent nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
}

/// How the exporter reaches the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// RFC 6587 octet-counting over TCP.
    Tcp,
    /// The same inside TLS (RFC 5425).
    Tls(TlsConfig),
    /// One message per datagram (RFC 5426).
    Udp,
}

impl Transport {
    /// The transport's name as `[export] transport` writes it (`tcp`, `tls`, `udp`).
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls(_) => "tls",
            Transport::Udp => "udp",
        }
    }
}

/// `transport = "tls"`: what checks the collector, and what the collector may check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The CA certificate(s) (PEM) the collector's certificate must chain to.
    pub ca_file: PathBuf,
    /// The name its certificate must carry; none: the collector's IP address.
    pub server_name: Option<String>,
    /// A client certificate and key (PEM), for collectors that authenticate senders.
    pub cert_file: Option<PathBuf>,
    /// The key of `cert_file` (PEM); needed with it.
    pub key_file: Option<PathBuf>,
}

/// `[export]`: RFC 5424 syslog to a collector.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportConfig {
    /// The collector's address and port.
    pub collector: SocketAddr,
    /// How messages reach it.
    pub transport: Transport,
    /// Messages held while the collector is slow or away; beyond it new ones are dropped.
    pub queue: usize,
    /// Syslog facility (0–23), default 16 (local0).
    pub facility: u8,
    /// The HOSTNAME field of each message (RFC 5424 §6.2.4).
    pub hostname: String,
    /// The APP-NAME field of each message (RFC 5424 §6.2.5).
    pub app_name: String,
    /// The SD-ID of the structured data element (`name@PEN`).
    pub sd_id: String,
    /// Where the exporter's counters are written (read by `dhcpmgrctl shield status`).
    pub status_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_socket")]
    socket: PathBuf,
    #[serde(default = "default_token_file")]
    token_file: PathBuf,
    web: Option<RawWeb>,
    export: Option<RawExport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: String,
    #[serde(default)]
    allow_unspecified: bool,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
    #[serde(default = "default_rate")]
    events_per_second: u32,
    #[serde(default = "default_burst_multiplier")]
    burst_multiplier: u32,
    #[serde(default = "default_idle")]
    idle_timeout_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    collector: String,
    #[serde(default = "default_transport")]
    transport: String,
    #[serde(default = "default_queue")]
    queue: usize,
    #[serde(default = "default_facility")]
    facility: u8,
    hostname: Option<String>,
    #[serde(default = "default_app_name")]
    app_name: String,
    #[serde(default = "default_sd_id")]
    sd_id: String,
    status_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    server_name: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

fn default_socket() -> PathBuf {
    PathBuf::from("/run/dhcpmgr/shield.sock")
}
fn default_token_file() -> PathBuf {
    PathBuf::from("/var/lib/dhcpmgr/shield-web.token")
}
fn default_max_connections() -> usize {
    4
}
fn default_rate() -> u32 {
    200
}
fn default_burst_multiplier() -> u32 {
    2
}
fn default_idle() -> u64 {
    300
}
fn default_transport() -> String {
    "tcp".into()
}
fn default_queue() -> usize {
    10_000
}
fn default_facility() -> u8 {
    16
}
fn default_app_name() -> String {
    "dhcpmgr-shield".into()
}
/// 32473 is the private enterprise number RFC 5612 sets aside for examples and documentation;
/// an operator with a number of its own sets `sd_id`.
fn default_sd_id() -> String {
    "dhcp@32473".into()
}

/// The export status file's name, next to the shield socket: `dhcpmgrctl shield status`
/// looks for this name (its `EXPORT_STATUS_FILE`; `tests/export_lab.rs` checks they agree).
pub const EXPORT_STATUS_FILE: &str = "shield-export.json";

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

/// RFC 5424 PRINTUSASCII (33–126) of 1 to `max` characters, without `extra` characters.
fn printable(value: &str, max: usize, extra: &[char]) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| ('!'..='~').contains(&c) && !extra.contains(&c))
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, system_hostname)
    }

    /// Validates the TOML `text`; `hostname` gives the default syslog HOSTNAME.
    pub fn parse(text: &str, hostname: impl FnOnce() -> String) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        if raw.web.is_none() && raw.export.is_none() {
            return Err(invalid("nothing to do: configure [web], [export] or both"));
        }
        let web = raw.web.map(web_config).transpose()?;
        let socket_dir = raw
            .socket
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let export = raw
            .export
            .map(|e| export_config(e, &socket_dir, hostname))
            .transpose()?;
        Ok(Config {
            socket: raw.socket,
            token_file: raw.token_file,
            web,
            export,
        })
    }
}

fn web_config(raw: RawWeb) -> Result<WebConfig, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        invalid(format!(
            "[web] listen {:?} is not an address:port (e.g. 192.168.1.1:8080)",
            raw.listen
        ))
    })?;
    if listen.ip().is_unspecified() && !raw.allow_unspecified {
        return Err(invalid(format!(
            "[web] listen {listen} would serve every interface, the WAN side included: give the \
             LAN address, or set allow_unspecified = true if that is really meant"
        )));
    }
    if raw.max_connections == 0 || raw.events_per_second == 0 || raw.burst_multiplier == 0 {
        return Err(invalid(
            "[web] max_connections, events_per_second and burst_multiplier must be at least 1",
        ));
    }
    if raw.idle_timeout_secs == 0 {
        return Err(invalid("[web] idle_timeout_secs must be at least 1"));
    }
    Ok(WebConfig {
        listen,
        max_connections: raw.max_connections,
        events_per_second: raw.events_per_second,
        burst: raw.events_per_second.saturating_mul(raw.burst_multiplier),
        idle_timeout: Duration::from_secs(raw.idle_timeout_secs),
    })
}

fn export_config(
    raw: RawExport,
    socket_dir: &Path,
    hostname: impl FnOnce() -> String,
) -> Result<ExportConfig, ConfigError> {
    let collector: SocketAddr = raw.collector.parse().map_err(|_| {
        invalid(format!(
            "[export] collector {:?} is not an address:port (e.g. 192.0.2.10:514)",
            raw.collector
        ))
    })?;
    let transport = match raw.transport.as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        "tls" => Transport::Tls(TlsConfig {
            ca_file: raw.ca_file.clone().ok_or_else(|| {
                invalid("[export] transport \"tls\" needs ca_file (the collector's CA, PEM)")
            })?,
            server_name: raw.server_name.clone(),
            cert_file: raw.cert_file.clone(),
            key_file: raw.key_file.clone(),
        }),
        other => {
            return Err(invalid(format!(
                "[export] transport {other:?}: use \"tcp\", \"tls\" or \"udp\""
            )))
        }
    };
    if !matches!(transport, Transport::Tls(_))
        && (raw.ca_file.is_some()
            || raw.server_name.is_some()
            || raw.cert_file.is_some()
            || raw.key_file.is_some())
    {
        return Err(invalid(
            "[export] ca_file, server_name, cert_file and key_file go with transport = \"tls\"",
        ));
    }
    if raw.cert_file.is_some() != raw.key_file.is_some() {
        return Err(invalid("[export] cert_file and key_file go together"));
    }
    if raw.queue == 0 {
        return Err(invalid("[export] queue must be at least 1"));
    }
    if raw.facility > 23 {
        return Err(invalid("[export] facility is 0 to 23"));
    }
    let hostname = raw.hostname.unwrap_or_else(hostname);
    if !printable(&hostname, 255, &[]) {
        return Err(invalid(format!(
            "[export] hostname {hostname:?}: 1 to 255 printable ASCII characters"
        )));
    }
    if !printable(&raw.app_name, 48, &[]) {
        return Err(invalid(
            "[export] app_name: 1 to 48 printable ASCII characters",
        ));
    }
    if !printable(&raw.sd_id, 32, &['=', ']', '"']) || !raw.sd_id.contains('@') {
        return Err(invalid(format!(
            "[export] sd_id {:?}: name@enterprise-number, at most 32 characters",
            raw.sd_id
        )));
    }
    Ok(ExportConfig {
        collector,
        transport,
        queue: raw.queue,
        facility: raw.facility,
        hostname,
        app_name: raw.app_name,
        sd_id: raw.sd_id,
        status_file: raw
            .status_file
            .unwrap_or_else(|| socket_dir.join(EXPORT_STATUS_FILE)),
    })
}

/// The kernel's host name, `-` (RFC 5424's nil value) when unknown.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| printable(h, 255, &[]))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, || "gw".into())
    }

    #[test]
    fn web_defaults() {
        let c = parse("[web]\nlisten = \"192.168.1.1:8080\"\n").unwrap();
        let web = c.web.unwrap();
        assert_eq!(web.listen, "192.168.1.1:8080".parse().unwrap());
        assert_eq!((web.events_per_second, web.burst), (200, 400));
        assert_eq!(c.socket, PathBuf::from("/run/dhcpmgr/shield.sock"));
        assert!(c.export.is_none());
    }

    #[test]
    fn export_defaults() {
        let c = parse("socket = \"/tmp/x/shield.sock\"\n[export]\ncollector = \"192.0.2.1:514\"\n")
            .unwrap();
        let e = c.export.unwrap();
        assert_eq!(e.transport, Transport::Tcp);
        assert_eq!(e.hostname, "gw");
        assert_eq!(e.status_file, PathBuf::from("/tmp/x/shield-export.json"));
        assert_eq!(e.sd_id, "dhcp@32473");
    }

    #[test]
    fn tls_export() {
        let c = parse(
            "[export]\ncollector = \"192.0.2.1:6514\"\ntransport = \"tls\"\nca_file = \"/etc/ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            c.export.unwrap().transport,
            Transport::Tls(TlsConfig {
                ca_file: "/etc/ca.pem".into(),
                server_name: None,
                cert_file: None,
                key_file: None
            })
        );
    }

    #[test]
    fn wildcard_needs_an_explicit_yes() {
        for any in ["0.0.0.0:8080", "[::]:8080"] {
            let err = parse(&format!("[web]\nlisten = \"{any}\"\n")).unwrap_err();
            assert!(err.to_string().contains("allow_unspecified"), "{err}");
            let ok = parse(&format!(
                "[web]\nlisten = \"{any}\"\nallow_unspecified = true\n"
            ));
            assert!(ok.is_ok());
        }
    }

    #[test]
    fn the_installed_example_is_valid() {
        let c = parse(include_str!("../init/shield-web.toml")).unwrap();
        assert_eq!(c.web.unwrap().listen, "10.0.0.1:8080".parse().unwrap());
        assert!(c.export.is_none(), "export is commented out in the example");
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "[web]\nlisten = \"lan:80\"\n",
            "[web]\nlisten = \"192.168.1.1:80\"\nmax_connections = 0\n",
            "[web]\nlisten = \"192.168.1.1:80\"\nport = 1\n",
            "[export]\ncollector = \"192.0.2.1:514\"\ntransport = \"kafka\"\n",
            "[export]\ncollector = \"192.0.2.1:514\"\nfacility = 24\n",
            "[export]\ncollector = \"192.0.2.1:514\"\nsd_id = \"dhcp\"\n",
            "[export]\ncollector = \"192.0.2.1:514\"\nhostname = \"a b\"\n",
            "[export]\ncollector = \"192.0.2.1:514\"\nqueue = 0\n",
            "[export]\ncollector = \"192.0.2.1:6514\"\ntransport = \"tls\"\n",
            "[export]\ncollector = \"192.0.2.1:514\"\nca_file = \"/ca.pem\"\n",
            "[export]\ncollector = \"192.0.2.1:6514\"\ntransport = \"tls\"\nca_file = \"/ca.pem\"\ncert_file = \"/c.pem\"\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
