#!/usr/bin/env bash
# Load benchmark: the bench_server example under wrk, one route at a time, on loopback.
#
#   sudo apt-get install wrk        # Debian's wrk; taskset comes with util-linux
#   bash bench/load.sh              # DURATION=10 ROUNDS=3 CONNECTIONS=32 by default
#
# The server runs on CPU 0 with one Rocket worker and wrk on CPU 1, so the two do not compete.
# Routes alternate within each round, and each figure is the mean over the rounds. It prints a
# table of requests per second, median and 99th-percentile latency, and the ratio to /open, and
# the server's peak memory against a server that only served /open.
#
# The "live users" rows model many users with churn: each request carries a random token out of
# a window of LIVE_USERS (100, 400 and 800) tokens, and every REQUESTS_PER_LOGIN (10) requests
# the oldest login ends and a new one starts, so the window slides through the tokens fetched
# from /tokens. They are compared with /open under the same Lua script.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18089}
FRESH_TOKENS=${FRESH_TOKENS:-20000}
LIVE_USERS=${LIVE_USERS:-100 400 800}
REQUESTS_PER_LOGIN=${REQUESTS_PER_LOGIN:-10}
for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk)" >&2; exit 1; }
done
cores=$(nproc)
server_cpu=0
client_cpu=$(( cores > 1 ? 1 : 0 ))

cargo build --release --quiet --example bench_server
server_bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_server
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  ROCKET_PORT=$PORT ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release \
    taskset -c "$server_cpu" "$server_bin" >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/open" >/dev/null && return 0
    sleep 0.1
  done
  echo "bench_server did not start" >&2
  exit 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

peak_rss_kib() {
  awk '/VmHWM/ {print $2}' "/proc/$server_pid/status"
}

