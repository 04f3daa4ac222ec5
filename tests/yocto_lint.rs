//! The Yocto layer in `yocto/meta-dhcpmgr`, checked without a Yocto build:
//!
//! - `oelint-adv` (the pinned version scripts/install-deps.sh installs) finds nothing in the
//!   recipe and `layer.conf`, with every rule on, for each release the layer claims; and it
//!   does find the fault planted in a broken copy, so a silent linter cannot pass;
//! - `dhcpmgr-crates.inc` lists exactly the crates.io packages of `Cargo.lock`, with their
//!   checksums (after a `Cargo.lock` change: run scripts/gen-yocto-crates.py);
//! - the recipe installs every binary the workspace builds for the target and only those, the
//!   files it installs exist, and `LIC_FILES_CHKSUM` matches `LICENSE`.

// Test code: a failed `unwrap`/`expect` is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The oelint-adv release the layer is kept clean against (scripts/install-deps.sh).
const OELINT_VERSION: &str = "9.11.2";
/// Where scripts/install-deps.sh puts it.
const OELINT_VENV: &str = "/opt/dhcpmgr-tools/bin/oelint-adv";
/// The releases in LAYERSERIES_COMPAT_dhcpmgr.
const RELEASES: [&str; 2] = ["whinlatter", "wrynose"];

fn layer() -> PathBuf {
    Path::new(ROOT).join("yocto/meta-dhcpmgr")
}

fn recipe_dir() -> PathBuf {
    layer().join("recipes-connectivity/dhcpmgr")
}

fn recipe() -> String {
    fs::read_to_string(recipe_dir().join("dhcpmgr_0.1.0.bb")).unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The pinned oelint-adv: `$DHCPMGR_OELINT`, the tools venv, or PATH.
fn oelint() -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::var_os("DHCPMGR_OELINT")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(OELINT_VENV)])
        .chain(std::env::split_paths(&path_var).map(|dir| dir.join("oelint-adv")));
    for path in candidates {
        let Ok(out) = Command::new(&path).arg("--version").output() else {
            continue;
        };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            version.ends_with(OELINT_VERSION),
            "{} is {version:?}, not oelint-adv {OELINT_VERSION}: run bash scripts/install-deps.sh",
            path.display()
        );
        return path;
    }
    panic!(
        "oelint-adv not found ({OELINT_VENV} or PATH): run bash scripts/install-deps.sh, which \
         installs oelint-adv=={OELINT_VERSION} from PyPI"
    );
}

fn lint(files: &[PathBuf], release: &str) -> Output {
    Command::new(oelint())
        .args(["--quiet", "--mode", "all", "--release", release])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn layer_is_clean_for_oelint_adv() {
    let files = [
        recipe_dir().join("dhcpmgr_0.1.0.bb"),
        layer().join("conf/layer.conf"),
    ];
    let compat = fs::read_to_string(&files[1]).unwrap();
    assert!(
        compat.contains(&format!(
            "LAYERSERIES_COMPAT_dhcpmgr = \"{}\"",
            RELEASES.join(" ")
        )),
        "layer.conf claims other releases than this test lints for"
    );
    for release in RELEASES {
        let out = lint(&files, release);
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "oelint-adv --release {release} has findings:\n{}",
            text(&out)
        );
    }
}

#[test]
fn oelint_adv_reports_a_broken_recipe() {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(recipe_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let broken = dir.path().join("dhcpmgr_0.1.0.bb");
    let without_license: String = recipe()
        .lines()
        .filter(|l| !l.starts_with("LICENSE ="))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&broken, without_license).unwrap();
    let out = lint(&[broken], RELEASES[0]);
    let findings = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && findings.contains("LICENSE"),
        "a recipe without LICENSE must be reported:\n{}",
        text(&out)
    );
}

