-- wrk script for bench/load.sh: POSTs a small non-streaming chat completion
-- (closed loop; the fixed-rate test uses bench/load/rate instead).
--
-- done() prints one machine-readable line:
--   RESULT requests=N seconds=S errors=E p50_us=X p90_us=Y p99_us=Z
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"' .. (os.getenv("WRK_MODEL") or "bench-model") ..
  '","messages":[{"role":"user","content":"hello, how are you?"}],"max_tokens":16}'

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f errors=%d p50_us=%d p90_us=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
