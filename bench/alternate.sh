#!/usr/bin/env bash
# The ratios of bench/load.sh that drift most between runs, measured in short alternating runs
# on one server: each cycle runs every route for RUN_SECONDS (2), and each ratio is the median
# over CYCLES (8) of the ratios within a cycle, so that a machine whose speed drifts over minutes
# moves both sides of a ratio alike.
#
#   sudo apt-get install wrk curl python3   # taskset comes with util-linux
#   bash bench/alternate.sh
#
# The bench_server example in release runs on CPU 0 with one Rocket worker, wrk (one thread,
# 32 connections) on CPU 1. It prints each ratio's median and its spread across the cycles:
# `/local` with a new token each request against `/jwt` (the hand-written HS256 guard, for a
# token with `sub` and `exp` only) and against `/jwt-claims` (the same guard for a token with
# the claims `/local`'s tokens carry), a
# repeated token and a private cookie against `/open`, and a random one of 800 live users'
# tokens (a new login every 10 requests) against `/open` under the same script.
set -euo pipefail
cd "$(dirname "$0")/.."

CYCLES=${CYCLES:-8}
RUN_SECONDS=${RUN_SECONDS:-2}
PORT=${PORT:-18140}
for tool in wrk taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk curl python3)" >&2; exit 1; }
done
cores=$(nproc)
client_cpu=$(( cores > 1 ? 1 : 0 ))
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example bench_server
work=$(mktemp -d)
ROCKET_PORT=$PORT ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release \
  taskset -c 0 "$target_dir/release/examples/bench_server" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/open" && break; sleep 0.1; done

curl -sf "http://127.0.0.1:$PORT/tokens?n=20000" > "$work/tokens.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
t = json.load(open(f"{work}/tokens.json"))
open(f"{work}/fresh.txt", "w").write("\n".join(t["local"]) + "\n")
for k in ("cookie", "jwt", "jwt_claims"):
    open(f"{work}/{k}.txt", "w").write(t[k])
open(f"{work}/local.txt", "w").write(t["local"][0])
PY
# run NAME PATH SCRIPT [HEADER_NAME HEADER_VALUE]: one wrk run, its requests per second in
# $work/results.
run() {
  local rps
  rps=$(HEADER_NAME=${4:-X-Unused} HEADER_VALUE=${5:-none} TOKENS_FILE="$work/fresh.txt" \
    LIVE=800 REQUESTS_PER_LOGIN=10 \
    taskset -c "$client_cpu" wrk -t1 -c32 -d"${RUN_SECONDS}s" -s "bench/$3" \
    "http://127.0.0.1:$PORT$2" | awk '/Requests\/sec/ {print $2}')
  echo "$1 $rps" >> "$work/results"
}

for cycle in $(seq "$CYCLES"); do
  run open /open header.lua
  run jwt /jwt header.lua Authorization "Bearer $(cat "$work/jwt.txt")"
  run jwt-claims /jwt-claims header.lua Authorization "Bearer $(cat "$work/jwt_claims.txt")"
  run local-fresh /local fresh.lua
  run local /local header.lua Authorization "Bearer $(cat "$work/local.txt")"
  run cookie /cookie header.lua Cookie "session=$(cat "$work/cookie.txt")"
  run open-users /open users.lua
  run local-users /local users.lua
  echo "cycle $cycle done"
done

python3 - "$work/results" "$CYCLES" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    name, rps = line.split()
    runs[name].append(float(rps))
cycles = int(sys.argv[2])
print(f"\n| ratio | median over {cycles} cycles | lowest – highest |")
print("|---|---:|---:|")
for label, a, b in (
    ("/local, a new token each request, against /jwt", "local-fresh", "jwt"),
    ("/local, a new token each request, against /jwt-claims", "local-fresh", "jwt-claims"),
    ("/jwt against /open", "jwt", "open"),
    ("/local, the same token, against /open", "local", "open"),
    ("/cookie, the same cookie, against /open", "cookie", "open"),
    ("/local, 800 live users, against /open (same script)", "local-users", "open-users"),
):
    ratios = [x / y for x, y in zip(runs[a], runs[b])]
    print(f"| {label} | {statistics.median(ratios):.2f} | {min(ratios):.2f} – {max(ratios):.2f} |")
PY
