# shellcheck shell=bash
# Runs the `api` executable against a seeded database, for the scripts that check or measure
# it (api-conformance.sh, bench-api.sh, dashboard-check.sh). Source it after defining `ROOT`,
# `log` and `die`. It sets an EXIT trap that stops the api and removes $WORK.
#
#   api_build CONFIGURATION        builds `api` and `etl-seed` (skipped with SKIP_BUILD=1) and
#                                  sets API_BIN (BIN_DIR overrides where the binaries are)
#   api_seed DB RUNS USERS RATE SEED   fills DB with generated runs (etl-seed)
#   api_start VAR=VALUE...         starts the api as scripts/stack.py defines it, on a free
#                                  loopback port with DATABASE_PATH etc. given as arguments;
#                                  sets API_PORT_USED and API_PID; waits for /health; log in
#                                  $WORK/api.log; API_COMPONENTS=redis,api starts the
#                                  stack's password-protected Redis first and gives the api
#                                  its REDIS_URL and EVENT_HMAC_KEY
#   api_stop                       stops it (SIGTERM)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/${0##*/}.XXXXXX")"
API_BIN=""
API_PORT_USED=""
API_PID=""

api_stack() {
    local command="$1"; shift
    python3 "$ROOT/scripts/stack.py" "$command" --root "$WORK/stack" "$@"
}

api_stop() {
    if [[ -f "$WORK/stack/stack.json" ]]; then
        api_stack down >/dev/null 2>&1 || true
    fi
    API_PORT_USED=""
    API_PID=""
}

api_cleanup() {
    api_stop
    rm -rf "$WORK"
}
trap api_cleanup EXIT

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
    local settings=(--set LOG_LEVEL=warning) assignment
    for assignment in "$@"; do settings+=(--set "$assignment"); done
    # From the repository root, as the api runs there (it reads .env from its directory).
    api_stack up --only "${API_COMPONENTS:-api}" --bin-dir "$API_BIN" --cwd "$ROOT" --logs "$WORK" "${settings[@]}" \
        --env >"$WORK/api.env" || die "api did not start; see above"
    API_PORT_USED="$(sed -n 's/^API_PORT=//p' "$WORK/api.env")"
    API_PID="$(api_stack status | sed -n 's/^api running //p')"
}
