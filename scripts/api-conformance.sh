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

# shellcheck source=scripts/lib/api-process.sh
source "$ROOT/scripts/lib/api-process.sh"

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

main() {
    command -v curl >/dev/null || die "curl is required"
    api_build "$CONFIGURATION"
    install_schemathesis
    local port token status=0
    token="conformance-$RANDOM$RANDOM"
    api_seed "$WORK/data.db" "$RUNS" "$USERS" 0.2 7
    api_start DATABASE_PATH="$WORK/data.db" API_TOKEN="$token"
    port="$API_PORT_USED"
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
