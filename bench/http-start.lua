-- wrk script: POST a start-execution request (no name, so every request starts a new
-- execution). The key and the state machine come from the environment.
local key = os.getenv("STEPWASM_KEY")
local machine = os.getenv("STEPWASM_MACHINE") or "bench"
wrk.method = "POST"
wrk.path = "/v1/state-machines/" .. machine .. "/executions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"input":{"n":1}}'

-- Each thread counts its 201s (a global of its own Lua state); `done` adds them up.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

created = 0
function response(status, headers, body)
  if status == 201 then
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
