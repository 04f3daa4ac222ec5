#!/usr/bin/env python3
"""Writes yocto/meta-dhcpmgr/recipes-connectivity/dhcpmgr/dhcpmgr-crates.inc from Cargo.lock.

Every crates.io package in Cargo.lock becomes a `crate://crates.io/NAME/VERSION` entry of
SRC_URI with its sha256 checksum, in the format of OE-Core's cargo-update-recipe-crates class,
so bitbake fetches exactly the locked crates and the build runs offline (`cargo --frozen`).

    scripts/gen-yocto-crates.py           rewrite the file
    scripts/gen-yocto-crates.py --check   exit 1 if the file is out of date

tests/yocto_lint.rs checks the same thing on its own; run this after any Cargo.lock change.
"""

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "Cargo.lock"
INC = ROOT / "yocto/meta-dhcpmgr/recipes-connectivity/dhcpmgr/dhcpmgr-crates.inc"
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def render(lock: dict) -> str:
    crates = []
    for package in lock.get("package", []):
        source = package.get("source")
        if source is None:
            continue  # a workspace member
        if source != CRATES_IO:
            sys.exit(f"gen-yocto-crates: {package['name']} comes from {source}: only crates.io "
                     "sources can be listed (add a git SRC_URI by hand)")
        if "checksum" not in package:
            sys.exit(f"gen-yocto-crates: {package['name']} {package['version']} has no checksum")
        crates.append((package["name"], package["version"], package["checksum"]))
    crates.sort()
    lines = [
        "# Generated from Cargo.lock by scripts/gen-yocto-crates.py: do not edit.",
        "# The crates the workspace locks, fetched by bitbake for an offline `cargo --frozen` build.",
        "",
        'SRC_URI += "\\',
    ]
    lines += [f"    crate://crates.io/{n}/{v};name={n}-{v} \\" for n, v, _ in crates]
    lines += ['"', ""]
    lines += [f'SRC_URI[{n}-{v}.sha256sum] = "{c}"' for n, v, c in crates]
    return "\n".join(lines) + "\n"


def main() -> int:
    with LOCK.open("rb") as f:
        text = render(tomllib.load(f))
    if sys.argv[1:] == ["--check"]:
        if INC.exists() and INC.read_text() == text:
            return 0
        print(f"{INC.relative_to(ROOT)} is out of date: run scripts/gen-yocto-crates.py",
              file=sys.stderr)
        return 1
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 64
    INC.write_text(text)
    print(f"wrote {INC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
