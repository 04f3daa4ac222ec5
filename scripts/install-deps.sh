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
packages=(
    busybox kea-dhcp4-server kea-dhcp6-server dbus iproute2 dnsmasq-base iptables nftables
    dibbler-client procps ca-certificates curl gcc pkg-config
    systemd dbus-daemon dbus-bin shellcheck python3-venv
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
