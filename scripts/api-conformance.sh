#!/usr/bin/env bash
# Checks that the running API and its /openapi.json agree, with schemathesis and all its checks:
#
#   1. builds `api` and `etl-seed` (debug unless CONFIGURATION=release);
#   2. seeds a temporary database (CONFORMANCE_RUNS runs × CONFORMANCE_USERS users);
#   3. starts `api` on a free loopback port with API_TOKEN set (so `ignored_auth` checks that
#      every protected route refuses a request without the token);
#   4. installs schemathesis (pinned) in a virtualenv under .build/ and runs it against
#      /openapi.json; exits non-zero on any failure; prints a summary; stops the api.
#
# Knobs: CONFIGURATION (debug), SCHEMATHESIS_VERSION, CONFORMANCE_MAX_EXAMPLES (30),
# CONFORMANCE_MAX_TIME seconds (75), CONFORMANCE_VENV, SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly CONFIGURATION="${CONFIGURATION:-debug}"
readonly SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
readonly MAX_EXAMPLES="${CONFORMANCE_MAX_EXAMPLES:-30}"
readonly MAX_TIME="${CONFORMANCE_MAX_TIME:-75}"
readonly VENV="${CONFORMANCE_VENV:-$ROOT/.build/api-conformance-venv}"
readonly RUNS="${CONFORMANCE_RUNS:-5}"
readonly USERS="${CONFORMANCE_USERS:-200}"

log() { printf 'api-conformance: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/api-conformance.XXXXXX")"
API_PID=""
cleanup() {
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

build() {
    if [[ "${SKIP_BUILD:-0}" == 1 ]]; then return; fi
    log "building api and etl-seed ($CONFIGURATION)"
    swift build -c "$CONFIGURATION" --product api >&2
    swift build -c "$CONFIGURATION" --product etl-seed >&2
}

install_schemathesis() {
    local installed=""
    if [[ -x "$VENV/bin/schemathesis" ]]; then
        # Captured first: `pip show | grep -q` fails under pipefail when grep exits early.
        installed="$("$VENV/bin/python" -m pip show schemathesis 2>/dev/null || true)"
    fi
    if grep -qx "Version: $SCHEMATHESIS_VERSION" <<<"$installed"; then
        return
    fi
    log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

start_api() {
    local port="$1" token="$2" bin
    bin="$(swift build -c "$CONFIGURATION" --show-bin-path)"
    log "seeding $RUNS runs × $USERS users"
    "$bin/etl-seed" --database "$WORK/data.db" --runs "$RUNS" --users-per-run "$USERS" --invalid-rate 0.2 --seed 7 >&2
    DATABASE_PATH="$WORK/data.db" API_HOST=127.0.0.1 API_PORT="$port" API_TOKEN="$token" LOG_LEVEL=warning \
        "$bin/api" >"$WORK/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return; fi
        kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/api.log" >&2; die "api exited during start-up"; }
        sleep 0.1
    done
    die "api did not answer /health on port $port"
}

main() {
    command -v curl >/dev/null || die "curl is required"
    build
    install_schemathesis
    local port token status=0
    port="$(free_port)"
    token="conformance-$RANDOM$RANDOM"
    start_api "$port" "$token"
    log "running schemathesis against http://127.0.0.1:$port/openapi.json"
    # The token header is given to every generated request; `ignored_auth` also sends each
    # protected request without it and expects the 401 the document promises.
    # Run from the temporary directory: schemathesis keeps a cache (.schemathesis/) in its cwd.
    (cd "$WORK" && "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
        --checks all \
        --header "Authorization: Bearer $token" \
        --max-examples "$MAX_EXAMPLES" \
        --max-time "$MAX_TIME" \
        --workers 2 \
        --request-timeout 10 \
        --seed 42 \
        --generation-database none \
        --no-color \
        --report junit --report-dir "$WORK/report") || status=$?
    if [[ "$status" -ne 0 ]]; then
        log "FAILED (schemathesis exit $status); api log:"
        tail -n 50 "$WORK/api.log" >&2 || true
        exit 1
    fi
    log "OK: no failures"
}

main "$@"
