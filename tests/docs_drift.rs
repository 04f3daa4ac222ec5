//! The documents cannot drift from the code: every configuration key in docs/configuration.md
//! is one the daemon accepts and one init/dhcpmgr.toml shows, and the other way round; the keys
//! marked "restart" are the ones a reload cannot apply; every D-Bus method and signal in
//! docs/contracts.md is served by the daemon's interface and the other way round, and the
//! bus policy names only methods that exist; every `docs/….md#anchor` link in the tree leads to
//! a heading that exists. Pure: no bus, no root.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dhcpmgr::config::{Config, RESTART_KEYS};
use dhcpmgr::tr181::definition::Definition;
use dhcpmgr::tr181::service::DataModel;
use dhcpmgr::tr181::tree::Tree;
use zbus::object_server::Interface as _;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(relative: &str) -> String {
    let path = Path::new(ROOT).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

type Keys = BTreeSet<String>;

/// The cells of every table row of `markdown` whose first cell is one backticked name.
fn table_rows(markdown: &str) -> Vec<Vec<String>> {
    markdown
        .lines()
        .filter_map(|line| line.trim().strip_prefix('|')?.strip_suffix('|'))
        .map(|row| {
            row.split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|cells| {
            let first = &cells[0];
            first.len() > 2
                && first.starts_with('`')
                && first.ends_with('`')
                && !first[1..first.len() - 1].contains('`')
        })
        .map(|mut cells| {
            cells[0] = cells[0].trim_matches('`').to_string();
            cells
        })
        .collect()
}

/// The fields serde expects where `probe` puts an unknown one, from the error it gives.
fn fields_at(probe: &str) -> Vec<String> {
    let err = Config::parse(probe)
        .err()
        .unwrap_or_else(|| panic!("an unknown key was accepted:\n{probe}"))
        .to_string();
    let expected = err
        .split_once("expected ")
        .unwrap_or_else(|| panic!("no list of expected fields in {err:?}"))
        .1;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every key the daemon accepts, as `section.key` and `section.table[].key`.
fn code_keys() -> Keys {
    const UNKNOWN: &str = "not_a_key_of_dhcpmgr = 1";
    const V4: &str = "[[dhcpv4.client]]\nalias = \"a\"\ninterface = \"eth0\"\n";
    let mut keys = Keys::new();
    let sections = fields_at(UNKNOWN);
    assert!(sections.contains(&"daemon".to_string()), "{sections:?}");
    for section in &sections {
        for key in fields_at(&format!("[{section}]\n{UNKNOWN}")) {
            keys.insert(format!("{section}.{key}"));
        }
    }
    let arrays = [
        ("dhcpv4.client", format!("[[dhcpv4.client]]\n{UNKNOWN}")),
        ("dhcpv6.client", format!("[[dhcpv6.client]]\n{UNKNOWN}")),
        ("shield.client", format!("{V4}[[shield.client]]\n{UNKNOWN}")),
        ("shield.rule", format!("{V4}[[shield.rule]]\n{UNKNOWN}")),
    ];
    for (array, probe) in arrays {
        assert!(keys.contains(array), "{array} is not a key: {keys:?}");
        for key in fields_at(&probe) {
            keys.insert(format!("{array}[].{key}"));
        }
    }
    keys
}

/// The keys of docs/configuration.md's table and those it marks "restart".
fn documented_keys() -> (Keys, Keys) {
    let rows = table_rows(&read("docs/configuration.md"));
    let keys: Keys = rows.iter().map(|r| r[0].clone()).collect();
    let restart = rows
        .iter()
        .filter(|r| r.get(2).is_some_and(|c| c == "restart"))
        .map(|r| r[0].clone())
        .collect();
    (keys, restart)
}

/// The keys init/dhcpmgr.toml shows (set or commented out) and those it marks "(restart)" on
/// their line or in the comment just above them.
fn shipped_keys() -> (Keys, Keys) {
    let text = read("init/dhcpmgr.toml");
    let (mut keys, mut restart) = (Keys::new(), Keys::new());
    let mut table = String::new();
    let mut comment = String::new();
    for line in text.lines() {
        let bare = line.trim_start_matches('#').trim();
        if let Some(header) = bare.strip_prefix("[[").and_then(|h| h.split_once("]]")) {
            keys.insert(header.0.to_string());
            table = format!("{}[]", header.0);
            comment.clear();
        } else if let Some(header) = bare.strip_prefix('[').and_then(|h| h.split_once(']')) {
            table = header.0.to_string();
            comment.clear();
        } else if let Some((key, _)) = bare
            .split_once('=')
            .filter(|(k, _)| {
                !k.is_empty()
                    && k.trim()
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .filter(|_| !table.is_empty())
        {
            let key = format!("{table}.{}", key.trim());
            if line.contains("(restart)") || comment.contains("(restart)") {
                restart.insert(key.clone());
            }
            keys.insert(key);
            comment.clear();
        } else if line.starts_with('#') {
            comment.push_str(line);
        } else {
            comment.clear();
        }
    }
    (keys, restart)
}

/// Fails naming what only one side has unless `left` and `right` hold the same keys.
fn assert_same(left: (&str, &Keys), right: (&str, &Keys)) {
    let only = |a: &Keys, b: &Keys| a.difference(b).cloned().collect::<Vec<_>>();
    assert!(
        left.1 == right.1,
        "only in {}: {:?}; only in {}: {:?}",
        left.0,
        only(left.1, right.1),
        right.0,
        only(right.1, left.1)
    );
}

#[test]
fn configuration_keys_agree_between_code_docs_and_shipped_file() {
    let code = code_keys();
    let (docs, _) = documented_keys();
    let (shipped, _) = shipped_keys();
    assert!(code.len() > 50, "too few keys found in the code: {code:?}");
    assert_same(("docs/configuration.md", &docs), ("the code", &code));
    assert_same(("init/dhcpmgr.toml", &shipped), ("the code", &code));
}

#[test]
fn restart_only_keys_are_marked_as_such_in_docs_and_shipped_file() {
    let code: Keys = RESTART_KEYS.iter().map(|k| k.to_string()).collect();
    let (_, docs) = documented_keys();
    let (_, shipped) = shipped_keys();
    assert_same(("docs/configuration.md", &docs), ("RESTART_KEYS", &code));
    assert_same(("init/dhcpmgr.toml", &shipped), ("RESTART_KEYS", &code));
}

/// `(methods, signals)` of `org.dhcpmgr.DataModel1` as the daemon introspects it.
fn served_members() -> (Keys, Keys) {
    let definition = Definition::builtin().expect("the builtin data model loads");
    let tree = Arc::new(Mutex::new(Tree::new(definition)));
    let (commands, _receiver) = tokio::sync::mpsc::channel(1);
    let model = DataModel::new(tree, commands, Arc::from(Vec::new()));
    let mut xml = String::new();
    model.introspect_to_writer(&mut xml, 0);
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("introspection is not XML ({e}):\n{xml}"));
    let names = |tag: &str| -> Keys {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag))
            .filter_map(|n| n.attribute("name"))
            .map(str::to_string)
            .collect()
    };
    (names("method"), names("signal"))
}

#[test]
fn dbus_methods_and_signals_agree_between_code_and_contracts() {
    let (methods, signals) = served_members();
    assert!(methods.contains("GetParameterValues"), "{methods:?}");
    let rows = table_rows(&read("docs/contracts.md"));
    // The method table's second column is a signature `(…) → …`, the signal table's a type.
    let by_kind = |pick: fn(&str) -> bool| -> Keys {
        rows.iter()
            .filter(|r| r.len() == 3 && pick(&r[1]))
            .map(|r| r[0].clone())
            .collect()
    };
    let documented_methods = by_kind(|c| c.contains('→'));
    let documented_signals = by_kind(|c| !c.contains('→') && c.starts_with('`'));
    assert_same(
        ("docs/contracts.md", &documented_methods),
        ("the interface", &methods),
    );
    assert_same(
        ("docs/contracts.md", &documented_signals),
        ("the interface", &signals),
    );
}

#[test]
fn the_bus_policy_names_only_methods_the_daemon_serves() {
    let (methods, _) = served_members();
    let policy = read("init/org.dhcpmgr.conf");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&policy, options).expect("the policy is XML");
    let named: Keys = doc
        .descendants()
        .filter(|n| n.attribute("send_interface") == Some("org.dhcpmgr.DataModel1"))
        .filter_map(|n| n.attribute("send_member"))
        .map(str::to_string)
        .collect();
    assert!(!named.is_empty(), "no DataModel1 members in the policy");
    let unknown: Vec<_> = named.difference(&methods).collect();
    assert!(
        unknown.is_empty(),
        "the policy names {unknown:?}, not served"
    );
    // Every writing method is spelled out as denied for everyone but root.
    let writing: Keys = methods
        .iter()
        .filter(|m| !m.starts_with("Get"))
        .cloned()
        .collect();
    let missing: Vec<_> = writing.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "the policy does not mention {missing:?}"
    );
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Files below `dir` (recursively) whose name ends with one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with("data") {
                files(&path, exts, out);
            }
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
}

