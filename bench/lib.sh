# Shared setup of the HTTP benchmarks (sourced): wrk, a release server on a loopback port
# with a fresh data directory, and a tenant with its quotas lifted and a one-Pass machine.
# Sets: root bin data out pid base key. The server and the data directory go at exit.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${STEPWASM_BIN:-$root/target/release/stepwasm}"
# The load generator is Debian's `wrk`; install it when missing (root, as on CI machines).
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
fi
command -v wrk >/dev/null || { echo "wrk is not installed and apt-get could not install it" >&2; exit 2; }
data="$(mktemp -d)"
out="$data/server.out"
# One client address holds every wrk connection: lift the per-client connection cap.
STEPWASM_ADMIN_KEY=bench-admin "$bin" serve --listen 127.0.0.1:0 --data-dir "$data/db" \
  --max-connections-per-client 0 >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
base="$(grep -o 'http://127.0.0.1:[0-9]*' "$out")"
admin() { curl -sf -X POST "$base$1" -H 'authorization: Bearer bench-admin' -H 'content-type: application/json' -d "${2:-{\}}"; }
key="$(admin /v1/tenants '{"id":"bench","quotas":{"startRatePerSecond":100000000,"maxConcurrentExecutions":100000000}}' \
  | grep -o 'swk_[A-Za-z0-9_-]*')"
curl -sf -X POST "$base/v1/state-machines" -H "authorization: Bearer $key" \
  -H 'content-type: application/json' \
  -d '{"name":"bench","definition":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}' >/dev/null
# Server CPU time (user+system clock ticks): a figure that holds on a busy machine.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks="$(getconf CLK_TCK)"
