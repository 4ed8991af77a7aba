-- wrk script: POST /v1/batch with 100 `track` messages of about 300 bytes each, the body of
-- bench/segment_bench.cpp, every message with a messageId of its own (so every one is a new
-- event: the eid is derived from it). Use one wrk thread (-t1): the counter is per thread.
-- OCEANUS_BENCH_AUTH: the Authorization header (Basic, base64 of "writekey:").
local messages = 100

-- Each message is head[i] .. round .. tail[i]: only the round number changes per request.
local head, tail = {}, {}
for i = 1, messages do
  head[i] = (i > 1 and "," or "") .. '{"type":"track","event":"Product Viewed","userId":"user-'
    .. (i - 1) .. '","messageId":"bench-'
  tail[i] = "-" .. (i - 1) .. '","timestamp":"2026-12-01T10:00:00.000Z","properties":'
    .. '{"product_id":"p-42","price":19.99,"currency":"JPY","category":"books"},'
    .. '"context":{"library":{"name":"analytics-node","version":"3.1.0"},'
    .. '"page":{"url":"https://shop.example/p/42"}}}'
end
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = os.getenv("OCEANUS_BENCH_AUTH"),
}
local round = 0
local parts = {}

function request()
  round = round + 1
  local r = tostring(round)
  parts[1] = '{"batch":['
  for i = 1, messages do
    parts[i * 3 - 1] = head[i]
    parts[i * 3] = r
    parts[i * 3 + 1] = tail[i]
  end
  parts[messages * 3 + 2] = '],"sentAt":"2026-12-01T10:00:01.000Z"}'
  return wrk.format("POST", "/v1/batch", headers, table.concat(parts))
end
