-- wrk script: prints one machine-readable line with the results.
-- Optional pacing: `wrk ... -s report.lua -- DELAY_MS` makes each connection
-- wait DELAY_MS between requests, so rate ~= connections * 1000 / DELAY_MS.
local delay_ms = 0

function init(args)
  if args[1] then delay_ms = tonumber(args[1]) end
end

if os.getenv("WRK_PACED") == "1" then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