# Lua scripts: one fixed header, a different token on every request, or a random token among
# LIVE live users whose logins end and start as the requests go on.
cat > "$work/header.lua" <<'LUA'
wrk.headers[os.getenv("HEADER_NAME")] = os.getenv("HEADER_VALUE")
LUA
cat > "$work/fresh.lua" <<'LUA'
local tokens, i = {}, 0
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA
cat > "$work/users.lua" <<'LUA'
local tokens, n = {}, 0
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local live = tonumber(os.getenv("LIVE"))
local per_login = tonumber(os.getenv("REQUESTS_PER_LOGIN"))
math.randomseed(os.time())
-- The oldest live login; the live ones are the LIVE tokens from here on (wrapping around).
local oldest = math.random(#tokens)
request = function()
  n = n + 1
  if n % per_login == 0 then oldest = oldest + 1 end
  local i = (oldest + math.random(live) - 2) % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

# run NAME PATH SCRIPT HEADER_NAME HEADER_VALUE [LIVE]: one wrk run, appended to $work/results.
run() {
  local name=$1 path=$2 script=$3
  local out
  out=$(HEADER_NAME=$4 HEADER_VALUE=$5 TOKENS_FILE="$work/fresh.txt" LIVE=${6:-1} \
    REQUESTS_PER_LOGIN=$REQUESTS_PER_LOGIN \
    taskset -c "$client_cpu" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -s "$work/$script" "http://127.0.0.1:$PORT$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$name $rps $p50 $p99" >> "$work/results"
}

echo "== baseline memory: a server that hands out the tokens but only serves /open"
start_server
curl -sf "http://127.0.0.1:$PORT/tokens?n=$FRESH_TOKENS" > "$work/tokens.json"
for _ in $(seq "$ROUNDS"); do run open /open header.lua X-Unused none; done
open_rss=$(peak_rss_kib)
stop_server
: > "$work/results"

echo "== all routes: $ROUNDS rounds of ${DURATION}s each, $CONNECTIONS connections"
start_server
curl -sf "http://127.0.0.1:$PORT/tokens?n=$FRESH_TOKENS" > "$work/tokens.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
t = json.load(open(f"{work}/tokens.json"))
open(f"{work}/fresh.txt", "w").write("\n".join(t["local"]) + "\n")
for k in ("public", "cookie", "jwt"):
    open(f"{work}/{k}.txt", "w").write(t[k])
open(f"{work}/local.txt", "w").write(t["local"][0])
PY
local_token=$(cat "$work/local.txt")
garbage="v4.local.$(head -c 150 /dev/zero | tr '\0' 'A')"
oversized="v4.local.$(head -c 8000 /dev/zero | tr '\0' 'A')"
rss_by_round=()
for round in $(seq "$ROUNDS"); do
  run open /open header.lua X-Unused none
  # The per-request Lua that varies the token costs wrk too: measure /open with it as well.
  run open-varying /open fresh.lua X-Unused none
  run local /local header.lua Authorization "Bearer $local_token"
  run local-fresh /local fresh.lua X-Unused none
  # The live-users script costs the same whatever the number of users.
  run open-users /open users.lua X-Unused none 800
  for live in $LIVE_USERS; do
    run "local-users-$live" /local users.lua X-Unused none "$live"
  done
  run public /public header.lua Authorization "Bearer $(cat "$work/public.txt")"
  run cookie /cookie header.lua Cookie "session=$(cat "$work/cookie.txt")"
  run jwt /jwt header.lua Authorization "Bearer $(cat "$work/jwt.txt")"
  run local-garbage /local header.lua Authorization "Bearer $garbage"
  run local-oversized /local header.lua Authorization "Bearer $oversized"
  rss_by_round+=("$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")")
  echo "   round $round done"
done
all_rss=$(peak_rss_kib)
stop_server

python3 - "$work/results" "$open_rss" "$all_rss" "${rss_by_round[*]}" "$LIVE_USERS" \
  "$REQUESTS_PER_LOGIN" <<'PY'
import sys
from collections import defaultdict
rows = defaultdict(list)
def ms(v):
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for u in ("us", "ms", "s"):
        if v.endswith(u):
            return float(v[: -len(u)]) * units[u]
    return float(v)
for line in open(sys.argv[1]):
    name, rps, p50, p99 = line.split()
    rows[name].append((float(rps), ms(p50), ms(p99)))
mean = lambda xs: sum(xs) / len(xs)
base = mean([r[0] for r in rows["open"]])
varying = mean([r[0] for r in rows["open-varying"]])
users = mean([r[0] for r in rows["open-users"]])
live_users, per_login = sys.argv[5].split(), sys.argv[6]
print()
print("| route | token | req/s | p50 ms | p99 ms | vs /open |")
print("|---|---|---:|---:|---:|---:|")
table = [
    ("open", "/open", "none", base),
    ("open-varying", "/open", "a different one each request (ignored)", varying),
    ("local", "/local", "the same v4.local each request", base),
    ("local-fresh", "/local", "a different v4.local each request", varying),
    ("open-users", "/open", "a random live user's token (ignored)", users),
    *[(f"local-users-{n}", "/local", f"a random one of {n} live users' v4.local, "
       f"a new login every {per_login} requests", users) for n in live_users],
    ("public", "/public", "the same v4.public each request", base),
    ("cookie", "/cookie", "the same private cookie each request", base),
    ("jwt", "/jwt", "the same HS256 JWT each request", base),
    ("local-garbage", "/local", "token-shaped garbage (401)", base),
    ("local-oversized", "/local", "8 kB of garbage (401)", base),
]
for name, path, token, reference in table:
    r = rows[name]
    rps = mean([x[0] for x in r])
    print(f"| {path} | {token} | {rps:,.0f} | {mean([x[1] for x in r]):.2f} | "
          f"{mean([x[2] for x in r]):.2f} | {rps / reference:.0%} |")
print()
print("The different-token and live-users rows are compared with /open under the same "
      "per-request Lua script.")
open_rss, all_rss = int(sys.argv[2]), int(sys.argv[3])
print()
print(f"peak RSS: /open only {open_rss / 1024:.1f} MiB, all routes {all_rss / 1024:.1f} MiB "
      f"(+{(all_rss - open_rss) / 1024:.1f} MiB); RSS after each round: "
      + ", ".join(f"{int(x) / 1024:.1f}" for x in sys.argv[4].split()) + " MiB")
PY
