#!/usr/bin/env bash
# Idle-socket load check (a script, not a test; issue 9 finding 8): builds the api, starts it
# on a free loopback port over a small seeded database, then holds IDLE_CONNECTIONS idle
# connections and, after them, the same number of trickling ones (one byte of a never-ending
# request head per second each), probing /health every 50 ms meanwhile. Fails (exit 1) when
# the /health p99 exceeds 100 ms or a probe fails. Loopback only; bounded in count and time.
#
#   scripts/idle-sockets.sh                          # 20,000 connections, 30 s per mode
#   IDLE_CONNECTIONS=5000 IDLE_SECONDS=20 scripts/idle-sockets.sh
#
# Both processes need one file descriptor per connection: the script raises its soft limit
# (`ulimit -n`) to the hard limit, and the api raises its own; with a hard limit below
# ~20,100 the api holds fewer (API_MAX_CONNECTIONS is lowered to fit, the oldest idle
# connections are closed to make room). Knobs: IDLE_CONNECTIONS (20000), IDLE_SECONDS (30),
# IDLE_MODES ("idle trickle"), BUILD_CONFIGURATION (release), SKIP_BUILD=1, BIN_DIR, and any
# API_* variable (API_HEADER_TIMEOUT_SECONDS, API_IDLE_TIMEOUT_SECONDS, API_MAX_CONNECTIONS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly CONNECTIONS="${IDLE_CONNECTIONS:-20000}"
readonly SECONDS_PER_MODE="${IDLE_SECONDS:-30}"
readonly MODES="${IDLE_MODES:-idle trickle}"

log() { printf 'idle-sockets: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

command -v python3 >/dev/null || die "python3 is required"
command -v curl >/dev/null || die "curl is required"

# shellcheck source=scripts/lib/api-process.sh
source "$ROOT/scripts/lib/api-process.sh"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "open-file limit: $(ulimit -n) (hard $(ulimit -Hn))"

api_build "${BUILD_CONFIGURATION:-release}"
api_seed "$WORK/data.db" 3 200 0.1 7
extra=()
for name in API_HEADER_TIMEOUT_SECONDS API_IDLE_TIMEOUT_SECONDS API_MAX_CONNECTIONS; do
    if [[ -n "${!name:-}" ]]; then extra+=("$name=${!name}"); fi
done
api_start DATABASE_PATH="$WORK/data.db" "${extra[@]}"
log "api on 127.0.0.1:$API_PORT_USED (pid $API_PID)"

status=0
for mode in $MODES; do
    log "$mode: $CONNECTIONS connections for ${SECONDS_PER_MODE}s"
    python3 "$ROOT/scripts/idle_sockets.py" --port "$API_PORT_USED" --connections "$CONNECTIONS" \
        --mode "$mode" --seconds "$SECONDS_PER_MODE" --ramp "$((SECONDS_PER_MODE / 2))" || status=1
    kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/api.log" >&2; die "the api died under load"; }
done
exit "$status"
