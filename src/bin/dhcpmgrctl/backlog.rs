//! `dhcpmgrctl status`'s word on system events: the keys the daemon wants set and `sysevent`
//! has not confirmed, read (never written) from the daemon's ledger in its `state_dir`: from
//! `$DHCPMGR_STATE_DIR`, else the default configuration file's `state_dir`.

use std::path::PathBuf;

use dhcpmgr::config::Config;
use dhcpmgr::sysevent::Ledger;

/// Where the daemon keeps its state.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DHCPMGR_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    Config::load(std::path::Path::new(dhcpmgr::daemon::DEFAULT_CONFIG))
        .map(|c| c.state_dir)
        .unwrap_or_else(|_| PathBuf::from("/var/lib/dhcpmgr"))
}

/// One line when system events are behind, naming how many keys and the first of them.
pub fn line(ledger: &Ledger) -> Option<String> {
    let pending = ledger.pending();
    let first = pending.first()?;
    Some(format!(
        "system events behind: {} key(s) not yet set, first {} ({}); the daemon keeps retrying",
        pending.len(),
        first.key,
        first.object_path
    ))
}

/// The line for this boot's ledger in [`state_dir`], if any.
pub fn current() -> Option<String> {
    line(&Ledger::peek(&state_dir(), &dhcpmgr::boottime::boot_id())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_how_many_keys_are_behind_and_nothing_when_none_are() {
        let mut ledger = Ledger::default();
        assert_eq!(line(&ledger), None);
        ledger.desire(
            "v4-wan",
            "Device.DHCPv4.Client.1",
            vec![
                ("ipv4_erouter0_ipaddr".into(), "192.0.2.100".into()),
                ("ipv4_erouter0_dhcp_state".into(), "bound".into()),
            ],
        );
        assert_eq!(
            line(&ledger).as_deref(),
            Some("system events behind: 2 key(s) not yet set, first ipv4_erouter0_ipaddr (Device.DHCPv4.Client.1); the daemon keeps retrying")
        );
        ledger.confirm("ipv4_erouter0_ipaddr", "192.0.2.100");
        ledger.confirm("ipv4_erouter0_dhcp_state", "bound");
        assert_eq!(line(&ledger), None);
    }
}
