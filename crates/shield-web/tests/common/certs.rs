//! Test certificates, made with the openssl command in a given directory: a CA and a server
//! certificate for one IP address (its subjectAltName), valid for two days. Shared by the TLS
//! lab test and the throughput bench.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files made.
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.pem`) and a certificate for `ip` signed by it (`server.pem`, `server.key`).
pub fn make_certs(dir: &Path, ip: IpAddr) -> Certs {
    fn key(out: &str) -> [&str; 5] {
        ["-newkey", "rsa:2048", "-nodes", "-keyout", out]
    }
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &key("ca.key"),
            &["-out", "ca.pem"],
            &["-subj", "/CN=dhcpmgr test CA", "-days", "2"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &key("server.key"),
            &["-out", "server.csr"],
            &["-subj", "/CN=dhcpmgr test collector"],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), format!("subjectAltName=IP:{ip}\n"))
        .expect("write the certificate extension");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-extfile",
            "san.ext",
            "-days",
            "2",
        ],
    );
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}
