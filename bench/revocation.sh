#!/usr/bin/env bash
# What the revocation check costs per request: the bench_server example's /local route (the
# same v4.local access token on every request, so verification is a cache hit) without a
# store, with the memory store, with Redis on loopback: each check a round trip
# (`replica = false`), and answered by the replica in memory (the default), and with a Redis
# Cluster of three masters on loopback (each check a round trip, split by slot).
#
#   sudo apt-get install wrk redis-server
#   bash bench/revocation.sh        # DURATION=10 ROUNDS=3 CONNECTIONS=32 by default
#
# The server runs on CPU 0 with one Rocket worker; wrk and the redis-servers share CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18090}
REDIS_PORT=${REDIS_PORT:-18091}
CLUSTER_PORT=${CLUSTER_PORT:-18092}  # three nodes from here; their bus ports are 10000 above
for tool in wrk taskset curl python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk redis-server)" >&2; exit 1; }
done
cores=$(nproc)
client_cpu=$(( cores > 1 ? 1 : 0 ))

cargo build --release --quiet --features redis --example bench_server
work=$(mktemp -d)
cluster_ports=$(seq "$CLUSTER_PORT" $((CLUSTER_PORT + 2)))
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  for port in "$REDIS_PORT" $cluster_ports; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$client_cpu" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --daemonize yes --logfile "$work/redis.log"
for port in $cluster_ports; do
  mkdir -p "$work/cluster/$port"
  taskset -c "$client_cpu" redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --dir "$work/cluster/$port" --save '' --appendonly no --daemonize yes --logfile redis.log
done
for port in $cluster_ports; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create $(for port in $cluster_ports; do echo "127.0.0.1:$port"; done) \
  --cluster-replicas 0 --cluster-yes >/dev/null
for port in $cluster_ports; do
  for _ in $(seq 100); do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && break
    sleep 0.1
  done
done

start_server() { # $1: the ROCKET_PASETO table
  ROCKET_PASETO="$1" ROCKET_PORT=$PORT ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 \
    ROCKET_PROFILE=release taskset -c 0 "${CARGO_TARGET_DIR:-target}/release/examples/bench_server" >/dev/null 2>&1 &
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

cat > "$work/header.lua" <<'LUA'
wrk.headers["Authorization"] = os.getenv("AUTH")
LUA

redis_url="redis://127.0.0.1:$REDIS_PORT/"
declare -A configs=(
  [none]='{revocation={store="none"}}'
  [memory]='{revocation={store="memory"}}'
  [redis]="{revocation={store=\"redis\",url=\"$redis_url\",replica=false}}"
  [replica]="{revocation={store=\"redis\",url=\"$redis_url\"}}"
  [cluster]="{revocation={store=\"redis-cluster\",urls=[\"redis://127.0.0.1:$CLUSTER_PORT/\"]}}"
)
for round in $(seq "$ROUNDS"); do
  for name in none memory redis replica cluster; do
    start_server "${configs[$name]}"
    token=$(curl -sf "http://127.0.0.1:$PORT/tokens?n=1" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["local"][0])')
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$PORT/local")
    [ "$code" = 200 ] || { echo "$name: /local answered $code" >&2; exit 1; }
    # The first check starts the replica, which is in step a few milliseconds later.
    sleep 0.5
    AUTH="Bearer $token" taskset -c "$client_cpu" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      --latency -s "$work/header.lua" "http://127.0.0.1:$PORT/local" > "$work/$name.$round"
    stop_server
  done
done

python3 - "$work" "$ROUNDS" <<'PY'
import re, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def ms(text, label):
    m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rows = {}
for name in ("none", "memory", "redis", "replica", "cluster"):
    runs = [open(f"{work}/{name}.{r}").read() for r in range(1, rounds + 1)]
    rps = [float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)) for t in runs]
    rows[name] = (sum(rps) / rounds, sum(ms(t, "50") for t in runs) / rounds,
                  sum(ms(t, "99") for t in runs) / rounds)
base = rows["none"][0]
print("| /local, same token | req/s | p50 ms | p99 ms | vs no store |")
print("|---|---:|---:|---:|---:|")
for name, label in (("none", "no revocation store"), ("memory", "memory store"),
                    ("redis", "Redis on loopback, a round trip per check"),
                    ("replica", "Redis on loopback, replica (default)"),
                    ("cluster", "Redis Cluster on loopback (3 masters), a round trip per check")):
    rps, p50, p99 = rows[name]
    print(f"| {label} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / base:.0%} |")
PY
