//! Entry points for fuzzing the TR-181 request side (the `fuzz/` crate's `tr181_path` and
//! `tr181_value` targets, and `tests/tr181_fuzz_smoke.rs` on stable):
//!
//! - [`path_request`]: arbitrary path strings through GetParameterValues, GetParameterNames,
//!   SetParameterValues planning, Operate planning and AddObject/DeleteObject on a tree with
//!   DHCPv4 and DHCPv6 rows ([`sample_tree`]);
//! - [`value_check`]: arbitrary values through [`value::check`] under every syntax the builtin
//!   definition uses, plus list/range/size combinations it does not use yet ([`syntaxes`]).
//!
//! Each returns for any input with a value or a fault. It panics only when a result breaks an
//! invariant of the data model (a fault not naming the parameter, a canonical value that does not
//! check as itself, a partial path answering with names outside it), so the fuzzer reports those
//! too. [`sample_updates`] are the realistic rows, shared with the TR-181 benchmark.

// Fuzz and test support: its only `expect`s are on compiled-in samples, and a panic here is the
// failure the fuzzer or the test reports.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use dhcpmgr_ipc::V4Lease;

use super::definition::{BaseType, Definition, Syntax};
use super::fault::{Fault, FaultKind};
use super::tree::Tree;
use super::value;
use crate::boottime::BootSeconds;
use crate::channels::ControllerUpdate;
use crate::config::Config;
use crate::model::DhcpStatus;
use crate::model::{ClientStatus, Instance, V4ClientSnapshot, V6ClientSnapshot};

/// The time the sample tree is rendered at.
const NOW: BootSeconds = BootSeconds(1000);

/// The configuration [`sample_updates`] takes its clients' settings from.
pub const SAMPLE_CONFIG: &str = r#"
[[dhcpv4.client]]
alias = "wan"
interface = "erouter0"
request_options = [1, 3, 6, 15, 42, 43, 125]
sent_options = [{ tag = 60, value = "64736c666f72756d2e6f7267" }, { tag = 77, value = "52444b" }]
[[dhcpv4.client]]
alias = "voice"
interface = "erouter1"
request_options = [1, 3, 6, 42, 120]
sent_options = [{ tag = 60, value = "766f696365" }]
[[dhcpv6.client]]
alias = "wan6"
interface = "erouter0"
requested_options = [23, 24, 64, 95]
[[dhcpv6.client]]
alias = "voice6"
interface = "erouter1"
requested_options = [23, 24, 31]
"#;

/// Two bound DHCPv4 clients with sent and requested options and raw lease options, and two
/// DHCPv6 clients with received options (addresses, domains, MAP-T), as the controller would
/// report them for [`SAMPLE_CONFIG`]; leases expire an hour after `now`.
pub fn sample_updates(now: BootSeconds) -> Vec<ControllerUpdate> {
    // Compiled in and checked by the smoke test: not outside input.
    let config = Config::parse(SAMPLE_CONFIG).expect("the sample configuration is valid");
    let v4 = config
        .dhcpv4_clients
        .into_iter()
        .zip(1u8..)
        .map(|(settings, n)| {
            let third = 4 * n;
            let mut lease = V4Lease::new(Ipv4Addr::new(100, 64, third, 10), 22);
            lease.routers = vec![Ipv4Addr::new(100, 64, third, 1)];
            lease.dns_servers = vec![
                Ipv4Addr::new(198, 51, 100, 53),
                Ipv4Addr::new(198, 51, 100, 54),
            ];
            lease.domain = Some("isp.example".into());
            lease.lease_secs = Some(3600);
            lease.renewal_secs = Some(1800);
            lease.rebinding_secs = Some(3150);
            lease.server_id = Some(Ipv4Addr::new(100, 64, third, 254));
            lease.ntp_servers = vec![Ipv4Addr::new(198, 51, 100, 123)];
            lease.raw_options = BTreeMap::from([
                (43, "0104c0000201".to_string()),
                (120, "0003736970076578616d706c6503636f6d00".to_string()),
                (125, "00000de9140104c000020b0204c000020c".to_string()),
            ]);
            ControllerUpdate::V4Client(Box::new(V4ClientSnapshot {
                instance: Instance(n.into()),
                settings,
                enable: true,
                status: ClientStatus::Enabled,
                dhcp_status: DhcpStatus::Bound,
                lease: Some(lease),
                lease_expires: Some(now.after(3600)),
                stats: Default::default(),
                waiting: None,
            }))
        });
    let v6 = config
        .dhcpv6_clients
        .into_iter()
        .zip(1u8..)
        .map(|(settings, n)| {
            ControllerUpdate::V6Client(Box::new(V6ClientSnapshot {
                instance: Instance(n.into()),
                settings,
                enable: true,
                status: ClientStatus::Enabled,
                duid: format!("00010001aabbccdd02000000020{n}"),
                received_options: BTreeMap::from([
                    (23, "2001:db8::53 2001:db8::54".to_string()),
                    (24, "isp.example. lab.example.".to_string()),
                    (64, "aftr.isp.example.".to_string()),
                    (
                        95,
                        "00:5a:00:16:08:00:0f:c6:33:64:00:00:01:00:5d:00:05:06:02:04:00:01"
                            .to_string(),
                    ),
                ]),
                map: None,
                addresses: Vec::new(),
                prefixes: Vec::new(),
                stats: Default::default(),
                waiting: None,
            }))
        });
    v4.chain(v6).collect()
}

