-- wrk script: every request carries its own pre-signed PoP token (a fresh jti), read from
-- BENCH_TOKENS and split between wrk's threads; BENCH_METHOD, BENCH_PATH and BENCH_BODY give
-- the request the tokens are bound to. Without BENCH_TOKENS, requests go out unsigned.
-- done() prints one JSON line with the counts and latency percentiles (microseconds).
--
-- With BENCH_RATE (requests per second, all threads together), each thread paces its sends
-- on a fixed schedule (delay() hands out the thread's next send slot; wrk's timer resolution
-- is 1 ms, so sends leave in millisecond batches at the rate on average) instead of sending
-- as fast as answers come back. The latency is wrk's, from send to answer; sends that find
-- their slot more than 5 ms gone (the server or the generator fell behind, so a wrk2-style
-- corrected latency would be worse than this one) are counted as "late_sends".
--
-- Every request is formatted once, in init(), and the garbage collector is stopped before the
-- run: request() then only hands wrk a ready string, so the load generator's own cost per
-- request stays small and flat (a GC walking a table of a million tokens would otherwise eat
-- a core that the servers need).

local thread_count = 0
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1

local now = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
end

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  setup_late(thread)
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
  local rate = tonumber(os.getenv("BENCH_RATE") or "")
  if rate ~= nil and rate > 0 then
    interval_ms = 1000 * threads / rate
  end
  next_slot = nil
  late_sends = 0
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

function delay()
  if interval_ms == nil then return 0 end
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  next_slot = next_slot + interval_ms
  local wait = next_slot - now
  if wait < -5 then late_sends = late_sends + 1 end
  if wait < 1 then return 0 end
  return math.floor(wait)
end

local threads_seen = {}

function setup_late(thread)
  threads_seen[#threads_seen + 1] = thread
end

function done(summary, latency, requests)
  local e = summary.errors
  local late = 0
  for _, thread in ipairs(threads_seen) do
    late = late + (tonumber(thread:get("late_sends")) or 0)
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"late_sends":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean, late))
end
