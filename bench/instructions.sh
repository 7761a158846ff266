#!/usr/bin/env bash
# Instructions per request, counted by callgrind: a figure that does not drift with the machine's
# load, for changes too small for the noise of a throughput run (bench/alternate.sh). The
# bench_server example in release runs under valgrind with one Rocket worker; REQUESTS (1000)
# requests per route go over one keep-alive connection, and only they are counted.
#
#   sudo apt-get install valgrind curl python3
#   bash bench/instructions.sh
#
# Rows: `/open` (no guard), `/local` with the same token each time (a cache hit), `/local` with a
# new token each time, `/cookie` (a private-cookie read), `/jwt` (the hand-written HS256 guard)
# and `/jwt-claims` (the same guard, for a token with `/local`'s claims), each also as its share
# of `/open` (the open route's count divided by the route's). Counts differ between processors
# and builds: compare builds on one machine, run in turn.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-1000}
PORT=${PORT:-18150}
for tool in valgrind callgrind_control curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install valgrind curl python3)" >&2; exit 1; }
done
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example bench_server
work=$(mktemp -d)
ROCKET_PORT=$PORT ROCKET_ADDRESS=127.0.0.1 ROCKET_WORKERS=1 ROCKET_PROFILE=release ROCKET_LOG_LEVEL=off \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$target_dir/release/examples/bench_server" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/open" && break; sleep 0.2; done

python3 - "$PORT" "$REQUESTS" "$work" "$server_pid" <<'PY'
import glob, http.client, json, re, subprocess, sys

port, n, work, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)

def get(path, headers):
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status

def control(*args):
    subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)

conn.request("GET", f"/tokens?n={n + 50}")
tokens = json.loads(conn.getresponse().read())
bearer = lambda token: {"Authorization": f"Bearer {token}"}
rows = [
    ("open", "`/open`", [("/open", {})] * n),
    ("local", "`/local`, the same token", [("/local", bearer(tokens["local"][0]))] * n),
    ("fresh", "`/local`, a new token each time", [("/local", bearer(t)) for t in tokens["local"][50:]]),
    ("cookie", "`/cookie`, the same cookie", [("/cookie", {"Cookie": f"session={tokens['cookie']}"})] * n),
    ("jwt", "`/jwt` (HS256, hand-written guard)", [("/jwt", bearer(tokens["jwt"]))] * n),
    ("claims", "`/jwt-claims` (the same, `/local`'s claims)",
     [("/jwt-claims", bearer(tokens["jwt_claims"]))] * n),
]
for name, _, requests in rows:
    # Warm up on the route (with the tokens the counted requests do not use, for new tokens).
    warm = [("/local", bearer(t)) for t in tokens["local"][:50]] if name == "fresh" else requests[:50]
    for path, headers in warm:
        get(path, headers)
    control("-z")
    control("-i", "on")
    for path, headers in requests:
        status = get(path, headers)
        if status != 200:
            sys.exit(f"{path}: {status}")
    control("-i", "off")
    control("-d", name)

counts = {}
for path in glob.glob(f"{work}/callgrind.out*"):
    text = open(path).read()
    dump = re.search(r"^desc: Trigger: .*dump (\w+)$", text, re.M)
    total = re.search(r"^totals: (\d+)", text, re.M)
    if dump and total:
        counts[dump.group(1)] = int(total.group(1)) / n
print("| route | instructions per request | share of `/open` |")
print("|---|---:|---:|")
for name, label, _ in rows:
    print(f"| {label} | {counts[name]:,.0f} | {counts['open'] / counts[name]:.1%} |")
PY
