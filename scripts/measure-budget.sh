#!/usr/bin/env bash
# Measures dhcpmgr against the budgets of docs/performance.md#budgets and prints a table for docs/performance.md ("Size and memory")
# section:
#   - stripped sizes of the release binaries (plugins <= 600 KiB);
#   - daemon memory idle: one DHCPv4 client holding a lease from Kea (the benchmark), and the
#     budget configuration, one DHCPv4 + one DHCPv6 client and the shield (here): VmRSS, Pss
#     (<= 6 MiB);
#   - daemon memory under a lease storm: VmHWM (peak) and VmRSS after LEASE_HOP_N back-to-back
#     lease changes delivered by the real plugin;
#   - plugin exec-to-exit time (<= 3 ms), delivering to the daemon and spooling without it;
#   - lease hop p99 (<= 5 ms).
# Memory, plugin and hop figures come from the lease_hop benchmark (benches/lease_hop/), run on
# the release binaries; this script adds the sizes and the budget check.
#
#   bash scripts/measure-budget.sh            as root (the benchmark's lab uses network namespaces)
#   LEASE_HOP_N=500 bash scripts/measure-budget.sh     a shorter storm (default 2000)
#
# Output: the table on stdout; the benchmark's full report and the table in target/budget/.
# Exit status: 0 all budgets met, 2 some budget missed (listed), 1 the measurement failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export LEASE_HOP_N="${LEASE_HOP_N:-2000}"
target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/budget"
mkdir -p "$out"
export CARGO_TERM_COLOR=never

echo "== cargo build --release --workspace" >&2
cargo build --release --workspace >&2

sizes="$out/sizes.tsv"
: >"$sizes"
for bin in dhcpmgr dhcpmgrctl dhcpmgr-udhcpc-plugin dhcpmgr-dibbler-plugin; do
    path="$target_dir/release/$bin"
    if [ ! -f "$path" ]; then
        echo "measure-budget: $path was not built" >&2
        exit 1
    fi
    strip -o "$out/$bin.stripped" "$path"
    printf '%s\t%s\t%s\n' "$bin" "$(stat -c %s "$path")" "$(stat -c %s "$out/$bin.stripped")" >>"$sizes"
done

echo "== lease_hop benchmark, LEASE_HOP_N=$LEASE_HOP_N (takes a minute or two)" >&2
report="$out/lease_hop.txt"
if ! DHCPMGR_BIN_DIR="$PWD/$target_dir/release" cargo bench --bench lease_hop >"$report" 2>&1; then
    tail -n 30 "$report" >&2
    echo "measure-budget: the lease_hop benchmark failed (full output: $report)" >&2
    exit 1
fi
grep '^BENCH_JSON ' "$report" | tail -n 1 | cut -d' ' -f2- >"$out/lease_hop.json"
if [ ! -s "$out/lease_hop.json" ]; then
    echo "measure-budget: no BENCH_JSON line in $report" >&2
    exit 1
fi

# The budgets' idle configuration (docs/performance.md#budgets: one DHCPv4 and one DHCPv6 client, the shield on), which
# the benchmark does not run: the daemon in a scratch network namespace (two veth pairs, no DHCP
# server: the clients keep soliciting), connected to a private D-Bus, read after it settled.
echo "== idle memory with one DHCPv4 client, one DHCPv6 client and the shield" >&2
ns="dhcpmgr-budget-$$"
scratch="$(mktemp -d)"
bus_pid=""
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add erouter0 type veth peer name isp0
ip -n "$ns" link add brlan0 type veth peer name lan0
for link in erouter0 isp0 brlan0 lan0; do ip -n "$ns" link set "$link" up; done
cat >"$scratch/bus.conf" <<BUS
<busconfig><listen>unix:path=$scratch/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>
BUS
dbus-daemon --config-file="$scratch/bus.conf" --nofork --nopidfile >/dev/null 2>&1 &
bus_pid=$!
cat >"$scratch/dhcpmgr.toml" <<CONF
[daemon]
state_dir = "$scratch/state"
run_dir = "$scratch/run"
[dbus]
bus = "unix:path=$scratch/bus"
[sysevent]
command = ""
[[dhcpv4.client]]
alias = "wan"
interface = "erouter0"
[[dhcpv6.client]]
alias = "wan6"
interface = "erouter0"
[shield]
enable = true
interfaces = ["brlan0"]
CONF
ip netns exec "$ns" "$target_dir/release/dhcpmgr" --config "$scratch/dhcpmgr.toml" \
    >"$out/design-idle.log" 2>&1 &
