//! What a reload (SIGHUP) can apply and what only a restart can. The clients (`[[dhcpv4.client]]`,
//! `[[dhcpv6.client]]`), `daemon.log_level` and `[shield]` are applied at once; the keys in
//! [`RESTART_KEYS`] are read only at start, so a changed value is reported, not applied.

use super::Config;

/// A key read only at start, and whether it differs between two configurations.
type RestartKey = (&'static str, fn(&Config, &Config) -> bool);

/// Every key that needs a restart, by its name in the file.
const RESTART_ONLY: [RestartKey; 12] = [
    ("daemon.state_dir", |a, b| a.state_dir != b.state_dir),
    ("daemon.run_dir", |a, b| a.run_dir != b.run_dir),
    ("daemon.udhcpc", |a, b| a.udhcpc_command != b.udhcpc_command),
    ("daemon.dibbler", |a, b| {
        a.dibbler_command != b.dibbler_command
    }),
    ("daemon.plugin_dir", |a, b| a.plugin_dir != b.plugin_dir),
    ("dbus.bus", |a, b| a.bus != b.bus),
    ("dbus.write_uids", |a, b| a.write_uids != b.write_uids),
    ("dbus.table_limit", |a, b| a.table_limit != b.table_limit),
    ("sysevent.command", |a, b| {
        a.sysevent_command != b.sysevent_command
    }),
    ("sysevent.profile", |a, b| {
        a.sysevent_profile != b.sysevent_profile
    }),
    ("rbus.enable", |a, b| a.rbus.enable != b.rbus.enable),
    ("rbus.component", |a, b| {
        a.rbus.component != b.rbus.component
    }),
];

/// The names of the keys a reload cannot apply, in file order.
pub const RESTART_KEYS: [&str; RESTART_ONLY.len()] = {
    let mut names = [""; RESTART_ONLY.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = RESTART_ONLY[i].0;
        i += 1;
    }
    names
};

/// The keys whose value in `new` differs from the one `running` was started with: they take
/// effect only at the next start.
pub fn restart_required(running: &Config, new: &Config) -> Vec<&'static str> {
    RESTART_ONLY
        .iter()
        .filter(|(_, differs)| differs(running, new))
        .map(|(key, _)| *key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration with `daemon` lines in `[daemon]`, then `sections`, then one client.
    fn config(daemon: &str, sections: &str) -> Config {
        Config::parse(&format!(
            "[daemon]\n{daemon}\n{sections}\n\
             [[dhcpv4.client]]\nalias = \"wan\"\ninterface = \"erouter0\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn reloadable_changes_need_no_restart() {
        let running = config("", "");
        let new = config(
            "log_level = \"debug\"",
            "[[dhcpv6.client]]\nalias = \"wan6\"\ninterface = \"erouter0\"\n\
             [shield]\nenable = true\ninterfaces = [\"brlan0\"]",
        );
        assert_ne!(running, new);
        assert!(restart_required(&running, &new).is_empty());
    }

    #[test]
    fn each_start_only_key_is_named_when_it_changes() {
        let running = config("", "");
        let cases = [
            ("state_dir = \"/tmp/state\"", "", "daemon.state_dir"),
            ("run_dir = \"/tmp/run\"", "", "daemon.run_dir"),
            ("udhcpc = \"/sbin/udhcpc\"", "", "daemon.udhcpc"),
            ("dibbler = \"/sbin/dibbler-client\"", "", "daemon.dibbler"),
            ("plugin_dir = \"/opt/bin\"", "", "daemon.plugin_dir"),
            ("", "[dbus]\nbus = \"session\"", "dbus.bus"),
            ("", "[dbus]\nwrite_uids = [1000]", "dbus.write_uids"),
            ("", "[dbus]\ntable_limit = 8", "dbus.table_limit"),
            ("", "[sysevent]\ncommand = \"\"", "sysevent.command"),
            (
                "",
                "[sysevent]\nprofile = \"rdk-wanmanager\"",
                "sysevent.profile",
            ),
            ("", "[rbus]\nenable = true", "rbus.enable"),
            ("", "[rbus]\ncomponent = \"eRT.test\"", "rbus.component"),
        ];
        for (daemon, sections, key) in cases {
            let new = config(daemon, sections);
            assert_eq!(restart_required(&running, &new), [key], "{key}");
        }
        let named: Vec<&str> = cases.iter().map(|(_, _, key)| *key).collect();
        assert_eq!(named, RESTART_KEYS, "every key has a case");
    }

    #[test]
    fn several_changes_are_named_in_file_order() {
        let running = config("", "");
        let new = config(
            "plugin_dir = \"/opt/bin\"",
            "[sysevent]\ncommand = \"/bin/true\"\n[dbus]\nbus = \"session\"",
        );
        assert_eq!(
            restart_required(&running, &new),
            ["daemon.plugin_dir", "dbus.bus", "sysevent.command"]
        );
        assert!(restart_required(&new, &new).is_empty());
    }
}
