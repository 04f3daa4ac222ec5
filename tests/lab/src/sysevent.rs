//! A recording stand-in for RDK's `sysevent` command: a shell script that appends each call's
//! arguments (`set KEY VALUE`) as one line to a file the tests read back. While a gate file
//! exists it fails instead (exit 1, as when syseventd is not up yet), recording the attempt in
//! a second file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The recorder script and its record file.
pub(crate) struct SyseventRecorder {
    script: PathBuf,
    record: PathBuf,
    gate: PathBuf,
    failures: PathBuf,
}

impl SyseventRecorder {
    /// Writes the script as `<dir>/bin/sysevent`, recording into `<dir>/sysevents.log`.
    pub(crate) fn create(dir: &Path) -> SyseventRecorder {
        let bin = dir.join("bin");
        let script = bin.join("sysevent");
        let record = dir.join("sysevents.log");
        let gate = dir.join("sysevent.fail");
        let failures = dir.join("sysevents.failed.log");
        let quoted = |path: &Path| {
            path.to_str()
                .filter(|p| !p.contains('\''))
                .expect("lab dir path is plain")
                .to_owned()
        };
        fs::create_dir_all(&bin).expect("create bin dir in the lab dir");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n# dhcpmgr lab: records sysevent calls; fails while the gate exists\n\
                 if [ -e '{}' ]; then printf '%s %s %s\\n' \"$1\" \"$2\" \"$3\" >> '{}'; exit 1; fi\n\
                 printf '%s %s %s\\n' \"$1\" \"$2\" \"$3\" >> '{}'\n",
                quoted(&gate),
                quoted(&failures),
                quoted(&record)
            ),
        )
        .expect("write the sysevent recorder");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
            .expect("make the sysevent recorder executable");
        SyseventRecorder {
            script,
            record,
            gate,
            failures,
        }
    }

    /// Makes every call fail (exit 1) from now on, or succeed again.
    pub(crate) fn set_failing(&self, failing: bool) {
        if failing {
            fs::write(&self.gate, "").expect("create the sysevent gate file");
        } else {
            match fs::remove_file(&self.gate) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("cannot remove the sysevent gate file: {e}"),
            }
        }
    }

    /// Every `set KEY VALUE` call that failed, in order.
    pub(crate) fn failed_sets(&self) -> Vec<(String, String)> {
        parse_sets(&fs::read_to_string(&self.failures).unwrap_or_default())
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
