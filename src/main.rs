//! `dhcpmgr`: the daemon's entry point. See the library for everything else.

use std::process::ExitCode;

fn main() -> ExitCode {
    match dhcpmgr::daemon::parse_args(std::env::args_os()) {
        Ok(options) => dhcpmgr::daemon::run(&options),
        Err(message) => {
            eprintln!("dhcpmgr: {message}");
            ExitCode::from(dhcpmgr::daemon::exit::USAGE)
        }
    }
}
