//! RFC 5425 transport: TLS (1.2 or newer, the system's OpenSSL) over TCP to the collector,
//! the server's certificate checked against `ca_file` and `server_name` (a host name, or the
//! collector's IP address when none is given), optionally with a client certificate for
//! collectors that authenticate their senders. Framing inside is RFC 6587 octet counting, as
//! RFC 5425 §4.3 has it.

use std::net::IpAddr;
use std::pin::Pin;

use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVersion};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::config::TlsConfig;

/// Why a TLS connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS setup: {0}")]
    Setup(#[from] openssl::error::ErrorStack),
    #[error("TLS handshake with the collector: {0}")]
    Handshake(#[from] openssl::ssl::Error),
}

/// A connector for `tls`, checked once at start so that a bad file is reported then.
pub(crate) fn connector(tls: &TlsConfig) -> Result<SslConnector, TlsError> {
    let mut builder = SslConnector::builder(SslMethod::tls_client())?;
    builder.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    builder.set_ca_file(&tls.ca_file)?;
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        builder.set_certificate_chain_file(cert)?;
        builder.set_private_key_file(key, SslFiletype::PEM)?;
        builder.check_private_key()?;
    }
    Ok(builder.build())
}

/// Runs the handshake on `tcp`, checking the certificate against `server_name` or `ip`.
pub(crate) async fn handshake(
    connector: &SslConnector,
    server_name: Option<&str>,
    ip: IpAddr,
    tcp: TcpStream,
) -> Result<SslStream<TcpStream>, TlsError> {
    let mut config = connector.configure()?;
    let ssl = match server_name {
        Some(name) => config.into_ssl(name)?,
        None => {
            config.set_use_server_name_indication(false);
            config.set_verify_hostname(false);
            config.param_mut().set_ip(ip)?;
            config.into_ssl(&ip.to_string())?
        }
    };
    let mut stream = SslStream::new(ssl, tcp)?;
    Pin::new(&mut stream).connect().await?;
    Ok(stream)
}
