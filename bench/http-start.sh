#!/usr/bin/env bash
# HTTP start-execution throughput: starts `stepwasm serve` (release build) on a loopback
# port with a fresh data directory, creates a tenant and a one-Pass STANDARD state machine,
# then drives POST .../executions from a second process (wrk, Debian package `wrk`) for a
# bounded time. Usage: bench/http-start.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
secs="${1:-10}"
conns="${2:-64}"
source "$(dirname "$0")/lib.sh"
cpu_before="$(cpu)"
STEPWASM_KEY="$key" STEPWASM_MACHINE=bench wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/http-start.lua" "$base" | tee "$data/wrk.out"
cpu_after="$(cpu)"
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
