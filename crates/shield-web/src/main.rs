//! `dhcpmgr-shield-web [--config PATH] [--rotate-token | --ensure-token]`: runs the stream page
//! and/or the exporter as configured; `--rotate-token` replaces the access token and prints
//! the new one, `--ensure-token` creates it if missing (for install scripts).

// This crate needs no `unsafe`; forbidding it here means no item may allow it.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use dhcpmgr_shield_web::config::Config;
use dhcpmgr_shield_web::upstream::{self, EventSink, Feed};
use dhcpmgr_shield_web::{export, token, web};

const USAGE: &str = "\
usage: dhcpmgr-shield-web [--config PATH] [--rotate-token | --ensure-token]

  --config PATH     configuration (default /etc/dhcpmgr/shield-web.toml)
  --rotate-token    write a new access token to token_file and print it
  --ensure-token    create the access token if token_file has none
";

enum Mode {
    Run,
    Rotate,
    Ensure,
}

fn parse_args() -> Result<(PathBuf, Mode), String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut config = PathBuf::from("/etc/dhcpmgr/shield-web.toml");
    let mut mode = Mode::Run;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("config") => config = parser.value().map_err(|e| e.to_string())?.into(),
            Long("rotate-token") => mode = Mode::Rotate,
            Long("ensure-token") => mode = Mode::Ensure,
            Long("help") | Short('h') => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok((config, mode))
}

fn main() -> ExitCode {
    // RUST_LOG is one level (error, warn, info, debug, trace); info by default.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .init();
    let (path, mode) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("dhcpmgr-shield-web: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dhcpmgr-shield-web: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let token_file = config.token_file.display().to_string();
    match mode {
        Mode::Rotate => match token::rotate(&config.token_file) {
            Ok(t) => {
                println!("{t}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("dhcpmgr-shield-web: cannot write {token_file}: {e}");
                ExitCode::from(1)
            }
        },
        Mode::Ensure => match token::ensure(&config.token_file) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dhcpmgr-shield-web: {token_file}: {e}");
                ExitCode::from(1)
            }
        },
        Mode::Run => run(config),
    }
}

fn run(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dhcpmgr-shield-web: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let feed = Feed::new(config.socket.clone());
        let sink = match config.export.clone() {
            Some(e) => {
                tracing::info!(collector = %e.collector, transport = e.transport.name(), queue = e.queue, "exporting to the collector");
                match export::start(e) {
                    Ok(exporter) => {
                        tokio::spawn(export::follow_audit(config.socket.clone(), exporter.clone()));
                        Some(exporter as Arc<dyn EventSink>)
                    }
                    Err(e) => {
                        eprintln!("dhcpmgr-shield-web: [export]: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            None => None,
        };
        if let Some(web_config) = config.web.clone() {
            match token::ensure(&config.token_file) {
                Ok(true) => {
                    tracing::info!(path = %config.token_file.display(), "access token created")
                }
                Ok(false) => {}
                Err(e) => {
                    eprintln!(
                        "dhcpmgr-shield-web: access token {}: {e}",
                        config.token_file.display()
                    );
                    return ExitCode::from(1);
                }
            }
            let listener = match web::server::bind(&web_config).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!(
                        "dhcpmgr-shield-web: cannot listen on {}: {e}",
                        web_config.listen
                    );
                    return ExitCode::from(1);
                }
            };
            tracing::info!(listen = %web_config.listen, "serving the stream page");
            let server =
                web::server::Server::new(web_config, config.token_file.clone(), feed.clone());
            tokio::spawn(web::server::serve(listener, server));
        }
        tokio::spawn(upstream::follow(feed, sink));
        wait_for_signal().await;
        tracing::info!("stopping");
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