/// The builtin definition with the [`sample_updates`] rows.
pub fn sample_tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = Tree::new(builtin());
        for update in sample_updates(NOW) {
            tree.apply(&update, NOW);
        }
        tree
    })
}

fn builtin() -> Definition {
    // Compiled in and checked by the definition's own tests: not outside input.
    Definition::builtin().expect("the compiled-in TR-181 definition parses")
}

/// `(label, syntax)`: every distinct syntax of the builtin definition's parameters, labelled with
/// the first parameter using it, then syntaxes made up from the same facets in combinations the
/// definition does not use (yet).
pub fn syntaxes() -> &'static [(String, Syntax)] {
    static SYNTAXES: OnceLock<Vec<(String, Syntax)>> = OnceLock::new();
    SYNTAXES.get_or_init(|| {
        let mut out: Vec<(String, Syntax)> = Vec::new();
        for object in builtin().objects() {
            for param in &object.params {
                if !out.iter().any(|(_, s)| *s == param.syntax) {
                    out.push((
                        format!("{}{}", object.path, param.name),
                        param.syntax.clone(),
                    ));
                }
            }
        }
        let made_up = |base: BaseType, edit: &dyn Fn(&mut Syntax)| {
            let mut syntax = Syntax::new(base);
            edit(&mut syntax);
            syntax
        };
        let extra = [
            made_up(BaseType::Int, &|s| {
                s.min = Some(-1);
                s.max = Some(86400);
            }),
            made_up(BaseType::Int, &|_| {}),
            made_up(BaseType::UnsignedInt, &|s| s.list = Some(None)),
            made_up(BaseType::UnsignedInt, &|s| {
                s.list = Some(Some(16));
                s.min = Some(1);
                s.max = Some(254);
            }),
            made_up(BaseType::Int, &|s| {
                s.list = Some(Some(32));
                s.min = Some(-1);
            }),
            made_up(BaseType::HexBinary, &|s| s.list = Some(Some(64))),
            made_up(BaseType::HexBinary, &|s| s.max_length = Some(0)),
            made_up(BaseType::Boolean, &|s| s.list = Some(None)),
            made_up(BaseType::String, &|s| {
                s.list = Some(Some(40));
                s.max_length = Some(8);
                s.enumeration = vec!["Enabled".into(), "Disabled".into(), String::new()];
            }),
            made_up(BaseType::String, &|s| {
                s.list = Some(None);
                s.data_type = Some("IPv4Address".into());
                s.max_length = Some(15);
            }),
            made_up(BaseType::String, &|s| s.max_length = Some(0)),
        ];
        for (i, syntax) in extra.into_iter().enumerate() {
            if !out.iter().any(|(_, s)| *s == syntax) {
                out.push((format!("Device.X_Fuzz.Made{i}"), syntax));
            }
        }
        out
    })
}

/// One value check: the first byte picks a syntax of [`syntaxes`], the rest (as UTF-8, invalid
/// sequences replaced) is the value.
pub fn value_check(data: &[u8]) {
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    let all = syntaxes();
    let Some((name, syntax)) = all.get(usize::from(*pick) % all.len().max(1)) else {
        return;
    };
    check_value(name, syntax, &String::from_utf8_lossy(rest));
}

