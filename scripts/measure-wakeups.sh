#!/usr/bin/env bash
# Counts how often an idle dhcpmgr wakes up, with the shield off and on: the daemon runs in a
# scratch network namespace (a LAN bridge brlan0, no DHCP clients, a private dbus-daemon), and
# the context switches of all its threads are summed over SECONDS (default 10) once it has
# settled; then it is stopped with SIGTERM and the time the stop took is printed. Run as root
# after `cargo build` (or set DHCPMGR_BIN to a release build).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "measure-wakeups.sh: run as root" >&2
    exit 1
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${DHCPMGR_BIN:-$PWD/target/debug/dhcpmgr}"
seconds="${SECONDS_IDLE:-10}"
[ -x "$bin" ] || { echo "no daemon at $bin: run cargo build first" >&2; exit 1; }

work="$(mktemp -d)"
ns="dhcpmgr-wakeups-$$"
bus_pid=""
cleanup() {
    if [ -n "$bus_pid" ]; then kill "$bus_pid" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add brlan0 type bridge
ip -n "$ns" link set brlan0 up
bus_pid="$(dbus-daemon --session --fork --print-pid=1 --address="unix:path=$work/bus")"

switches() {
    cat /proc/"$1"/task/*/status | awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n }'
}

for shield in false true; do
    mkdir -p "$work/state-$shield" "$work/run-$shield"
    cat > "$work/$shield.toml" <<EOF
[daemon]
state_dir = "$work/state-$shield"
run_dir = "$work/run-$shield"
[dbus]
bus = "unix:path=$work/bus"
[sysevent]
command = ""
[shield]
enable = $shield
interfaces = ["brlan0"]
EOF
    ip netns exec "$ns" "$bin" --config "$work/$shield.toml" > "$work/$shield.log" 2>&1 &
    pid=$!
    sleep 4
    before="$(switches "$pid")"
    sleep "$seconds"
    after="$(switches "$pid")"
    threads="$(find /proc/"$pid"/task -mindepth 1 -maxdepth 1 | wc -l)"
    start="$(date +%s%N)"
    kill -TERM "$pid"
    wait "$pid" || true
    stop_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf 'shield %-5s threads %s  context switches/s %s  SIGTERM to exit %s ms\n' \
        "$shield" "$threads" "$(awk -v n=$((after - before)) -v s="$seconds" 'BEGIN { printf "%.1f", n / s }')" "$stop_ms"
done
