-- wrk script: each connection waits `interval_ms` between requests, so that
-- connections / (interval + round trip) gives a fixed offered rate (56 connections × ~11 ms ≈ 5,000/s).
local interval_ms = tonumber(os.getenv("OCEANUS_BENCH_INTERVAL_MS") or "10")
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", "/swallow/samplesite?oid=2&sid=0123456789abcdef&evt=pageview&url=https%3A%2F%2Fexample.jp%2F&uid=lag" .. counter)
end
function delay()
  return interval_ms
end
