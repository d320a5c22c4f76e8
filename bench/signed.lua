-- wrk script: every request carries its own pre-signed PoP token (a fresh jti), read from
-- BENCH_TOKENS and split between wrk's threads; BENCH_METHOD, BENCH_PATH and BENCH_BODY give
-- the request the tokens are bound to. Without BENCH_TOKENS, requests go out unsigned.
-- done() prints one JSON line with the counts and latency percentiles (microseconds).
--
-- Every request is formatted once, in init(), and the garbage collector is stopped before the
-- run: request() then only hands wrk a ready string, so the load generator's own cost per
-- request stays small and flat (a GC walking a table of a million tokens would otherwise eat
-- a core that the servers need).

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "GET"
  local target = os.getenv("BENCH_PATH") or "/"
  local body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  local content_type = nil
  if body ~= nil then content_type = "application/json" end
  prepared = {}
  local file = os.getenv("BENCH_TOKENS")
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  if file ~= nil and file ~= "" then
    local i = 0
    for line in io.lines(file) do
      if i % threads == thread_index - 1 then
        prepared[#prepared + 1] = wrk.format(method, target,
          { ["Authorization"] = "PoP " .. line, ["Content-Type"] = content_type }, body)
      end
      i = i + 1
    end
  else
    prepared[1] = wrk.format(method, target, { ["Content-Type"] = content_type }, body)
  end
  reusable = (file == nil or file == "")
  sent = 0
  collectgarbage("collect")
  collectgarbage("stop")
end

function request()
  sent = sent + 1
  if reusable then return prepared[1] end
  -- Past the end, the last token is sent again: the server refuses it and the run reports
  -- errors, so running out of tokens cannot go unnoticed.
  return prepared[sent] or prepared[#prepared]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
