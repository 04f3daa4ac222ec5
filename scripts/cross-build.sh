#!/usr/bin/env bash
# Cross-builds the gateway binaries (daemon, dhcpmgrctl, plugins) for ARM gateway SoCs, glibc:
#   scripts/cross-build.sh [TARGET...]    default: aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
# Installs Debian's cross gcc for linking (as root; .cargo/config.toml names the linkers), makes
# sure the target's Rust standard library is there (`rustup target add`), then builds release
# binaries into target/TARGET/release. Idempotent. Exits 1 naming what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$#" -gt 0 ]; then targets=("$@"); else
    targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
fi

failed=()
for target in "${targets[@]}"; do
    case "$target" in
        aarch64-unknown-linux-gnu) linker=aarch64-linux-gnu-gcc; debs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
        armv7-unknown-linux-gnueabihf) linker=arm-linux-gnueabihf-gcc; debs=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
        *) echo "cross-build: unknown target $target (add it here and to .cargo/config.toml)" >&2; exit 64 ;;
    esac
    if ! command -v "$linker" >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "cross-build: $linker missing; as root: apt-get install ${debs[*]}" >&2
            failed+=("$target"); continue
        fi
        echo "installing ${debs[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${debs[@]}"
    fi
    libdir="$(rustc --print sysroot)/lib/rustlib/$target/lib"
    if ! compgen -G "$libdir/libstd-*.rlib" >/dev/null; then
        echo "rustup target add $target"
        if ! rustup target add "$target"; then
            echo "cross-build: no Rust standard library for $target in $libdir, and rustup could" \
                 "not download it (its distribution server must be reachable; crates.io is not" \
                 "enough). Install it where it can be downloaded, or copy that directory from" \
                 "a toolchain of the same version ($(rustc --version))." >&2
            failed+=("$target"); continue
        fi
    fi
    cargo build --release --target "$target" --workspace --exclude dhcpmgr-lab
    for bin in dhcpmgr dhcpmgrctl dhcpmgr-udhcpc-plugin dhcpmgr-dibbler-plugin; do
        path="target/$target/release/$bin"
        [ -f "$path" ] && printf '%-28s %9d bytes  %s\n' "$bin" "$(stat -c %s "$path")" \
            "$(file -b "$path" | cut -d, -f1-2)"
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "cross-build: not built: ${failed[*]}" >&2
    exit 1
fi
