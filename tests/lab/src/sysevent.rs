//! A recording stand-in for RDK's `sysevent` command: a shell script that appends each call's
//! arguments (`set KEY VALUE`) as one line to a file the tests read back.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The recorder script and its record file.
pub(crate) struct SyseventRecorder {
    script: PathBuf,
    record: PathBuf,
}

impl SyseventRecorder {
    /// Writes the script as `<dir>/bin/sysevent`, recording into `<dir>/sysevents.log`.
    pub(crate) fn create(dir: &Path) -> SyseventRecorder {
        let bin = dir.join("bin");
        let script = bin.join("sysevent");
        let record = dir.join("sysevents.log");
        let quoted = record
            .to_str()
            .filter(|p| !p.contains('\''))
            .expect("lab dir path is plain");
        fs::create_dir_all(&bin).expect("create bin dir in the lab dir");
        fs::write(
            &script,
            format!("#!/bin/sh\n# dhcpmgr lab: records sysevent calls\nprintf '%s %s %s\\n' \"$1\" \"$2\" \"$3\" >> '{quoted}'\n"),
        )
        .expect("write the sysevent recorder");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
            .expect("make the sysevent recorder executable");
        SyseventRecorder { script, record }
    }

    pub(crate) fn script(&self) -> &Path {
        &self.script
    }

    /// Every `set KEY VALUE` call so far, in order.
    pub(crate) fn sets(&self) -> Vec<(String, String)> {
        parse_sets(&fs::read_to_string(&self.record).unwrap_or_default())
    }

    /// Forgets the calls recorded so far.
    pub(crate) fn clear(&self) {
        let _ = fs::write(&self.record, "");
    }
}

fn parse_sets(record: &str) -> Vec<(String, String)> {
    record
        .lines()
        .filter_map(|line| line.strip_prefix("set "))
        .map(|rest| {
            let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_set_lines_and_empty_values() {
        let record =
            "set ipv4_erouter0_ipaddr 192.0.2.100\nget x \nset ipv4_erouter0_ipaddr \nset k a b\n";
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            parse_sets(record),
            [
                pair("ipv4_erouter0_ipaddr", "192.0.2.100"),
                pair("ipv4_erouter0_ipaddr", ""),
                pair("k", "a b")
            ]
        );
    }
}