/// [`value::check`] of `value` for `name`, with the invariants of its answer checked: a fault
/// is a type or value fault naming the parameter; a canonical value honours the syntax's facets
/// and checks as itself.
pub fn check_value(name: &str, syntax: &Syntax, value: &str) {
    let canonical = match value::check(name, syntax, value) {
        Err(fault) => {
            assert!(
                matches!(
                    fault.kind,
                    FaultKind::InvalidParameterType | FaultKind::InvalidParameterValue
                ),
                "{name}: {value:?} gave {fault}"
            );
            assert!(
                fault.message.starts_with(&format!("{name}: ")),
                "{name}: the fault does not name the parameter: {fault}"
            );
            return;
        }
        Ok(canonical) => canonical,
    };
    let again = value::check(name, syntax, &canonical);
    assert_eq!(
        again.as_ref(),
        Ok(&canonical),
        "{name}: {value:?} became {canonical:?}, which does not check as itself"
    );
    match syntax.list {
        Some(max) => {
            if let Some(max) = max {
                assert!(
                    canonical.chars().count() <= max as usize,
                    "{name}: {canonical:?}"
                );
            }
            if !canonical.is_empty() {
                for item in canonical.split(',') {
                    item_honours(name, syntax, item);
                }
            }
        }
        None => item_honours(name, syntax, &canonical),
    }
}

/// A canonical single value within the syntax's facets.
fn item_honours(name: &str, syntax: &Syntax, item: &str) {
    let in_range =
        |n: i64| syntax.min.is_none_or(|min| n >= min) && syntax.max.is_none_or(|max| n <= max);
    let ok = match syntax.base {
        BaseType::Boolean => item == "true" || item == "false",
        BaseType::Int => item.parse::<i32>().is_ok_and(|n| in_range(n.into())),
        BaseType::UnsignedInt => item.parse::<u32>().is_ok_and(|n| in_range(n.into())),
        BaseType::UnsignedLong => item.parse::<u64>().is_ok(),
        BaseType::DateTime => super::value::is_date_time(item),
        BaseType::HexBinary => {
            item.len() % 2 == 0
                && item
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && syntax
                    .max_length
                    .is_none_or(|max| item.len() / 2 <= max as usize)
        }
        BaseType::String => {
            syntax
                .max_length
                .is_none_or(|max| item.chars().count() <= max as usize)
                && (syntax.enumeration.is_empty() || syntax.enumeration.iter().any(|e| e == item))
                && (syntax.data_type.as_deref() != Some("IPv4Address")
                    || item.is_empty()
                    || item.parse::<Ipv4Addr>().is_ok())
        }
    };
    assert!(
        ok,
        "{name}: canonical value {item:?} breaks its syntax {syntax:?}"
    );
}

/// Pieces path strings are made of in token mode: every segment of the definition's object paths
/// and every parameter and command name, instance numbers good and bad, and separators.
fn vocabulary() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words = BTreeSet::new();
        for object in builtin().objects() {
            for segment in object.path.split_inclusive('.') {
                words.insert(segment.to_string());
            }
            words.insert(object.path.clone());
            words.insert(object.path.replace("{i}", "1"));
            for param in &object.params {
                words.insert(param.name.clone());
            }
            words.extend(object.commands.iter().cloned());
        }
        for piece in [
            "0.",
            "1.",
            "2.",
            "3.",
            "4294967295.",
            "4294967296.",
            "-1.",
            "01.",
            "+1.",
            " 1.",
            "1",
            "2",
            ".",
            "..",
            "",
            "{i}",
            "()",
            "(",
            ")",
            "\n",
            "=",
            "=true",
            "=1",
            "=false",
            "=0",
            "=",
            ",",
            " ",
            "\0",
            "é",
            "Device",
            "*",
            "#",
            "%",
            "X_RDK_",
        ] {
            words.insert(piece.to_string());
        }
        words.into_iter().collect()
    })
}

