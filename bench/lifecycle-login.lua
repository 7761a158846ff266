-- wrk script for bench/lifecycle.sh: POST /login with the demo user on every request; done()
-- prints `lifecycle {...}` with the answers by status, as bench/lifecycle.lua does.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = '{"username":"test","password":"test"}'
  wrk.headers["Content-Type"] = "application/json"
  ok, other = 0, 0
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_all, other_all = 0, 0
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    other_all = other_all + thread:get("other")
  end
  io.write(string.format(
    'lifecycle {"logged_in": %d, "other": %d, "seconds": %.2f, "p50_ms": %.2f, "p99_ms": %.2f}\n',
    ok_all, other_all, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
