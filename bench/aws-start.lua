-- wrk script: replay one SigV4-signed AWS StartExecution (no name, so every request starts
-- a new execution). A signature stays valid for 15 minutes, as on AWS; bench/aws-start.sh
-- signs the request and passes its headers in the environment.
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AWSStepFunctions.StartExecution"
wrk.headers["X-Amz-Date"] = os.getenv("AMZ_DATE")
wrk.headers["Authorization"] = os.getenv("AMZ_AUTHORIZATION")
wrk.body = os.getenv("AMZ_BODY")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

created = 0
function response(status, headers, body)
  if status == 200 then
    created = created + 1
  end
end

function done(summary, latency, requests)
  local created = 0
  for _, thread in ipairs(threads) do
    created = created + (thread:get("created") or 0)
  end
  io.write(string.format("requests=%d duration_s=%.2f starts_per_s=%.0f p50_ms=%.2f p99_ms=%.2f non2xx_socket_errors=%d created=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    created))
end