/// The text of a request: after a first byte that is even, the bytes as UTF-8 (invalid sequences
/// replaced); after an odd one, each byte a piece of [`vocabulary`], so that the fuzzer reaches
/// real paths quickly.
pub fn request_text(data: &[u8]) -> String {
    let Some((mode, rest)) = data.split_first() else {
        return String::new();
    };
    if mode % 2 == 0 {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let words = vocabulary();
    rest.iter()
        .filter_map(|b| words.get(usize::from(*b) % words.len().max(1)))
        .map(String::as_str)
        .collect()
}

/// One request on [`sample_tree`]: the first byte picks the method, the rest is the text
/// ([`request_text`]) — lines are the names (GetParameterValues), `name=value` pairs
/// (SetParameterValues; `true` when there is no `=`), the path (GetParameterNames, AddObject,
/// DeleteObject: first line) or the command and its `key=value` arguments (Operate).
pub fn path_request(data: &[u8]) {
    let Some((method, rest)) = data.split_first() else {
        return;
    };
    let text = request_text(rest);
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let first = lines.first().map_or("", String::as_str);
    let pairs = || {
        lines
            .iter()
            .map(|line| match line.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => (line.clone(), "true".to_string()),
            })
            .collect::<Vec<_>>()
    };
    let tree = sample_tree();
    match method % 6 {
        0 => get_values(tree, &lines),
        1 => get_names(tree, first, false),
        2 => get_names(tree, first, true),
        3 => {
            let values = pairs();
            if let Ok(requests) = tree.plan_set(&values).map_err(|f| fault_ok(&f)) {
                assert!(requests.len() <= values.len(), "{values:?} → {requests:?}");
            }
        }
        4 => {
            let args: HashMap<String, String> = pairs().into_iter().skip(1).collect();
            if let Ok(request) = tree.plan_operate(first, &args).map_err(|f| fault_ok(&f)) {
                let object = format!("{}.", request.client.object_path());
                assert!(
                    first.starts_with(&object) && first.ends_with("()"),
                    "{first:?} → {request:?}"
                );
            }
        }
        _ => {
            if let Err(fault) = tree.plan_add(first) {
                fault_ok(&fault);
            }
            if let Err(fault) = tree.plan_delete(first) {
                fault_ok(&fault);
            }
        }
    }
}

/// GetParameterValues: every full name answered exactly by itself, every answer inside what was
/// asked.
fn get_values(tree: &Tree, names: &[String]) {
    let Ok(values) = tree.get_values(names, NOW).map_err(|f| fault_ok(&f)) else {
        return;
    };
    for name in names.iter().filter(|n| !n.ends_with('.')) {
        assert!(
            values.iter().any(|(n, _, _)| n == name),
            "{name:?} is not answered"
        );
    }
    for (name, type_name, _) in &values {
        assert!(
            names
                .iter()
                .any(|n| n == name || (n.ends_with('.') && name.starts_with(n.as_str()))),
            "{name} answers none of {names:?}"
        );
        assert!(
            [
                "boolean",
                "int",
                "unsignedInt",
                "unsignedLong",
                "string",
                "hexBinary",
                "dateTime"
            ]
            .contains(&type_name.as_str()),
            "{name}: type {type_name}"
        );
    }
}

/// GetParameterNames: everything inside the path; with `next_level`, nothing but its children.
fn get_names(tree: &Tree, path: &str, next_level: bool) {
    let Ok(names) = tree.get_names(path, next_level).map_err(|f| fault_ok(&f)) else {
        return;
    };
    for (name, _) in &names {
        assert!(name.starts_with(path), "{path:?} → {name}");
        if next_level {
            let rest = &name[path.len()..];
            let child = !rest.is_empty() && rest.find('.').is_none_or(|dot| dot + 1 == rest.len());
            assert!(child, "{path:?} (next level) → {name}");
        }
    }
    if !path.is_empty() && !path.ends_with('.') {
        assert_eq!(names.len(), 1, "{path:?} → {names:?}");
    }
}

/// A fault has a message that names what it is about.
fn fault_ok(fault: &Fault) {
    assert!(
        !fault.message.is_empty(),
        "a fault without a message: {fault:?}"
    );
}

/// The definition path of a concrete parameter or object path: instance numbers become `{i}`
/// (`Device.DHCPv4.Client.1.IPAddress` → `Device.DHCPv4.Client.{i}.IPAddress`).
pub fn definition_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{i}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}
