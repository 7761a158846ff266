#!/usr/bin/env bash
# A day of a service in a minute: two instances of one service sharing a real Redis, under a
# mixed population of users, and the same day for fastapi-paseto.
#
#   sudo apt-get install redis-server curl python3 python3-venv   # taskset comes with util-linux
#   bash bench/day.sh          # SECONDS_PER_DAY=60 CONNECTIONS=32 USERS=10000 by default
#
# The `day` example is the load: users sign in, read (most requests), refresh when their access
# token is about to expire, sign out, and one in twenty signs out everywhere; a fifth of them
# use two devices. Each request goes to either instance, at random, as a load balancer would
# send it. After every sign-out, its tokens are tried on both instances once the replicas may
# have caught up (250 ms, more than `replica_max_lag_ms`): the "revoked accepted" column counts
# those that got through, and must be 0.
#
# Access tokens live ACCESS_TTL (2) seconds and are refreshed after REFRESH_AFTER_MS (500), so
# that a minute holds a day's refreshes; `leeway` is 1 s on both sides.
#
# The two instances run on CPU 0, one worker each; Redis and the load on CPU 1. The instances
# are the bench_server example (its `/login`, `/local`, `/refresh`, `/logout` and `/logout-all`
# routes, with the crate's Redis store and its replica), then bench/fastapi_app.py under uvicorn
# (uvloop, httptools, one worker each, no access log) with fastapi-paseto 0.7.1 and the denylist
# it describes, in a venv under the cargo target directory (FASTAPI=0 leaves it out).
#
# It prints the machine, each service's result line from the load (`day {...}`, with the
# unexpected answers by route and status), then a table: per service the requests per second,
# per route the median and 99th-percentile latency and the requests, the unexpected answers, and
# the revoked tokens accepted.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${SECONDS_PER_DAY:-60}
CONNECTIONS=${CONNECTIONS:-32}
USERS=${USERS:-10000}
ACCESS_TTL=${ACCESS_TTL:-2}
REFRESH_AFTER_MS=${REFRESH_AFTER_MS:-500}
PORT=${PORT:-18120}
REDIS_PORT=${REDIS_PORT:-18126}
FASTAPI=${FASTAPI:-1}
for tool in taskset curl python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || {
    echo "$tool is needed (apt-get install redis-server curl util-linux python3)" >&2
    exit 1
  }
done
cores=$(nproc)
server_cpu=0
client_cpu=$(( cores > 1 ? 1 : 0 ))

target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --features redis --example bench_server --example day
bin=$target_dir/release/examples
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

source bench/fastapi-venv.sh
if [ "$FASTAPI" = 0 ]; then fastapi_note="FASTAPI=0"; else setup_fastapi; fi

echo "== machine"
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
echo "CPU: ${cpu:-unknown}, $cores cores (instances on CPU $server_cpu; Redis and the load on CPU $client_cpu)"
echo "$(redis-server --version | cut -d' ' -f1-3); rustc: $(rustc --version | cut -d' ' -f2)"
[ -z "$fastapi_note" ] || echo "fastapi-paseto: not run: $fastapi_note"

taskset -c "$client_cpu" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize yes --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# wait_for PORT PID: until the server on PORT answers (10 s at most, while PID lives).
wait_for() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# day NAME: the load against PORT and PORT+1, its result line in $work/NAME.
day() {
  taskset -c "$client_cpu" "$bin/day" --targets "http://127.0.0.1:$PORT,http://127.0.0.1:$((PORT + 1))" \
    --seconds "$DURATION" --connections "$CONNECTIONS" --users "$USERS" \
    --refresh-after-ms "$REFRESH_AFTER_MS" > "$work/$1.out"
  grep '^day ' "$work/$1.out"
  sed -n 's/^day //p' "$work/$1.out" > "$work/$1"
}

# stop_all: ends the instances started so far.
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

key="k4.local.$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')"
for port in "$PORT" "$((PORT + 1))"; do
  ROCKET_PASETO="{local_key=\"$key\",leeway=1,access={ttl=$ACCESS_TTL},revocation={store=\"redis\",url=\"redis://127.0.0.1:$REDIS_PORT/\"}}" \
    ROCKET_PORT=$port ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release \
    ROCKET_LOG_LEVEL=critical taskset -c "$server_cpu" "$bin/bench_server" >"$work/rocket-$port.log" 2>&1 &
  pids+=("$!")
  wait_for "$port" "$!" || { echo "bench_server did not start:" >&2; tail -5 "$work/rocket-$port.log" >&2; exit 1; }
done
echo "== rocket_paseto: ${DURATION}s"
day rocket_paseto
stop_all

if [ -n "$fastapi_python" ]; then
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  fastapi_key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  for port in "$PORT" "$((PORT + 1))"; do
    DAY_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/" DAY_PASETO_KEY=$fastapi_key DAY_ACCESS_TTL=$ACCESS_TTL \
      taskset -c "$server_cpu" "$fastapi_python" -m uvicorn fastapi_app:app --app-dir bench \
      --host 127.0.0.1 --port "$port" --workers 1 --loop uvloop --http httptools \
      --no-access-log --log-level warning >"$work/uvicorn-$port.log" 2>&1 &
    pids+=("$!")
    wait_for "$port" "$!" || { echo "uvicorn did not start:" >&2; tail -5 "$work/uvicorn-$port.log" >&2; exit 1; }
  done
  echo "== fastapi-paseto: ${DURATION}s"
  day fastapi-paseto
  stop_all
fi

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
routes = ("read", "refresh", "login", "logout", "logout_all", "revoked")
print("\n| service | req/s | " + " | ".join(f"{r} p50 / p99 ms (n)" for r in routes)
      + " | unexpected | revoked accepted |")
print("|---" * (len(routes) + 5) + "|")
for name in ("rocket_paseto", "fastapi-paseto"):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        continue
    day = json.load(open(path))
    cells = []
    for r in routes:
        f = day["routes"].get(r)
        cells.append(f"{f['p50_ms']:.2f} / {f['p99_ms']:.2f} ({f['requests']:,})" if f else "–")
    unexpected = sum(f["unexpected"] for f in day["routes"].values())
    print(f"| {name} | {day['requests_per_second']:,.0f} | " + " | ".join(cells)
          + f" | {unexpected} | {day['revoked_accepted']} |")
PY
