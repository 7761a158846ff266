#!/usr/bin/env bash
# The `app` example's peak memory under bursts of wrong-password logins: ACCOUNTS accounts are
# registered one after the other, then each burst sends one wrong-password login per account,
# all at once, ROUNDS times. Prints the resident memory (VmRSS) and its peak (VmHWM, from
# /proc/PID/status) after start-up, after the registrations and after each burst, and exits 1
# when the peak passes LIMIT_MB.
#
#   bash bench/login-memory.sh     # ACCOUNTS=24 ROUNDS=3 LIMIT_MB=160 PROFILE=debug by default
#
# Settings (environment): ACCOUNTS, ROUNDS, LIMIT_MB, PORT (18096), PROFILE (debug or release:
# the example's build), BUILD (1; 0 uses the example as already built).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-debug}
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }
target_dir="${CARGO_TARGET_DIR:-target}"
profile_flag=()
[ "$PROFILE" = release ] && profile_flag=(--release)
if [ "${BUILD:-1}" = 1 ]; then
  cargo build "${profile_flag[@]}" --quiet --example app
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores," \
  "Linux $(uname -r), $(ldd --version 2>&1 | head -n1); app example, $PROFILE build"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Rocket's debug profile, whatever the build: the server takes the demo keys in Rocket.toml.
SERVER="$target_dir/$PROFILE/examples/app" WORK="$work" ROCKET_PROFILE=debug \
  python3 bench/login_memory.py
