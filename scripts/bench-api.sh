#!/usr/bin/env bash
# Benchmarks the api (a script, not a test): release build of api and etl-seed, a database
# of BENCH_RUNS runs × BENCH_USERS users, then wrk (-t2 -c64 -d10s --latency) on each
# endpoint; prints requests/s and p50/p99 latency per endpoint, then stops the api.
#
#   scripts/bench-api.sh                 # 100 runs × 1,000 users, 10 s per endpoint
#   BENCH_DURATION=30s scripts/bench-api.sh
#
# Knobs: BENCH_RUNS (100), BENCH_USERS (1000), BENCH_DURATION (10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_ENDPOINTS (space-separated paths), SKIP_BUILD=1, KEEP_DB=path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly RUNS="${BENCH_RUNS:-100}"
readonly USERS="${BENCH_USERS:-1000}"
readonly DURATION="${BENCH_DURATION:-10s}"
readonly CONNECTIONS="${BENCH_CONNECTIONS:-64}"
readonly THREADS="${BENCH_THREADS:-2}"
readonly ENDPOINTS="${BENCH_ENDPOINTS:-/etl_runs /processed_users?limit=100}"

log() { printf 'bench-api: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# shellcheck source=scripts/lib/api-process.sh
source "$ROOT/scripts/lib/api-process.sh"

# "1.23ms" / "850.00us" / "1.02s" → milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n }'
}

command -v wrk >/dev/null || die "wrk is required (apt-get install wrk)"
command -v curl >/dev/null || die "curl is required"

api_build release
DB="${KEEP_DB:-$WORK/data.db}"
api_seed "$DB" "$RUNS" "$USERS" 0.1 42
api_start DATABASE_PATH="$DB"
PORT="$API_PORT_USED"

printf '\n%-28s %12s %10s %10s %8s\n' "endpoint" "requests/s" "p50 ms" "p99 ms" "errors"
for endpoint in $ENDPOINTS; do
    url="http://127.0.0.1:$PORT$endpoint"
    curl -fsS -o /dev/null "$url" || die "$endpoint does not answer 200"
    curl -fsS "$url" >/dev/null  # warm the page cache and prepared statements
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")"
    rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
    errors="$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { n += 1 } END { print n + 0 }' <<<"$out")"
    printf '%-28s %12s %10s %10s %8s\n' "$endpoint" "$rps" "$p50" "$p99" "$errors"
done
