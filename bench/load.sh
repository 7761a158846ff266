#!/usr/bin/env bash
# Load benchmark: the bench_server example under wrk, one route at a time, on loopback.
#
#   sudo apt-get install wrk curl python3 python3-venv   # taskset comes with util-linux
#   bash bench/load.sh         # DURATION=10 ROUNDS=3 CONNECTIONS=32 PORT=18089 by default
#
# The server runs on CPU 0 with one Rocket worker and wrk on CPU 1, so the two do not compete.
# Routes alternate within each round, each round starts with new tokens from every server (an
# access token lives 15 minutes), and each figure is the mean over the rounds. It prints the
# machine, then a table of requests per second, median and 99th-percentile latency, the ratio to
# /open and the cache hit rate, and the server's peak memory against a server that only served
# /open. The servers listen on PORT, PORT+1 and PORT+2.
#
# The "live users" rows model many users with churn: each request carries a random token out of
# a window of LIVE_USERS (100, 400 and 800) tokens, and every REQUESTS_PER_LOGIN (10) requests
# the oldest login ends and a new one starts, so the window slides through the tokens fetched
# from /tokens. They are compared with /open under the same Lua script.
#
# A second bench_server, started with ROCKET_PASETO='{cache_size=0}', serves the "cache off"
# rows: every request pays for the decryption or the signature check. The table compares them
# with that server's /open, and every row with the first server's /open as well.
#
# fastapi-paseto 0.7.1, the FastAPI extension for PASETO, runs beside them for comparison:
# bench/fastapi_app.py under uvicorn (uvloop, httptools, one worker, no access log) on the same
# CPU as the servers, with its default v4.local tokens. Its requirements, pinned in
# bench/fastapi-requirements.txt, go into a venv under the cargo target directory (bench-venv,
# reused while the file is unchanged); that needs python3-venv and PyPI. Without them, or with
# FASTAPI=0, the run goes on without those rows and says why.
#
# The cache hit rate comes from bench_server's GET /stats (cumulative cache_hits, cache_misses,
# jar_hits and jar_misses), read before and after every wrk run; a server without that route
# gets a dash in the column.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18089}
NOCACHE_PORT=$((PORT + 1))
FASTAPI_PORT=$((PORT + 2))
FASTAPI=${FASTAPI:-1}
FRESH_TOKENS=${FRESH_TOKENS:-20000}
LIVE_USERS=${LIVE_USERS:-100 400 800}
REQUESTS_PER_LOGIN=${REQUESTS_PER_LOGIN:-10}
for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || {
    echo "$tool is needed (apt-get install wrk curl util-linux python3)" >&2
    exit 1
  }
done
cores=$(nproc)
server_cpu=0
client_cpu=$(( cores > 1 ? 1 : 0 ))

target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example bench_server
server_bin=$target_dir/release/examples/bench_server
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== machine"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
[ -n "$cpu" ] || cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
echo "CPU: ${cpu:-unknown}, $cores cores (server on CPU $server_cpu, wrk on CPU $client_cpu)"
echo "kernel: $(uname -srm)"
echo "rustc: $(rustc --version)"
echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-3)"

# setup_fastapi: the venv for fastapi-paseto.
source bench/fastapi-venv.sh
if [ "$FASTAPI" = 0 ]; then
  fastapi_note="FASTAPI=0"
else
  setup_fastapi
fi
[ -z "$fastapi_note" ] || echo "python: not used: $fastapi_note"

# wait_for PORT PID: until the server on PORT answers /open (10 s at most, while PID lives).
wait_for() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/open" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_server PORT [VAR=VALUE...]: bench_server on PORT with one worker, its pid in $server_pid.
start_server() {
  local port=$1
  shift
  env "$@" ROCKET_PORT="$port" ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release \
    taskset -c "$server_cpu" "$server_bin" >"$work/server-$port.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for "$port" "$server_pid" && return 0
  echo "bench_server did not start on port $port:" >&2
  tail -5 "$work/server-$port.log" >&2
  exit 1
}

