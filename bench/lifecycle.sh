#!/usr/bin/env bash
# Logins and refreshes per second, as shares of a protected read: the `sessions` example
# (release) with one Rocket worker on CPU 0, wrk on CPU 1, with the memory store and with
# Redis on loopback (its server on CPU 1 too), sessions unlisted (the example's
# `max_sessions = 0`) and listed (`max_sessions = 32`, the crate's default).
#
#   sudo apt-get install wrk redis-server
#   bash bench/lifecycle.sh     # DURATION=10 ROUNDS=2 CONNECTIONS=32 POOL=96 by default
#   MAX_SESSIONS=0 bash bench/lifecycle.sh   # the unlisted rows only ("0 32" by default)
#
# Per configuration and round: GET /user with one access token (the protected read), POST
# /login with the demo user, and POST /refresh with rotation as clients do it: every request
# sends a refresh token once, and the one in its answer goes back into a pool
# (bench/lifecycle.lua) that starts with POOL fresh logins. A refused refresh would mean a
# token used twice; the table reports them (they must be 0). Each figure is the mean over the
# rounds, and each share is taken against /user in the same round.
#
# The example has one user, so in the listed rows every login rewrites that one user's list of
# 32 sessions (ending its oldest), each compare-and-set racing the other connections': a worst
# case for logins, not a population. Their refresh pool holds 32 logins, the list's bound, so
# their refreshes run on 16 connections (a pool of at least twice the connections never runs
# dry).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
POOL=${POOL:-96}
MAX_SESSIONS=${MAX_SESSIONS:-0 32}
PORT=${PORT:-18095}
REDIS_PORT=${REDIS_PORT:-18096}
for tool in wrk taskset curl python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk redis-server)" >&2; exit 1; }
done
cores=$(nproc)
server_cpu=0
client_cpu=$(( cores > 1 ? 1 : 0 ))

cargo build --release --quiet --features redis --example sessions
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server_bin="$target_dir/release/examples/sessions"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$client_cpu" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize yes --logfile "$work/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# A fresh local key for this run (the release profile has no fallback).
local_key="k4.local.$(python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')"

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $cores cores (server on CPU $server_cpu, wrk and redis-server on CPU $client_cpu)"
echo "$(redis-server --version | cut -d' ' -f1-3); wrk $DURATION s, $CONNECTIONS connections, one thread; $ROUNDS rounds"

# start STORE MAX_SESSIONS: the server with that store and bound, its pid in $server_pid.
start() {
  local store=$1 max=$2 revocation
  case $store in
    memory) revocation="{store=\"memory\",max_sessions=$max}" ;;
    redis) revocation="{store=\"redis\",url=\"redis://127.0.0.1:$REDIS_PORT/\",max_sessions=$max}" ;;
  esac
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  ROCKET_PASETO="{local_key=\"$local_key\",revocation=$revocation}" ROCKET_PORT="$PORT" \
    ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release ROCKET_LOG_LEVEL=off \
    taskset -c "$server_cpu" "$server_bin" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/user" && return 0
    sleep 0.1
  done
  echo "the sessions example did not start:" >&2
  tail -5 "$work/server.log" >&2
  exit 1
}

stop() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

login() {
  curl -sf "http://127.0.0.1:$PORT/login" -H 'Content-Type: application/json' \
    -d '{"username":"test","password":"test"}'
}

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# rps OUTPUT: requests per second from wrk's summary.
rps() { grep '^Requests/sec' <<<"$1" | awk '{print $2}'; }

run() { taskset -c "$client_cpu" wrk -t1 -c"${conns:-$CONNECTIONS}" -d"${DURATION}s" --latency "$@" 2>&1; }

printf '\n| store | sessions | GET /user req/s | POST /login req/s | share | POST /refresh req/s | share | refused refreshes |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for store in memory redis; do
  for max in $MAX_SESSIONS; do
    declare -a user_rps=() login_rps=() refresh_rps=()
    refused=0
    for round in $(seq "$ROUNDS"); do
      start "$store" "$max"
      access=$(login | field access_token)
      user=$(run -H "Authorization: Bearer $access" "http://127.0.0.1:$PORT/user")
      logins=$(run -s bench/lifecycle-login.lua "http://127.0.0.1:$PORT/login")
      : >"$work/tokens"
      pool=$POOL
      [ "$max" -gt 0 ] && [ "$max" -lt "$pool" ] && pool=$max
      conns=$(( pool / 2 < CONNECTIONS ? pool / 2 : CONNECTIONS ))
      for _ in $(seq "$pool"); do login | field refresh_token >>"$work/tokens"; done
      refreshes=$(TOKENS="$work/tokens" run -s bench/lifecycle.lua "http://127.0.0.1:$PORT/refresh")
      conns=
      stop
      user_rps+=("$(rps "$user")")
      login_rps+=("$(rps "$logins")")
      line=$(grep '^lifecycle' <<<"$refreshes" | cut -d' ' -f2-)
      seconds=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$line")
      refreshed=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['refreshed'])" "$line")
      refused=$((refused + $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['refused'])" "$line")))
      refresh_rps+=("$(python3 -c "print($refreshed / $seconds)")")
    done
    python3 - "$store" "$max" "$refused" "${user_rps[*]}" "${login_rps[*]}" "${refresh_rps[*]}" <<'PY'
import sys
store, max_sessions, refused = sys.argv[1], int(sys.argv[2]), sys.argv[3]
users, logins, refreshes = ([float(x) for x in a.split()] for a in sys.argv[4:7])
mean = lambda xs: sum(xs) / len(xs)
share = lambda xs: mean([x / u for x, u in zip(xs, users)])
listed = "unlisted" if max_sessions == 0 else f"listed ({max_sessions})"
print(f"| {store} | {listed} | {mean(users):,.0f} | {mean(logins):,.0f} | {share(logins):.0%} "
      f"| {mean(refreshes):,.0f} | {share(refreshes):.0%} | {refused} |")
PY
  done
done
