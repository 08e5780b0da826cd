-- wrk script for the chaos suite's cross-check (test/chaos/wrk.ts): prints one machine-readable
-- line at the end, WRK_JSON {...}; latencies in microseconds as wrk records them. With WRK_PACE_MS
-- set, each connection waits that long after an answer before its next request (a paced load;
-- wrk does not count the wait in the latency).
local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace then
  delay = function() return pace end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
