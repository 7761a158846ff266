-- wrk script for bench/faults.sh: the same bearer token (from $TOKEN) on every request, and a
-- count of responses per status code. Each thread counts its own; done() adds them up and
-- prints one line, `statuses {...}`, as JSON. `late_200` counts 200s a thread got after it had
-- already been answered 503 in the same run: while Redis is down, a replica that may no longer
-- answer must not start answering again.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  seen_503 = false
  late_200 = 0
  last = 0
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 503 then
    seen_503 = true
  elseif status == 200 and seen_503 then
    late_200 = late_200 + 1
  end
  last = status
end

function done(summary, latency, requests)
  local total, late, parts, lasts = {}, 0, {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
    late = late + thread:get("late_200")
    table.insert(lasts, tostring(thread:get("last")))
  end
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'statuses {"counts": {%s}, "late_200": %d, "last": [%s], "socket_errors": %d, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f}\n',
    table.concat(parts, ", "), late, table.concat(lasts, ", "),
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