#[derive(Deserialize)]
struct Lock {
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

#[test]
fn crates_inc_lists_exactly_cargo_lock() {
    let lock: Lock =
        toml::from_str(&fs::read_to_string(Path::new(ROOT).join("Cargo.lock")).unwrap()).unwrap();
    let mut locked = BTreeSet::new();
    for package in lock.package {
        let Some(source) = package.source else {
            continue;
        };
        assert!(
            source.starts_with("registry+https://github.com/rust-lang/crates.io-index"),
            "{} comes from {source}: only crates.io crates can be fetched as crate://",
            package.name
        );
        let checksum = package
            .checksum
            .unwrap_or_else(|| panic!("{} has no checksum in Cargo.lock", package.name));
        locked.insert((package.name, package.version, checksum));
    }

    let inc = fs::read_to_string(recipe_dir().join("dhcpmgr-crates.inc")).unwrap();
    let mut uris = BTreeSet::new();
    let mut sums = BTreeSet::new();
    for line in inc.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("crate://crates.io/") {
            let entry = rest.trim_end_matches('\\').trim();
            let (path, name_param) = entry.split_once(";name=").unwrap();
            let (name, version) = path.split_once('/').unwrap();
            assert_eq!(name_param, format!("{name}-{version}"), "{line}");
            uris.insert((name.to_string(), version.to_string()));
        } else if let Some(rest) = line.strip_prefix("SRC_URI[") {
            let (key, value) = rest.split_once("] = ").unwrap();
            let key = key.strip_suffix(".sha256sum").unwrap();
            sums.insert((key.to_string(), value.trim_matches('"').to_string()));
        }
    }
    let want_uris: BTreeSet<_> = locked
        .iter()
        .map(|(n, v, _)| (n.clone(), v.clone()))
        .collect();
    let want_sums: BTreeSet<_> = locked
        .iter()
        .map(|(n, v, c)| (format!("{n}-{v}"), c.clone()))
        .collect();
    let hint = "dhcpmgr-crates.inc is out of date: run scripts/gen-yocto-crates.py";
    assert_eq!(
        uris.symmetric_difference(&want_uris).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "{hint}"
    );
    assert_eq!(
        sums.symmetric_difference(&want_sums).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "{hint}"
    );
}

/// `NAME ?= "…"` / `NAME = "…"` from the recipe, single line.
fn recipe_var(recipe: &str, name: &str) -> String {
    recipe
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(name)?.trim_start();
            let value = rest
                .strip_prefix("?=")
                .or_else(|| rest.strip_prefix("??="))
                .or_else(|| rest.strip_prefix('='))?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{name} not set in the recipe"))
}

#[test]
fn recipe_installs_the_workspace_binaries_and_files() {
    let recipe = recipe();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata:\n{}", text(&out));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let excluded = "dhcpmgr-lab";
    assert!(
        recipe.contains(&format!("--workspace --exclude {excluded}")),
        "the recipe builds the workspace without the lab"
    );
    let mut built = BTreeSet::new();
    let mut packages = BTreeSet::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        packages.insert(name.to_string());
        if name == excluded {
            continue;
        }
        for target in package["targets"].as_array().unwrap() {
            if target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "bin")
            {
                built.insert(target["name"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(
        packages.contains(excluded),
        "{excluded} is a workspace member"
    );
    let installed: BTreeSet<String> = recipe_var(&recipe, "DHCPMGR_BINARIES")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(
        installed, built,
        "DHCPMGR_BINARIES vs the workspace's binaries"
    );

    for line in recipe.lines() {
        for word in line.split_whitespace() {
            if let Some(file) = word.strip_prefix("${S}/") {
                assert!(
                    matching_files(file) > 0,
                    "the recipe installs {file}, which is not in the repository"
                );
            }
        }
    }

    let chksum = recipe_var(&recipe, "LIC_FILES_CHKSUM");
    let (file, md5) = chksum
        .strip_prefix("file://")
        .and_then(|c| c.split_once(";md5="))
        .unwrap();
    let out = Command::new("md5sum")
        .arg(Path::new(ROOT).join(file))
        .output()
        .unwrap();
    let actual = String::from_utf8_lossy(&out.stdout);
    assert_eq!(actual.split_whitespace().next(), Some(md5), "md5 of {file}");
}

/// How many files of the repository `pattern` names: a path, or a directory and `*<suffix>`
/// (as the shell expands `docs/*.md`).
fn matching_files(pattern: &str) -> usize {
    let path = Path::new(ROOT).join(pattern);
    let Some(suffix) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix('*'))
    else {
        return usize::from(path.is_file());
    };
    let dir = path.parent().expect("a glob has a directory");
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file() && e.file_name().to_string_lossy().ends_with(suffix))
                .count()
        })
        .unwrap_or(0)
}