daemon_pid=$!
sleep 5
if ! kill -0 "$daemon_pid" 2>/dev/null; then
    cat "$out/design-idle.log" >&2
    echo "measure-budget: the daemon did not stay up (log above)" >&2
    exit 1
fi
design="$out/design-idle.txt"
{
    grep -E '^(VmRSS|VmHWM|Threads):' "/proc/$daemon_pid/status"
    grep -E '^Pss:' "/proc/$daemon_pid/smaps_rollup"
    { grep -c 'shield started' "$out/design-idle.log" || true; } | sed 's/^/ShieldStarted: /'
} | tr -s ' \t' ' ' >"$design"
cleanup
trap - EXIT

python3 - "$sizes" "$out/lease_hop.json" "$design" <<'EOF' | tee "$out/budget.md"
import json, sys

sizes_path, bench_path, design_path = sys.argv[1], sys.argv[2], sys.argv[3]
design = dict(line.split(":", 1) for line in open(design_path) if ":" in line)
design = {k.strip(): int(v.split()[0]) for k, v in design.items()}
bench = json.load(open(bench_path))
rows, missed = [], []

def kib(n):
    return f"{n / 1024:.0f} KiB" if n < 10 * 1024 * 1024 else f"{n / 1048576:.1f} MiB"

def row(figure, value, budget="", ok=None):
    rows.append((figure, value, budget, "" if ok is None else ("met" if ok else "MISSED")))
    if ok is False:
        missed.append(figure)

for line in open(sizes_path):
    name, size, stripped = line.split("\t")
    size, stripped = int(size), int(stripped)
    plugin = name.endswith("-plugin")
    row(f"`{name}` stripped size", kib(stripped), "≤ 600 KiB" if plugin else "",
        stripped <= 600 * 1024 if plugin else None)

def dig(*keys):
    value = bench
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value

def mib(kib_value):
    return "n/a" if kib_value is None else f"{kib_value / 1024:.2f} MiB"

idle = dig("daemon_memory", "idle_with_kea_lease") or {}
storm = dig("daemon_memory", "after_hop_run") or {}
n = dig("lease_hop", "n")
rss = idle.get("vm_rss_kib")
row("daemon idle VmRSS (one DHCPv4 client, lease held)", mib(rss), "≤ 6 MiB",
    None if rss is None else rss <= 6 * 1024)
row("daemon idle Pss", mib(idle.get("pss_kib")))
full = design.get("VmRSS")
row("daemon idle VmRSS, one DHCPv4 + one DHCPv6 client, shield on"
    + ("" if design.get("ShieldStarted") else " (shield did NOT start)"),
    mib(full), "≤ 6 MiB", None if full is None else full <= 6 * 1024)
row("… its Pss, threads", f"{mib(design.get('Pss'))}, {design.get('Threads', 'n/a')} threads")
row(f"daemon peak VmHWM over a {n}-lease storm", mib(storm.get("vm_hwm_kib")))
row(f"daemon VmRSS after the {n}-lease storm", mib(storm.get("vm_rss_kib")))
row("daemon threads", str(idle.get("threads", "n/a")))

def ms_row(figure, stats, budget=None):
    if not stats:
        row(figure, "n/a")
        return
    text = f"p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms"
    ok = None if budget is None else stats["p99"] <= budget
    row(figure, text, "" if budget is None else f"≤ {budget:g} ms", ok)

ms_row("plugin exec → exit, delivered to the daemon", dig("plugin_exec_ms", "delivered"), 3.0)
ms_row("plugin exec → exit, spooled (no daemon)", dig("plugin_exec_ms", "spooled"), 3.0)
ms_row("lease hop (plugin start → address, TR-181, sysevent)",
       dig("lease_hop", "ms", "whole_hop"), 5.0)

print("| figure | measured | budget (docs/performance.md#budgets) | |")
print("| --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
if missed:
    print(f"\nmissed: {', '.join(missed)}", file=sys.stderr)
    sys.exit(2)
EOF
