#!/usr/bin/env bash
# Real-browser check of the api's dashboard (GET /) in headless Chromium.
#
#   scripts/dashboard-check.sh            # install what is missing, build, seed, check
#   SKIP_INSTALL=1 scripts/dashboard-check.sh
#   SKIP_BUILD=1 scripts/dashboard-check.sh    # or BIN_DIR=.build/debug: the binaries already built
#
# Seeds a temporary database with etl-seed, starts the api (scripts/lib/api-process.sh) on a
# free loopback port with DATABASE_PATH and CHARTJS_PATH, and runs scripts/dashboard_check.py three times:
#   full       data + Chart.js: rows, filters, charts, no personal data, screenshot
#              (Tests/dashboard/dashboard.png, git-ignored)
#   no-charts  CHARTJS_PATH points nowhere: tables still render, charts say unavailable
#   no-data    DATABASE_PATH does not exist: the page shows "no data yet"
#   token      API_TOKEN set: the page asks for the token, then shows the data
# Exits non-zero when any check fails. Needs root (or sudo) only to install packages.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARTIFACTS="$ROOT/Tests/dashboard"
SELENIUM_VERSION=4.51.0          # verified with Debian bookworm's chromium/chromium-driver 156
CHARTJS_PATH=${CHARTJS_PATH:-/usr/share/javascript/chart.js/chart.min.js}
PYTHON=${PYTHON:-python3}

log() { printf '==> %s\n' "$*" >&2; }

# ---- dependencies --------------------------------------------------------------------------
if [[ -z "${SKIP_INSTALL:-}" ]]; then
    missing=()
    for package in chromium chromium-driver libjs-chart.js; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! "$PYTHON" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
        log "installing selenium==$SELENIUM_VERSION"
        "$PYTHON" -m pip install -q --disable-pip-version-check "selenium==$SELENIUM_VERSION"
    fi
fi

# ---- build and seed ------------------------------------------------------------------------
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib/api-process.sh
source "$ROOT/scripts/lib/api-process.sh"
trap 'exit 130' INT TERM

api_build debug
api_seed "$WORK/data.db" 5 200 0.2 42

mkdir -p "$ARTIFACTS"
status=0
CHECK_TOKEN=""   # the api's API_TOKEN (set for the token mode only)
run_check() {  # MODE DATABASE_PATH CHARTJS_PATH [extra args]
    local mode=$1 database=$2 chartjs=$3; shift 3
    log "check: $mode"
    api_start DATABASE_PATH="$database" CHARTJS_PATH="$chartjs" LOG_LEVEL="${LOG_LEVEL:-warning}" \
        API_TOKEN="$CHECK_TOKEN"
    "$PYTHON" "$ROOT/scripts/dashboard_check.py" --url "http://127.0.0.1:$API_PORT_USED/" --mode "$mode" "$@" || {
        status=1; log "api log ($mode):"; tail -n 20 "$WORK/api.log" >&2
    }
    api_stop
}

run_check full "$WORK/data.db" "$CHARTJS_PATH" --database "$WORK/data.db" --screenshot "$ARTIFACTS/dashboard.png"
run_check no-charts "$WORK/data.db" "$WORK/no-such-chart.js" --screenshot "$ARTIFACTS/dashboard-no-charts.png"
run_check no-data "$WORK/missing/data.db" "$CHARTJS_PATH" --screenshot "$ARTIFACTS/dashboard-no-data.png"
CHECK_TOKEN="dashboard-check-$RANDOM$RANDOM"
run_check token "$WORK/data.db" "$CHARTJS_PATH" --token "$CHECK_TOKEN"
CHECK_TOKEN=""

if ((status == 0)); then log "dashboard check passed (screenshots in Tests/dashboard/)"; else log "dashboard check FAILED"; fi
exit $status
