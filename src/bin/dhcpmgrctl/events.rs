//! `dhcpmgrctl events`: one line per `Event` or `ValuesChanged` signal.

use std::collections::HashMap;
use std::io::Write;

use futures_util::stream::{self, StreamExt};

use super::CtlError;
use dhcpmgr::tr181::DataModel1Proxy;

/// Said on stderr once the bus routes both signals here: what is emitted after it is printed.
const FOLLOWING: &str = "dhcpmgrctl: following Event and ValuesChanged";

/// Prints the signals until the connection ends.
pub async fn follow(proxy: &DataModel1Proxy<'_>, out: &mut impl Write) -> Result<(), CtlError> {
    let events = proxy.receive_event().await?.map(|signal| {
        signal
            .args()
            .map(|a| event_line(&a.object_path, &a.kind, &a.data))
    });
    let changes = proxy
        .receive_values_changed()
        .await?
        .map(|signal| signal.args().map(|a| changes_line(&a.changes)));
    eprintln!("{FOLLOWING}");
    let mut lines = stream::select(events, changes);
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => {
                writeln!(out, "{line}")?;
                out.flush()?;
            }
            Err(e) => eprintln!("dhcpmgrctl: ignoring a malformed signal: {e}"),
        }
    }
    Err(CtlError::Closed)
}

/// `Event Device.DHCPv4.Client.1 LeaseUpdated key=value …` (keys sorted).
pub fn event_line(object_path: &str, kind: &str, data: &HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = data.iter().collect();
    pairs.sort();
    let mut line = format!("Event {object_path} {kind}");
    for (key, value) in pairs {
        line.push_str(&format!(" {key}={value}"));
    }
    line
}

/// `ValuesChanged name=value …`.
pub fn changes_line(changes: &[(String, String)]) -> String {
    let mut line = String::from("ValuesChanged");
    for (name, value) in changes {
        line.push_str(&format!(" {name}={value}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let data = HashMap::from([
            ("lease".to_string(), "3600".to_string()),
            ("address".to_string(), "192.0.2.10".to_string()),
        ]);
        assert_eq!(
            event_line("Device.DHCPv4.Client.1", "LeaseUpdated", &data),
            "Event Device.DHCPv4.Client.1 LeaseUpdated address=192.0.2.10 lease=3600"
        );
        let changes = [
            ("A.B".to_string(), "1".to_string()),
            ("A.C".to_string(), String::new()),
        ];
        assert_eq!(changes_line(&changes), "ValuesChanged A.B=1 A.C=");
    }
}
