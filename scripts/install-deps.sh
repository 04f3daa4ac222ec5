#!/usr/bin/env bash
# Installs what building and testing dhcpmgr needs on Debian 12. Run as root; idempotent.
# The lab (tests/lab) uses busybox udhcpc, Kea, dbus-daemon and iproute2; DHCPv6 work uses
# kea-dhcp6-server and dibbler-client; the shield uses nftables/iptables.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root" >&2
    exit 1
fi

# tests/init_files.rs needs systemd-analyze (package systemd), dbus-daemon and dbus-send (the
# policy test) and shellcheck (the SysV script); python3-venv is for the oelint-adv venv below.
# cmake, g++, make, libcjson-dev and libmsgpack-dev build RDK's bus (rbus, below); util-linux
# gives the RBUS tests unshare and nsenter.
packages=(
    busybox kea-dhcp4-server kea-dhcp6-server dbus iproute2 dnsmasq-base iptables nftables
    dibbler-client procps ca-certificates curl gcc pkg-config
    systemd dbus-daemon dbus-bin shellcheck python3-venv
    cmake make g++ libcjson-dev libmsgpack-dev util-linux
    chromium rsyslog rsyslog-gnutls openssl libssl-dev
)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update
    # --no-install-recommends: dibbler-client would otherwise pull in resolvconf, which takes
    # over /etc/resolv.conf.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "packages: all present"
fi

# The packages' system services must not hold DHCP ports or state. Disable them, and stop the
# system instances only (by their pid files: the init scripts' "stop" would kill every
# kea-dhcp4, including other labs').
services=(kea-dhcp4-server kea-dhcp6-server dibbler-client)
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    for unit in "${services[@]}"; do
        systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
else
    for svc in "${services[@]}"; do
        [ -x "/etc/init.d/$svc" ] && { update-rc.d "$svc" disable >/dev/null 2>&1 || true; }
    done
fi
for pidfile in /run/kea/kea-dhcp4.kea-dhcp4.pid /run/kea-dhcp4.kea-dhcp4.pid \
    /run/kea/kea-dhcp6.kea-dhcp6.pid /run/kea-dhcp6.kea-dhcp6.pid /var/lib/dibbler/client.pid; do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq '/etc/kea/|dibbler-client'; then
        echo "stopping system service process $pid ($pidfile)"
        kill "$pid" || true
    fi
done

# RDK's bus (rdkcentral/rbus): the rtrouted broker and librbus, for the RBUS front end's tests
# (tests/rbus_*.rs) and for the daemon, which loads librbus at run time. Built from RBUS_SRC (a
# tarball of the pinned commit; .ci/run points it at a kept copy) or else fetched from upstream;
# the tarball's sha256 must match. Installed under $rbus_prefix; skipped when the stamp there
# names this commit and these build flags. utils/ (rbuscli) is left out: it needs linenoise,
# which Debian does not package; the tests use a client compiled from rbus's public headers.
rbus_commit=b42b75a87624d0d4732dd4c93fb5fbc80977ebda
rbus_sha256=6b0c13e194cc7d8d320de6ef7b7569f305015ab613f81145895d725eb9a701a4
rbus_prefix=/opt/rbus
rbus_flags="-DCMAKE_BUILD_TYPE=Release -DBUILD_RBUS_SAMPLE_APPS=OFF -DBUILD_RBUS_TEST_APPS=OFF -DMSG_ROUNDTRIP_TIME=OFF"
rbus_stamp="$rbus_commit $rbus_sha256 $rbus_flags"
if [ "$(cat "$rbus_prefix/.dhcpmgr-build" 2>/dev/null)" != "$rbus_stamp" ] \
    || [ ! -x "$rbus_prefix/bin/rtrouted" ] || [ ! -e "$rbus_prefix/lib/librbus.so.0" ]; then
    rbus_work=$(mktemp -d)
    trap 'rm -rf "$rbus_work"' EXIT
    if [ -n "${RBUS_SRC:-}" ]; then
        echo "rbus: building from $RBUS_SRC"
        cp "$RBUS_SRC" "$rbus_work/rbus.tar.gz"
    else
        echo "rbus: fetching $rbus_commit"
        curl -fsSL -o "$rbus_work/rbus.tar.gz" \
            "https://github.com/rdkcentral/rbus/archive/$rbus_commit.tar.gz"
    fi
    echo "$rbus_sha256  $rbus_work/rbus.tar.gz" | sha256sum -c --quiet - \
        || { echo "install-deps.sh: rbus tarball sha256 mismatch" >&2; exit 1; }
    mkdir "$rbus_work/src"
    tar -xzf "$rbus_work/rbus.tar.gz" -C "$rbus_work/src" --strip-components=1
    # Leave out utils/ and its linenoise lookup (see above).
    sed -i -e '/find_package(linenoise REQUIRED)/d' -e '/add_subdirectory(utils)/d' \
        "$rbus_work/src/CMakeLists.txt"
    # shellcheck disable=SC2086 # rbus_flags is a list of options
    cmake -S "$rbus_work/src" -B "$rbus_work/build" -DCMAKE_INSTALL_PREFIX="$rbus_prefix" \
        -DCMAKE_C_FLAGS="-Wno-error=stringop-truncation" $rbus_flags >"$rbus_work/cmake.log" \
        || { cat "$rbus_work/cmake.log" >&2; exit 1; }
    cmake --build "$rbus_work/build" -j "$(nproc)" >"$rbus_work/build.log" 2>&1 \
        || { tail -n 50 "$rbus_work/build.log" >&2; exit 1; }
    rm -rf "$rbus_prefix"
    cmake --install "$rbus_work/build" >/dev/null
    echo "$rbus_stamp" >"$rbus_prefix/.dhcpmgr-build"
    echo "$rbus_prefix/lib" >/etc/ld.so.conf.d/dhcpmgr-rbus.conf
    ldconfig
    rm -rf "$rbus_work"
    trap - EXIT
else
    echo "rbus: $rbus_commit present in $rbus_prefix"
fi

# oelint-adv, the bitbake recipe linter tests/yocto_lint.rs runs, pinned, in its own venv (Debian's
# python3 refuses system-wide pip installs).
oelint_version=9.11.2
tools=/opt/dhcpmgr-tools
if [ "$("$tools/bin/oelint-adv" --version 2>/dev/null)" != "oelint-adv $oelint_version" ]; then
    echo "installing oelint-adv $oelint_version into $tools"
    [ -x "$tools/bin/pip" ] || /usr/bin/python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check "oelint-adv==$oelint_version"
else
    echo "oelint-adv: $oelint_version present"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps.sh: cargo not found (PATH or ~/.cargo/bin): install a Rust toolchain with rustup" >&2
    exit 1
fi
echo "cargo: $(cargo --version)"
