# shellcheck shell=bash
# Runs the `api` executable against a seeded database, for the scripts that check or measure
# it (api-conformance.sh, bench-api.sh). Source it after defining `log` and `die`. It sets an
# EXIT trap that stops the api and removes $WORK.
#
#   api_build CONFIGURATION        builds `api` and `etl-seed` (skipped with SKIP_BUILD=1) and
#                                  sets API_BIN (BIN_DIR overrides where the binaries are)
#   api_seed DB RUNS USERS RATE SEED   fills DB with generated runs (etl-seed)
#   api_start VAR=VALUE...         starts the api on a free loopback port with DATABASE_PATH etc.
#                                  given as arguments; sets API_PID, API_PORT_USED; waits for /health

WORK="$(mktemp -d "${TMPDIR:-/tmp}/${0##*/}.XXXXXX")"
API_PID=""
API_BIN=""
API_PORT_USED=""

api_cleanup() {
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap api_cleanup EXIT

api_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

api_build() {
    local configuration="$1"
    if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN_DIR:-}" ]]; then
        log "building api and etl-seed ($configuration)"
        # One product per call: `--product a --product b` builds only the last.
        swift build -c "$configuration" --product api >&2
        swift build -c "$configuration" --product etl-seed >&2
    fi
    API_BIN="${BIN_DIR:-$(swift build -c "$configuration" --show-bin-path)}"
}

api_seed() {
    local database="$1" runs="$2" users="$3" rate="$4" seed="$5"
    log "seeding $runs runs × $users users into $database"
    "$API_BIN/etl-seed" --database "$database" --runs "$runs" --users-per-run "$users" --invalid-rate "$rate" --seed "$seed" >&2
}

api_start() {
    API_PORT_USED="$(api_free_port)"
    env "$@" API_HOST=127.0.0.1 API_PORT="$API_PORT_USED" LOG_LEVEL=warning "$API_BIN/api" >"$WORK/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$API_PORT_USED/health" >/dev/null 2>&1; then return; fi
        kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/api.log" >&2; die "api exited during start-up"; }
        sleep 0.1
    done
    die "api did not answer /health on port $API_PORT_USED"
}
