-- wrk script for `python -m bench`: requests come from the file named by BENCH_REQUESTS,
-- one per line: METHOD <tab> PATH <tab> COOKIE <tab> BODY. Several lines are taken in turn
-- (the soak's mixed scenario). In a BODY, {token} becomes a value unique to this request (the
-- one-time token of a knowledge check, so each submission records an attempt).
-- done() prints one JSON line that bench reads.

local requests_file = os.getenv("BENCH_REQUESTS")
local counter = 0
local threads_set_up = 0
local lines = {}

function setup(thread)
  -- runs in the main Lua state: gives each thread's state a global `thread_no`
  threads_set_up = threads_set_up + 1
  thread:set("thread_no", threads_set_up)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  for line in io.lines(requests_file) do
    if line ~= "" then
      local f = split(line)
      local headers = {}
      if f[3] ~= "" then headers["Cookie"] = f[3] end
      if f[1] == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
      table.insert(lines, {method = f[1], path = f[2], headers = headers, body = f[4]})
    end
  end
end

function request()
  counter = counter + 1
  local r = lines[(counter - 1) % #lines + 1]
  local body = nil
  if r.body ~= nil and r.body ~= "" then
    body = r.body:gsub("{token}", string.format("b%d-%d-%d", thread_no, counter, os.time()))
  end
  return wrk.format(r.method, r.path, r.headers, body)
end

function done(summary, latency, requests)
  -- errors_status counts every answer of 400 or more (wrk's own counter).
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors_status": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
