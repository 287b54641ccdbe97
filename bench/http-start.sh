#!/usr/bin/env bash
# HTTP start-execution throughput: starts `stepwasm serve` (release build) on a loopback
# port with a fresh data directory, creates a tenant and a one-Pass STANDARD state machine,
# then drives POST .../executions from a second process (wrk, Debian package `wrk`) for a
# bounded time. Usage: bench/http-start.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${STEPWASM_BIN:-$root/target/release/stepwasm}"
secs="${1:-10}"
conns="${2:-64}"
# The load generator is Debian's `wrk`; install it when missing (root, as on CI machines).
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
fi
command -v wrk >/dev/null || { echo "wrk is not installed and apt-get could not install it" >&2; exit 2; }
data="$(mktemp -d)"
out="$data/server.out"
STEPWASM_ADMIN_KEY=bench-admin "$bin" serve --listen 127.0.0.1:0 --data-dir "$data/db" >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
base="$(grep -o 'http://127.0.0.1:[0-9]*' "$out")"
key="$(curl -sf -X POST "$base/v1/tenants" -H 'authorization: Bearer bench-admin' \
  -H 'content-type: application/json' \
  -d '{"id":"bench","quotas":{"startRatePerSecond":100000000,"maxConcurrentExecutions":100000000}}' \
  | grep -o 'swk_[A-Za-z0-9_-]*')"
curl -sf -X POST "$base/v1/state-machines" -H "authorization: Bearer $key" \
  -H 'content-type: application/json' \
  -d '{"name":"bench","definition":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}' >/dev/null
# Server CPU time (user+system clock ticks) around the load: a figure that holds on a
# busy machine, where wall-clock rates do not.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_before="$(cpu)"
STEPWASM_KEY="$key" STEPWASM_MACHINE=bench wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/http-start.lua" "$base" | tee "$data/wrk.out"
cpu_after="$(cpu)"
ticks="$(getconf CLK_TCK)"
printf 'server_cpu_s=%d.%02d load: %s\n' "$(( (cpu_after - cpu_before) / ticks ))" \
  "$(( (cpu_after - cpu_before) % ticks * 100 / ticks ))" "$(cut -d' ' -f1-3 /proc/loadavg)"
# Every acknowledged start must be in the store: count the tenant's executions page by page
# and compare with the 201s wrk saw (requests still in flight when wrk stopped may add more).
acked="$(grep -o 'created=[0-9]*' "$data/wrk.out" | cut -d= -f2)"
stored="$(BASE="$base" KEY="$key" python3 - <<'PY'
import json, os, urllib.request
base, key, token, n = os.environ["BASE"], os.environ["KEY"], None, 0
while True:
    url = base + "/v1/executions?maxResults=1000" + ("&nextToken=" + token if token else "")
    req = urllib.request.Request(url, headers={"authorization": "Bearer " + key})
    page = json.load(urllib.request.urlopen(req))
    n += len(page["executions"])
    token = page.get("nextToken")
    if not token:
        break
print(n)
PY
)"
echo "acknowledged_starts=$acked stored_executions=$stored"
[ "$stored" -ge "$acked" ] || { echo "FAIL: acknowledged starts missing from the store" >&2; exit 1; }