# start_fastapi: bench/fastapi_app.py under uvicorn on FASTAPI_PORT, on the servers' CPU, once it
# answers /open and /token; or a note in $fastapi_note.
start_fastapi() {
  taskset -c "$server_cpu" "$fastapi_python" -m uvicorn fastapi_app:app --app-dir bench \
    --host 127.0.0.1 --port "$FASTAPI_PORT" --workers 1 --loop uvloop --http httptools \
    --no-access-log --log-level warning >"$work/uvicorn.log" 2>&1 &
  fastapi_pid=$!
  pids+=("$fastapi_pid")
  if wait_for "$FASTAPI_PORT" "$fastapi_pid" && curl -sf "http://127.0.0.1:$FASTAPI_PORT/token" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' \
      >"$work/fastapi-token.txt"; then
    return 0
  fi
  fastapi_note="bench/fastapi_app.py did not start or hand out a token: $(tail -1 "$work/uvicorn.log")"
  echo "fastapi-paseto not measured: $fastapi_note"
  stop_server "$fastapi_pid"
  fastapi_pid=""
}

# stop_server PID: stops one of the servers started here, and forgets its pid.
stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

peak_rss_kib() {
  awk '/VmHWM/ {print $2}' "/proc/$1/status"
}

# The wrk scripts are bench/header.lua (one fixed header), bench/fresh.lua (a different token
# on every request) and bench/users.lua (a random token among LIVE live users whose logins end
# and start as the requests go on).

