//! `dhcpmgrctl`: the operator's CLI for the dhcpmgr daemon (see `dhcpmgr::ctl`).

fn main() -> std::process::ExitCode {
    dhcpmgr::ctl::main()
}
