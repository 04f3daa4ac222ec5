//! `dhcpmgr`: the daemon's entry point. See the library for everything else.

use std::process::ExitCode;

fn main() -> ExitCode {
    match dhcpmgr::daemon::parse_args(std::env::args_os()) {
        Ok(options) => dhcpmgr::daemon::run(&options),
        Err(e) => {
            eprintln!("dhcpmgr: {e}");
            ExitCode::from(dhcpmgr::daemon::exit::USAGE)
        }
    }
}