#[test]
fn links_into_docs_lead_to_existing_headings() {
    let docs = Path::new(ROOT).join("docs");
    let mut anchors: BTreeMap<String, Keys> = BTreeMap::new();
    for entry in fs::read_dir(&docs).expect("docs/ exists").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = fs::read_to_string(entry.path()).expect("read a doc");
        let headings = text
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .map(|l| anchor(l.trim_start_matches('#')))
            .collect();
        anchors.insert(name, headings);
    }
    let mut sources = vec![Path::new(ROOT).join("README.md")];
    for dir in [
        "docs", "src", "tests", "benches", "plugins", "scripts", "init", "fuzz",
    ] {
        files(
            &Path::new(ROOT).join(dir),
            &[".rs", ".md", ".sh", ".toml", ".conf"],
            &mut sources,
        );
    }
    let mut checked = 0;
    for source in &sources {
        let text = fs::read_to_string(source).unwrap_or_default();
        let in_docs = source.parent() == Some(docs.as_path());
        for (at, _) in text.match_indices(".md#") {
            let start = text[..at]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/')))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let file = &text[start..at];
            let file = match file.strip_prefix("docs/") {
                Some(name) => name,
                None if in_docs && !file.contains('/') => file,
                None => continue,
            };
            let rest = &text[at + 4..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            let wanted = &rest[..end];
            let headings = anchors
                .get(&format!("{file}.md"))
                .unwrap_or_else(|| panic!("{}: docs/{file}.md does not exist", source.display()));
            assert!(
                headings.contains(wanted),
                "{}: docs/{file}.md has no heading #{wanted} (has {headings:?})",
                source.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 5, "only {checked} links checked");
}
