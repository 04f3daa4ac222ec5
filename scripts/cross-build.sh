#!/usr/bin/env bash
# Cross-builds the gateway binaries (daemon, dhcpmgrctl, plugins) for ARM gateway SoCs, glibc:
#   scripts/cross-build.sh [TARGET...]    default: aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
# Installs Debian's cross gcc for linking (as root; .cargo/config.toml names the linkers), makes
# sure the target's Rust standard library is there (`rustup target add`), then builds release
# binaries into target/TARGET/release. Where qemu-user is installed (apt-get install qemu-user)
# it also runs them: the daemon validates init/dhcpmgr.toml and the udhcpc plugin spools a
# `bound` event. Idempotent. Exits 1 naming what is missing or failing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$#" -gt 0 ]; then targets=("$@"); else
    targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
fi

failed=()
for target in "${targets[@]}"; do
    case "$target" in
        aarch64-unknown-linux-gnu)
            linker=aarch64-linux-gnu-gcc qemu=qemu-aarch64 sysroot=/usr/aarch64-linux-gnu
            debs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
        armv7-unknown-linux-gnueabihf)
            linker=arm-linux-gnueabihf-gcc qemu=qemu-arm sysroot=/usr/arm-linux-gnueabihf
            debs=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
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
    bins="${CARGO_TARGET_DIR:-target}/$target/release"
    for bin in dhcpmgr dhcpmgrctl dhcpmgr-udhcpc-plugin dhcpmgr-dibbler-plugin; do
        [ -f "$bins/$bin" ] && printf '%-28s %9d bytes  %s\n' "$bin" "$(stat -c %s "$bins/$bin")" \
            "$(file -b "$bins/$bin" | cut -d, -f1-2)"
    done
    if command -v "$qemu" >/dev/null 2>&1; then
        scratch="$(mktemp -d)"
        if "$qemu" -L "$sysroot" "$bins/dhcpmgr" --validate --config init/dhcpmgr.toml &&
            env -i PATH=/usr/bin:/bin DHCPMGR_SOCKET="$scratch/none" DHCPMGR_SPOOL_DIR="$scratch/spool" \
                DHCPMGR_CLIENT=wan interface=erouter0 ip=192.0.2.10 subnet=255.255.255.0 lease=3600 \
                "$qemu" -L "$sysroot" "$bins/dhcpmgr-udhcpc-plugin" bound 2>/dev/null &&
            compgen -G "$scratch/spool/*.msg" >/dev/null; then
            echo "$target: runs under $qemu (config validated, plugin spooled a bound event)"
        else
            echo "cross-build: $target binaries do not run under $qemu" >&2
            failed+=("$target")
        fi
        rm -rf "$scratch"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "cross-build: not built: ${failed[*]}" >&2
    exit 1
fi
