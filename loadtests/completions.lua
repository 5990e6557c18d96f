-- wrk script: POST /v1/completions with a fixed prompt; counts non-200 responses by status.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local model = os.getenv("MODEL") or "tiny-llama"
local max_tokens = os.getenv("MAX_TOKENS") or "32"
wrk.body = '{"model":"' .. model .. '","prompt":"Once upon a time, there was a little","max_tokens":' .. max_tokens .. ',"temperature":0,"ignore_eos":true}'

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d errors(connect/read/write/timeout/status)=%d/%d/%d/%d/%d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("latency p50=%.1fms p90=%.1fms p99=%.1fms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
