//! The daemon library's modules depend on each other one way only (docs/architecture.md,
//! "Modules and their dependencies"): each top-level module of `src/` has a layer, and its
//! production code may `use crate::…` only modules of lower layers. The compiler enforces the
//! boundaries between crates; this test enforces the ones inside the `dhcpmgr` crate, so that a
//! new import that points upwards (or a new module without a layer) fails here with the file
//! that has it. Pure: reads `src/` only.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every top-level module of the library with its layer: 0 imports nothing of the crate, and a
/// module may import only modules of a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("boottime", 0),
    ("systemd", 0),
    ("s46", 1),
    ("config", 2),
    ("model", 3),
    ("lease", 4),
    ("link", 4),
    ("overrides", 4),
    ("instance_numbers", 4),
    ("netlink", 5),
    ("channels", 5),
    ("sysevent", 6),
    ("tr181", 6),
    ("rbus", 7),
    ("controller", 7),
    ("tr181_thread", 8),
    ("daemon", 9),
];

/// Modules of `dhcpmgr-base` that `lib.rs` brings back under their old names: another crate, which
/// the compiler already keeps from importing the daemon, so any layer may use them.
const FROM_BASE: &[&str] = &["log_limit", "persist"];

/// The top-level module `file` (under `src/`) belongs to, or `None` for the binaries.
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(Path::new(ROOT).join("src")).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    if first == "bin" || first == "main.rs" || first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The `.rs` files below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `file` holds only tests (a `tests` module's own file or directory).
fn is_test_file(file: &Path) -> bool {
    file.components().any(|c| c.as_os_str() == "tests")
        || file.file_name().is_some_and(|n| n == "tests.rs")
}

/// The top-level modules `text` names as `crate::<module>` in its production code: everything
/// before the first `#[cfg(test)]` at the start of a line, without comments.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.insert(name);
            }
        }
    }
    modules
}

/// For each module, the modules it imports and the files that import each.
fn import_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let Some(module) = module_of(file) else {
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(ROOT).unwrap().display().to_string();
        let imports = graph.entry(module.clone()).or_default();
        for imported in crate_imports(&text) {
            if imported != module {
                imports.entry(imported).or_default().insert(shown.clone());
            }
        }
    }
    graph
}

#[test]
fn every_module_imports_only_lower_layers() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let graph = import_graph();
    let mut wrong = Vec::new();
    for (module, imports) in &graph {
        let Some(&own) = layers.get(module.as_str()) else {
            wrong.push(format!(
                "{module}: a module without a layer; add it to LAYERS in tests/module_layers.rs \
                 (and to docs/architecture.md)"
            ));
            continue;
        };
        for (imported, files) in imports {
            if FROM_BASE.contains(&imported.as_str()) {
                continue;
            }
            match layers.get(imported.as_str()) {
                Some(&theirs) if theirs < own => {}
                Some(&theirs) => wrong.push(format!(
                    "{module} (layer {own}) imports {imported} (layer {theirs}) in {files:?}"
                )),
                None => wrong.push(format!(
                    "{module} imports {imported}, a module without a layer, in {files:?}"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_layered_module_exists() {
    let graph = import_graph();
    let gone: Vec<&str> = LAYERS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !graph.contains_key(*name))
        .collect();
    assert!(
        gone.is_empty(),
        "LAYERS names modules src/ does not have: {gone:?}"
    );
    let lib = fs::read_to_string(Path::new(ROOT).join("src/lib.rs")).unwrap();
    for name in FROM_BASE {
        assert!(
            lib.contains(&format!("use dhcpmgr_base::{name};")),
            "lib.rs no longer brings {name} back from dhcpmgr-base: drop it from FROM_BASE"
        );
    }
}

#[test]
fn imports_are_read_from_production_code_only() {
    let text = "use crate::model::Instance;\n\
                // crate::daemon in a comment\n\
                let x = dhcpmgr_crate::other; let y = crate::lease::v4::plan;\n\
                #[cfg(test)]\nmod tests { use crate::daemon; }\n";
    let found: Vec<String> = crate_imports(text).into_iter().collect();
    assert_eq!(found, ["lease", "model"]);
}
