//! `dhcpmgrctl events` followed from a test: the daemon's D-Bus `Event` signals as they come,
//! parsed from the lines the CLI prints (`Event PATH KIND key=value …`). [`CtlEvents::follow`]
//! returns once the CLI says on stderr that the bus routes the signals to it, so nothing the
//! test does afterwards is missed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Lab;

/// `dhcpmgrctl events` on the lab's D-Bus: the `Event` signals as they come.
pub struct CtlEvents {
    child: Child,
    lines: mpsc::Receiver<String>,
}

/// One D-Bus `Event` as `dhcpmgrctl events` prints it: `Event PATH KIND key=value …`.
#[derive(Debug, Clone)]
pub struct DbusEvent {
    pub object_path: String,
    pub kind: String,
    pub data: std::collections::BTreeMap<String, String>,
}

/// What `dhcpmgrctl events` says on stderr once it follows the signals.
const FOLLOWING: &str = "dhcpmgrctl: following Event and ValuesChanged";

impl CtlEvents {
    /// Starts `dhcpmgrctl events` and waits (10 s at most) until it follows the signals.
    pub fn follow(lab: &Lab) -> CtlEvents {
        let mut child = lab
            .ctl_command()
            .arg("events")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dhcpmgrctl events: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (ready, following) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line == FOLLOWING {
                    let _ = ready.send(());
                } else {
                    eprintln!("{line}");
                }
            }
        });
        if following.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = child.kill();
            panic!("dhcpmgrctl events did not say (within 10 s) that it follows the bus signals");
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        CtlEvents { child, lines }
    }

    /// Whether a line containing `text` comes within `timeout` (a `ValuesChanged` the test
    /// caused shows the subscription is live).
    pub fn saw(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// The next `Event` of `kind` that `accept` takes, within `timeout`.
    pub fn wait_for(
        &self,
        kind: &str,
        timeout: Duration,
        accept: impl Fn(&DbusEvent) -> bool,
    ) -> DbusEvent {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!("no D-Bus Event {kind} within {timeout:?}; saw {seen:#?}");
            };
            let mut words = line.split(' ');
            if words.next() != Some("Event") {
                continue;
            }
            let event = DbusEvent {
                object_path: words.next().unwrap_or_default().to_string(),
                kind: words.next().unwrap_or_default().to_string(),
                data: words
                    .filter_map(|w| w.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            if event.kind == kind && accept(&event) {
                return event;
            }
            seen.push(line);
        }
    }
}

impl Drop for CtlEvents {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
