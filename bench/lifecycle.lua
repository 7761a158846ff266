-- wrk script for bench/lifecycle.sh: rotating refresh tokens as clients do. Each POST /refresh
-- sends a refresh token from a pool, once; the refresh token in its answer goes back into the
-- pool. The pool starts with the tokens in the file $TOKENS, one per line (more than wrk's
-- connections, so a request always finds one). Run it with one thread (-t1): the pool lives in
-- the thread. done() prints one line, `lifecycle {...}`, with the answers by status and how
-- often the pool was empty (each such request goes to /pool-empty, a 404, and is no refresh).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pool, first, last = {}, 1, 0
  for line in io.lines(os.getenv("TOKENS")) do
    last = last + 1
    pool[last] = line
  end
  refreshed, refused, other, empty = 0, 0, 0, 0
end

function request()
  if first > last then
    empty = empty + 1
    return wrk.format("GET", "/pool-empty")
  end
  local token = pool[first]
  pool[first] = nil
  first = first + 1
  return wrk.format("POST", "/refresh", { ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then
      last = last + 1
      pool[last] = token
      refreshed = refreshed + 1
      return
    end
  end
  if status == 401 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = { refreshed = 0, refused = 0, other = 0, empty = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(t) do
      t[name] = t[name] + thread:get(name)
    end
  end
  io.write(string.format(
    'lifecycle {"refreshed": %d, "refused": %d, "other": %d, "empty_pool": %d, ' ..
    '"seconds": %.2f, "p50_ms": %.2f, "p99_ms": %.2f}\n',
    t.refreshed, t.refused, t.other, t.empty, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
