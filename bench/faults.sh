#!/usr/bin/env bash
# What logins and checks see when Redis dies and comes back: the `sessions` example with the
# Redis revocation store (replica on, `on_error = "reject"`) under wrk load on GET /user, while
# redis-server is stopped (SHUTDOWN NOSAVE) and restarted empty on the same port. A second
# client logs in, refreshes and logs out throughout, and presents tokens revoked before the
# outage. Prints the status counts per phase, the time from the restart to the first 200s
# and the server's RSS, writes a JSON summary, and exits 1 when a pass condition fails:
#
# - no 500, and no panic in the server's log;
# - valid tokens get 200, or 503 while Redis cannot answer (no 401), and once the load route
#   got a 503 during the outage, no more 200s until Redis is back;
# - revoked tokens get 401, or 503 while Redis cannot answer: never 200;
# - a 200 on the load route and on /refresh within RECOVERY_LIMIT seconds of the restart;
# - the last RSS sample at most 10% (or 4 MB, whichever is more) above the one at the end of
#   the first phase.
#
#   sudo apt-get install wrk redis-server
#   bash bench/faults.sh       # PHASE_SECONDS=10 CONNECTIONS=16 PROFILE=debug by default
#
# Settings (environment): PHASE_SECONDS, CONNECTIONS, PORT (18094), REDIS_PORT (18095),
# PROFILE (debug or release: the example's build), ON_ERROR (reject), RECOVERY_LIMIT (5), LOG_LEVEL (critical),
# SUMMARY (target/faults-summary.json), BUILD (1; 0 uses the example as already built).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-debug}
for tool in wrk python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk redis-server)" >&2; exit 2; }
done
target_dir="${CARGO_TARGET_DIR:-target}"
profile_flag=()
[ "$PROFILE" = release ] && profile_flag=(--release)
if [ "${BUILD:-1}" = 1 ]; then
  cargo build "${profile_flag[@]}" --quiet --features redis --example sessions
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores," \
  "Linux $(uname -r); $(redis-server --version | cut -d' ' -f1-3); $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2);" \
  "sessions example, $PROFILE build"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p target
# Rocket's debug profile, whatever the build: the server takes the demo keys in Rocket.toml.
SERVER="$target_dir/$PROFILE/examples/sessions" WORK="$work" \
  SUMMARY="${SUMMARY:-target/faults-summary.json}" \
  ROCKET_PROFILE=debug \
  python3 bench/faults.py
