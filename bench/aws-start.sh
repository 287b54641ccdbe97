#!/usr/bin/env bash
# Signed AWS StartExecution against /v1 starts, in one server run: starts `stepwasm serve`
# (release build) with a fresh data directory, creates a tenant (quotas lifted), its AWS
# credentials and a one-Pass STANDARD state machine, then drives from a second process (wrk)
# first POST /v1/state-machines/bench/executions (bearer key), then POST / with
# X-Amz-Target: AWSStepFunctions.StartExecution, SigV4-signed (the signed request is
# replayed; a signature stays valid 15 minutes). Reports for each route starts/s, p50/p99
# and the server's CPU time per start, and the ratio of the two.
# Usage: bench/aws-start.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
secs="${1:-10}"
conns="${2:-64}"
source "$(dirname "$0")/lib.sh"
creds="$(admin /v1/tenants/bench/aws-credentials)"
# Sign one StartExecution with SigV4 (Python's standard library only).
eval "$(BASE="$base" CREDS="$creds" python3 - <<'PY'
import datetime, hashlib, hmac, json, os, shlex, urllib.parse
c = json.loads(os.environ["CREDS"])
host = urllib.parse.urlparse(os.environ["BASE"]).netloc
body = json.dumps({"stateMachineArn": f"arn:aws:states:{c['region']}:bench:stateMachine:bench",
                   "input": '{"n":1}'})
now = datetime.datetime.now(datetime.timezone.utc)
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
target = "AWSStepFunctions.StartExecution"
headers = {"content-type": "application/x-amz-json-1.0", "host": host, "x-amz-date": amz,
           "x-amz-target": target}
signed = ";".join(sorted(headers))
canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "",
                       signed, hashlib.sha256(body.encode()).hexdigest()])
scope = f"{day}/{c['region']}/states/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
k = ("AWS4" + c["secretAccessKey"]).encode()
for part in (day, c["region"], "states", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
auth = f"AWS4-HMAC-SHA256 Credential={c['accessKeyId']}/{scope}, SignedHeaders={signed}, Signature={sig}"
print(f"export AMZ_DATE={shlex.quote(amz)} AMZ_AUTHORIZATION={shlex.quote(auth)} AMZ_BODY={shlex.quote(body)}")
PY
)"
# The signed request must start an execution before it is replayed.
curl -sf -X POST "$base/" -H "content-type: application/x-amz-json-1.0" \
  -H "x-amz-target: AWSStepFunctions.StartExecution" -H "x-amz-date: $AMZ_DATE" \
  -H "authorization: $AMZ_AUTHORIZATION" -d "$AMZ_BODY" | grep -q executionArn \
  || { echo "FAIL: the signed StartExecution was refused" >&2; exit 1; }
run() { # route label, wrk script
  local before after
  before="$(cpu)"
  wrk -t2 -c"$conns" -d"${secs}s" -s "$2" "$base" >"$data/$1.out"
  after="$(cpu)"
  local line; line="$(grep '^requests=' "$data/$1.out")"
  local n; n="$(grep -o 'requests=[0-9]*' <<<"$line" | cut -d= -f2)"
  local us=$(( (after - before) * 1000000 / ticks / (n > 0 ? n : 1) ))
  echo "$1 $line server_cpu_us_per_start=$us"
  eval "cpu_$1=$us"
}
STEPWASM_KEY="$key" STEPWASM_MACHINE=bench run v1 "$root/bench/http-start.lua"
run aws "$root/bench/aws-start.lua"
awk -v a="$cpu_aws" -v b="$cpu_v1" 'BEGIN { if (b > 0) printf "cpu_per_start_ratio_aws_over_v1=%.2f\n", a / b }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