# run NAME PORT PATH SCRIPT HEADER_NAME HEADER_VALUE [LIVE]: one wrk run against the server on
# PORT, appended to $work/results, with the server's /stats before and after it (empty files
# where it has none) in $work/stats.
runs=0
mkdir "$work/stats"
run() {
  local name=$1 port=$2 path=$3 script=$4
  local out
  runs=$((runs + 1))
  curl -sf --max-time 5 "http://127.0.0.1:$port/stats" >"$work/stats/$runs.before" || true
  out=$(HEADER_NAME=$5 HEADER_VALUE=$6 TOKENS_FILE="$work/fresh.txt" LIVE=${7:-1} \
    REQUESTS_PER_LOGIN=$REQUESTS_PER_LOGIN \
    taskset -c "$client_cpu" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -s "bench/$script" "http://127.0.0.1:$port$path")
  curl -sf --max-time 5 "http://127.0.0.1:$port/stats" >"$work/stats/$runs.after" || true
  local rps p50 p99 requests errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  requests=$(awk '/ requests in / {print $1}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  echo "$name $rps $p50 $p99 $requests ${errors:-0} $runs" >> "$work/results"
}

# fetch_tokens: new tokens from every server for the round to come (bench_server's access
# tokens live 15 minutes, less than a long run), in $work/*.txt.
fetch_tokens() {
  curl -sf "http://127.0.0.1:$PORT/tokens?n=$FRESH_TOKENS" > "$work/tokens.json"
  curl -sf "http://127.0.0.1:$NOCACHE_PORT/tokens?n=1" > "$work/nocache-tokens.json"
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
t = json.load(open(f"{work}/tokens.json"))
open(f"{work}/fresh.txt", "w").write("\n".join(t["local"]) + "\n")
for k in ("public", "cookie", "jwt", "jwt_claims"):
    open(f"{work}/{k}.txt", "w").write(t[k])
open(f"{work}/local.txt", "w").write(t["local"][0])
t = json.load(open(f"{work}/nocache-tokens.json"))
open(f"{work}/nocache-local.txt", "w").write(t["local"][0])
open(f"{work}/nocache-public.txt", "w").write(t["public"])
PY
  if [ -n "$fastapi_pid" ]; then
    curl -sf "http://127.0.0.1:$FASTAPI_PORT/token" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' \
        > "$work/fastapi-token.txt"
  fi
}

echo "== baseline memory: a server that hands out the tokens but only serves /open"
start_server "$PORT"
for _ in $(seq "$ROUNDS"); do
  curl -sf "http://127.0.0.1:$PORT/tokens?n=$FRESH_TOKENS" > "$work/tokens.json"
  run open "$PORT" /open header.lua X-Unused none
done
open_rss=$(peak_rss_kib "$server_pid")
stop_server "$server_pid"
: > "$work/results"

echo "== all routes: $ROUNDS rounds of ${DURATION}s each, $CONNECTIONS connections"
start_server "$PORT"
main_pid=$server_pid
# The same server with the verified-token cache turned off, through Rocket's environment.
start_server "$NOCACHE_PORT" ROCKET_PASETO='{cache_size=0}'
fastapi_pid=""
[ -z "$fastapi_python" ] || start_fastapi
garbage="v4.local.$(head -c 150 /dev/zero | tr '\0' 'A')"
oversized="v4.local.$(head -c 8000 /dev/zero | tr '\0' 'A')"
rss_by_round=()
for round in $(seq "$ROUNDS"); do
  fetch_tokens
  local_token=$(cat "$work/local.txt")
  run open "$PORT" /open header.lua X-Unused none
  # The per-request Lua that varies the token costs wrk too: measure /open with it as well.
  run open-varying "$PORT" /open fresh.lua X-Unused none
  run local "$PORT" /local header.lua Authorization "Bearer $local_token"
  run local-fresh "$PORT" /local fresh.lua X-Unused none
  # The live-users script costs the same whatever the number of users.
  run open-users "$PORT" /open users.lua X-Unused none 800
  for live in $LIVE_USERS; do
    run "local-users-$live" "$PORT" /local users.lua X-Unused none "$live"
  done
  run public "$PORT" /public header.lua Authorization "Bearer $(cat "$work/public.txt")"
  run cookie "$PORT" /cookie header.lua Cookie "session=$(cat "$work/cookie.txt")"
  run jwt "$PORT" /jwt header.lua Authorization "Bearer $(cat "$work/jwt.txt")"
  run jwt-claims "$PORT" /jwt-claims header.lua Authorization \
    "Bearer $(cat "$work/jwt_claims.txt")"
  run local-garbage "$PORT" /local header.lua Authorization "Bearer $garbage"
  run local-oversized "$PORT" /local header.lua Authorization "Bearer $oversized"
  run nocache-open "$NOCACHE_PORT" /open header.lua X-Unused none
  run nocache-local "$NOCACHE_PORT" /local header.lua Authorization \
    "Bearer $(cat "$work/nocache-local.txt")"
  run nocache-public "$NOCACHE_PORT" /public header.lua Authorization \
    "Bearer $(cat "$work/nocache-public.txt")"
  if [ -n "$fastapi_pid" ]; then
    run fastapi-open "$FASTAPI_PORT" /open header.lua X-Unused none
    run fastapi-protected "$FASTAPI_PORT" /protected header.lua Authorization \
      "Bearer $(cat "$work/fastapi-token.txt")"
  fi
  rss_by_round+=("$(awk '/VmRSS/ {print $2}' "/proc/$main_pid/status")")
  echo "   round $round done"
done
all_rss=$(peak_rss_kib "$main_pid")
fastapi_rss=""
[ -z "$fastapi_pid" ] || fastapi_rss=$(peak_rss_kib "$fastapi_pid")
for pid in "${pids[@]}"; do stop_server "$pid"; done

FASTAPI_RSS=$fastapi_rss FASTAPI_NOTE=$fastapi_note \
python3 - "$work/results" "$open_rss" "$all_rss" "${rss_by_round[*]}" "$LIVE_USERS" \
  "$REQUESTS_PER_LOGIN" <<'PY'
import json, os, sys
from collections import defaultdict
rows = defaultdict(list)
stats_dir = os.path.join(os.path.dirname(sys.argv[1]), "stats")
def ms(v):
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for u in ("us", "ms", "s"):
        if v.endswith(u):
            return float(v[: -len(u)]) * units[u]
    return float(v)
def counters(run, when):
    """The server's cumulative counters around a run: {} where it answered no /stats."""
    try:
        with open(os.path.join(stats_dir, f"{run}.{when}")) as f:
            stats = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(stats, dict):
        return {}
    return {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
# The run's results, and its hits and misses of each cache that /stats counted during it.
for line in open(sys.argv[1]):
    name, rps, p50, p99, requests, errors, run = line.split()
    before, after = counters(run, "before"), counters(run, "after")
    moved = {}
    for cache in ("cache", "jar"):
        keys = (f"{cache}_hits", f"{cache}_misses")
        if all(k in before and k in after for k in keys):
            moved[cache] = tuple(after[k] - before[k] for k in keys)
    rows[name].append((float(rps), ms(p50), ms(p99), int(requests), int(errors), moved))
mean = lambda xs: sum(xs) / len(xs)
rps_of = lambda name: mean([r[0] for r in rows[name]])
base = rps_of("open")
live_users, per_login = sys.argv[5].split(), sys.argv[6]
print()
def hit_rate(r, cache):
    """Hits over lookups of the cache, summed over the runs; – without counters or lookups."""
    moved = [x[5][cache] for x in r if cache in x[5]] if cache else []
    hits, misses = sum(m[0] for m in moved), sum(m[1] for m in moved)
    return f"{hits / (hits + misses):.1%}" if hits + misses > 0 else "–"
print("| route | token | req/s | p50 ms | p99 ms | vs /open | vs rocket_paseto /open "
      "| cache hit rate |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
# Each row: its results, what the table calls it, the /open it is compared with (the same
# server's, under the same wrk Lua script), the cache whose counters it reports, and whether its
# responses should succeed.
table = [
    ("open", "/open", "none", "open", None, True),
    ("open-varying", "/open", "a different one each request (ignored)", "open-varying", None,
     True),
    ("local", "/local", "the same v4.local each request", "open", "cache", True),
    ("local-fresh", "/local", "a different v4.local each request", "open-varying", "cache",
     True),
    ("open-users", "/open", "a random live user's token (ignored)", "open-users", None, True),
    *[(f"local-users-{n}", "/local", f"a random one of {n} live users' v4.local, "
       f"a new login every {per_login} requests", "open-users", "cache", True)
      for n in live_users],
    ("public", "/public", "the same v4.public each request", "open", "cache", True),
    ("cookie", "/cookie", "the same private cookie each request", "open", "jar", True),
    ("jwt", "/jwt", "the same HS256 JWT each request (`sub`, `exp`)", "open", None, True),
    ("jwt-claims", "/jwt-claims", "the same HS256 JWT each request, with /local's claims", "open",
     None, True),
    ("local-garbage", "/local", "token-shaped garbage (401)", "open", "cache", False),
    ("local-oversized", "/local", "8 kB of garbage (401)", "open", "cache", False),
    ("nocache-open", "/open (cache off)", "none", "nocache-open", None, True),
    ("nocache-local", "/local (cache off)", "the same v4.local each request", "nocache-open",
     "cache", True),
    ("nocache-public", "/public (cache off)", "the same v4.public each request",
     "nocache-open", "cache", True),
    ("fastapi-open", "fastapi-paseto /open", "none", "fastapi-open", None, True),
    ("fastapi-protected", "fastapi-paseto /protected", "the same v4.local each request",
     "fastapi-open", None, True),
]
warnings = []
for name, route, token, reference, cache, succeeds in table:
    r = rows[name]
    if not r:
        continue
    rps = rps_of(name)
    print(f"| {route} | {token} | {rps:,.0f} | {mean([x[1] for x in r]):.2f} | "
          f"{mean([x[2] for x in r]):.2f} | {rps / rps_of(reference):.0%} | {rps / base:.0%} "
          f"| {hit_rate(r, cache)} |")
    requests, errors = sum(x[3] for x in r), sum(x[4] for x in r)
    if succeeds and errors:
        warnings.append(f"{route} ({token}): {errors:,} of {requests:,} responses were errors, "
                        "so its figures are not those of accepted requests (expired tokens?)")
    if not succeeds and errors < requests:
        warnings.append(f"{route} ({token}): {requests - errors:,} of {requests:,} responses "
                        "succeeded where all should have been refused")
print()
print("vs /open: against the same server's /open under the same per-request wrk Lua script "
      "(the different-token and live-users rows use one). vs rocket_paseto /open: against "
      "the first row. The cache-off rows come from a second bench_server started with "
      "ROCKET_PASETO='{cache_size=0}'. cache hit rate: hits over lookups of the verified-token "
      "cache (the private-cookie jar's for /cookie) during the row's runs, from bench_server's "
      "/stats before and after each; – where the route uses no cache, or the server answers no "
      "/stats.")
for warning in warnings:
    print(f"warning: {warning}")
if os.environ["FASTAPI_NOTE"]:
    print(f"fastapi-paseto not measured: {os.environ['FASTAPI_NOTE']}")
open_rss, all_rss = int(sys.argv[2]), int(sys.argv[3])
print()
print(f"peak RSS: /open only {open_rss / 1024:.1f} MiB, all routes {all_rss / 1024:.1f} MiB "
      f"({(all_rss - open_rss) / 1024:+.1f} MiB); RSS after each round: "
      + ", ".join(f"{int(x) / 1024:.1f}" for x in sys.argv[4].split()) + " MiB")
if os.environ["FASTAPI_RSS"]:
    print(f"fastapi-paseto under uvicorn: peak RSS {int(os.environ['FASTAPI_RSS']) / 1024:.1f} MiB")
PY
