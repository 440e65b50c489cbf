#!/usr/bin/env bash
# The no-Docker twin of docker-compose.yml: runs redis-server, OpenSSH sshd (internal-sftp)
# and the four pipeline services on loopback, from this checkout, as scripts/stack.py
# defines them (their command lines, configurations, keys and readiness checks).
#
#   scripts/local-stack.sh up [--fixture] [--debug] [--no-build] [--no-wait] [--timeout S]
#   scripts/local-stack.sh down
#   scripts/local-stack.sh status
#   scripts/local-stack.sh logs [service]
#
# Everything it creates lives in the repository: run/ (pid files, redis data, sshd config),
# logs/<service>.log, data/, database/, sftp_data/, ssh_keys/. It never edits .env: the
# variables the stack owns (Redis URL, SFTP endpoint and keys, fixture URL) are exported to
# the processes it starts, and the environment wins over .env. What the services will read
# from the environment and .env it asks them (`<service> --print-configuration`) after the
# build, rather than parsing .env and repeating the defaults here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly RUN_DIR="${ROOT}/run"
readonly PID_DIR="${RUN_DIR}/pids"
readonly LOG_DIR="${ROOT}/logs"
readonly KEY_DIR="${ROOT}/ssh_keys"
readonly STACK_ENV="${RUN_DIR}/stack.env"
readonly SFTP_DIR_LOCAL="${ROOT}/sftp_data"

# Start order; `down` stops in the reverse order (stages before the Redis they checkpoint to).
readonly STAGES=(api saver transformer extractor)
readonly SERVICES=(redis sshd fixture-source "${STAGES[@]}")

readonly APT_PACKAGES=(redis-server redis-tools openssh-server openssh-client python3
    libhiredis-dev libcurl4-openssl-dev libsqlite3-dev libssh2-1-dev curl)

# Knobs (environment): ports of the helpers, fixture shape, timeouts.
REDIS_PORT="${REDIS_PORT:-6379}"
SSHD_PORT="${SSHD_PORT:-2222}"
FIXTURE_PORT="${FIXTURE_PORT:-8090}"
FIXTURE_USERS="${FIXTURE_USERS:-1000}"
FIXTURE_INVALID_RATE="${FIXTURE_INVALID_RATE:-0.1}"
FIXTURE_SEED="${FIXTURE_SEED:-42}"
UP_TIMEOUT="${UP_TIMEOUT:-300}"
STOP_TIMEOUT="${STOP_TIMEOUT:-20}"

BUILD_CONFIG=release
DO_BUILD=true
DO_WAIT=true
USE_FIXTURE=false
[[ "${SOURCE:-}" == fixture ]] && USE_FIXTURE=true

STARTED=()          # services started by this invocation (cleaned up if `up` fails early)
STARTUP_DONE=false

# ---------------------------------------------------------------------------------------
# Messages

info() { printf '\033[1mlocal-stack:\033[0m %s\n' "$*"; }
warn() { printf 'local-stack: warning: %s\n' "$*" >&2; }
die() { printf 'local-stack: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
usage: scripts/local-stack.sh <command> [options]

commands:
  up [options]     install what is missing, generate keys, start redis-server, sshd and the
                   four services in the background, wait for the first run to complete
      --fixture    serve users from the local fixture-source instead of DummyJSON
                   (for machines without internet; same as SOURCE=fixture)
      --debug      use a debug build (default: swift build -c release)
      --no-build   use the binaries already built
      --no-wait    do not wait for the first run
      --timeout S  how long to wait for the first run (default 300, env UP_TIMEOUT)
  down             stop everything `up` started (SIGTERM, then SIGKILL after STOP_TIMEOUT s)
  status           what runs, on which ports, and the latest run
  logs [service]   follow logs/<service>.log (all logs without a service)
  etlctl ARGS      run etlctl against the running stack (its Redis, its event key), e.g.
                   scripts/local-stack.sh etlctl connectors list

services: redis sshd fixture-source extractor transformer saver api
knobs (environment): REDIS_PORT=6379 SSHD_PORT=2222 FIXTURE_PORT=8090 FIXTURE_USERS=1000
  FIXTURE_INVALID_RATE=0.1 FIXTURE_SEED=42 UP_TIMEOUT=300 STOP_TIMEOUT=20
EOF
}

# ---------------------------------------------------------------------------------------
# Configuration: asked of the built services themselves, so .env parsing and the defaults
# live in one place (Sources/ETLCore/Settings.swift). Each prints what it resolves from the
# environment, .env and its defaults as .env lines, a default commented out (`#NAME=value`).

SERVICE_CONFIGURATION=""

# Read once after the build, before the stack exports its own values: what the user set.
# With the secrets: the key passphrase is needed to create the key, and all stays in memory.
read_service_configuration() {
    SERVICE_CONFIGURATION="$(
        for exe in extractor saver api; do
            "${BIN_DIR}/${exe}" --print-configuration --reveal-secrets || exit 1
        done
    )" || die "${BIN_DIR}/<service> --print-configuration failed; see above"
}

# cfg NAME: the value the services use (the default when unset; empty for an unset secret).
cfg() {
    sed -nE "s/^#?${1}=//p" <<<"$SERVICE_CONFIGURATION" | head -n 1
}

# cfg_is_set NAME: NAME is set in the environment or .env, not left to its default.
cfg_is_set() {
    grep -q "^${1}=" <<<"$SERVICE_CONFIGURATION"
}

abs_path() {
    case "$1" in
        /*) printf '%s' "$1" ;;
        *) printf '%s/%s' "$ROOT" "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------
# Processes: started, stopped and found by scripts/stack.py, with run/ as the stack's root.

stack() {
    local command="$1"; shift
    python3 "${ROOT}/scripts/stack.py" "$command" --root "$RUN_DIR" "$@"
}

# service_state SERVICE: "running PID", "dead" (stale pid file) or "stopped".
service_state() {
    local state=""
    if [[ -f "${RUN_DIR}/stack.json" ]]; then
        state="$(stack status | sed -n "s/^$1 //p")" || true
    fi
    printf '%s' "${state:-stopped}"
}

is_running() { [[ "$(service_state "$1")" == running* ]]; }

# start_services SERVICE...: starts them in the background and waits until they serve.
start_services() {
    STARTED+=("$@")
    stack start "$@" || die "$* did not start; see above and logs/<service>.log"
}

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

log_tail() {
    local log="${LOG_DIR}/$1.log"
    [[ -f "$log" ]] || return 0
    echo "---- last lines of ${log} ----" >&2
    tail -n 25 "$log" >&2
    echo "----" >&2
}

# ---------------------------------------------------------------------------------------
# up: prerequisites

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install sudo or run these as root)"
    fi
}

install_prerequisites() {
    local missing=() pkg
    if command -v dpkg-query >/dev/null 2>&1; then
        for pkg in "${APT_PACKAGES[@]}"; do
            if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != installed ]]; then
                missing+=("$pkg")
            fi
        done
        if ((${#missing[@]} > 0)); then
            info "installing missing packages: ${missing[*]}"
            as_root apt-get update
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
        fi
    else
        warn "not a Debian system: checking commands only (need ${APT_PACKAGES[*]} or equivalents)"
    fi
    local cmd
    for cmd in redis-server ssh-keygen curl python3; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found after installation"
    done
    if ! command -v swift >/dev/null 2>&1; then
        [[ -x /opt/swift/usr/bin/swift ]] && PATH="/opt/swift/usr/bin:${PATH}"
    fi
    if [[ "$DO_BUILD" == true ]]; then
        command -v swift >/dev/null 2>&1 ||
            die "swift not found: install a Swift 6 toolchain (https://www.swift.org/install/linux/) and put it on PATH"
    fi
}

build() {
    if [[ "$DO_BUILD" == true ]]; then
        info "building (swift build -c ${BUILD_CONFIG}); log: logs/build.log"
        if ! (cd "$ROOT" && swift build -c "$BUILD_CONFIG") >"${LOG_DIR}/build.log" 2>&1; then
            tail -n 40 "${LOG_DIR}/build.log" >&2
            die "build failed; full log: logs/build.log"
        fi
    fi
    # .build/<config> is SwiftPM's link to the host triple's products (no second swift call,
    # which would wait on the .build lock).
    BIN_DIR="${ROOT}/.build/${BUILD_CONFIG}"
    local exe
    local needed=("${STAGES[@]}")
    [[ "$USE_FIXTURE" == true ]] && needed+=(fixture-source)
    for exe in "${needed[@]}"; do
        [[ -x "${BIN_DIR}/${exe}" ]] || die "${BIN_DIR}/${exe} is missing; build with: swift build -c ${BUILD_CONFIG}"
    done
}

# ---------------------------------------------------------------------------------------
# up: helpers

# prepare_stack: ports (the preferred ones when free), keys in ssh_keys/ (the passphrase the
# saver will use), redis.conf and sshd_config in run/; reads back what the stages will get.
prepare_stack() {
    local services=redis,sshd
    [[ "$USE_FIXTURE" == true ]] && services+=,fixture-source
    services+=",${STAGES[*]}"
    # The stages sign their events with .env's (or the environment's) EVENT_HMAC_KEY, else
    # with the stack's own random one (run/secrets/event-hmac-key).
    local hmac=()
    [[ -n "$(cfg EVENT_HMAC_KEY)" ]] && hmac=(--set "EVENT_HMAC_KEY=$(cfg EVENT_HMAC_KEY)")
    local lines
    lines="$(stack prepare --only "${services// /,}" --bin-dir "$BIN_DIR" --cwd "$ROOT" \
        --keys "$KEY_DIR" --logs "$LOG_DIR" --sftp-dir "$SFTP_DIR_LOCAL" \
        --port "redis=${REDIS_PORT}" --port "sshd=${SSHD_PORT}" --port "fixture-source=${FIXTURE_PORT}" \
        --port "api=${API_PORT_LOCAL}" --set "API_HOST=${API_HOST_LOCAL}" "${hmac[@]}" \
        --fixture-users "$FIXTURE_USERS" --fixture-invalid-rate "$FIXTURE_INVALID_RATE" \
        --fixture-seed "$FIXTURE_SEED" --fixture-fault-rate 0 \
        --key-passphrase "$(cfg SFTP_KEY_PASSPHRASE)" --env)" || die "scripts/stack.py prepare failed"
    local name value
    while IFS='=' read -r name value; do
        printf -v "$name" '%s' "$value"
    done <<<"$lines"
}

start_redis() {
    start_services redis
    info "redis: redis://127.0.0.1:${REDIS_URL##*@127.0.0.1:} with a password (run/secrets/redis-password; AOF in run/redis)"
}

start_sshd() {
    start_services sshd
    check_sftp_login
    info "sftp: ${SFTP_USER}@127.0.0.1:${SFTP_PORT}, uploads to ${SFTP_REMOTE_DIR}"
}

# Logs in the way the saver will (key, pinned host key) so a mistake shows here, not later.
check_sftp_login() {
    if [[ -n "$(cfg SFTP_KEY_PASSPHRASE)" ]]; then
        info "sftp: client key has a passphrase, skipping the login check"
        return 0
    fi
    command -v sftp >/dev/null 2>&1 || return 0
    local out
    if ! out="$(printf 'ls -l\n' | sftp -b - -q -P "$SFTP_PORT" -i "$SFTP_KEY_PATH" \
        -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$SFTP_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
        -o ConnectTimeout=10 "${SFTP_USER}@127.0.0.1" 2>&1)"; then
        echo "$out" >&2
        log_tail sshd
        die "SFTP login check failed (key auth against 127.0.0.1:${SFTP_PORT})"
    fi
}

start_fixture() {
    start_services fixture-source
    info "source: fixture ${SOURCE_URL} (${FIXTURE_USERS} users, invalid rate ${FIXTURE_INVALID_RATE})"
}

# run/stack.env: what the stack gave the services, for `status` and bench-pipeline.sh.
write_stack_env() {
    {
        echo "# Written by scripts/local-stack.sh up at $(date -u +%Y-%m-%dT%H:%M:%SZ); not read by the services."
        local name
        # REDIS_URL holds the Redis password: this file is readable by its owner only.
        for name in REDIS_URL SFTP_HOST SFTP_PORT SFTP_USER SFTP_KEY_PATH SFTP_KNOWN_HOSTS SFTP_REMOTE_DIR \
            API_HOST API_PORT; do
            printf '%s=%s\n' "$name" "${!name}"
        done
        # The fixture's URL when the stack gives it, else what the extractor resolves.
        printf 'SOURCE_URL=%s\n' "${SOURCE_URL:-$(cfg SOURCE_URL)}"
        printf 'BIN_DIR=%s\n' "$BIN_DIR"
    } >"$STACK_ENV"
    chmod 600 "$STACK_ENV"
}

start_stages() {
    start_services "${STAGES[@]}"
    info "services running: ${STAGES[*]} (logs: logs/<service>.log)"
}

api_url() { printf 'http://127.0.0.1:%s' "$API_PORT"; }

# json_first TEXT KEY: the first value of KEY in TEXT (string or number), newest run first.
json_first() {
    grep -oE "\"$2\"[[:space:]]*:[[:space:]]*(\"[^\"]*\"|-?[0-9.]+|null)" <<<"$1" | head -n 1 |
        sed -E 's/^"[^"]*"[[:space:]]*:[[:space:]]*//; s/^"//; s/"$//' || true
}

check_stages_alive() {
    local stage
    for stage in "${STAGES[@]}"; do
        if ! is_running "$stage"; then
            log_tail "$stage"
            die "$stage has stopped; see logs/${stage}.log (the rest of the stack is still running: scripts/local-stack.sh down)"
        fi
    done
}

wait_for_first_run() {
    local started_at="$1" deadline=$((SECONDS + UP_TIMEOUT))
    local body id status stamp last="" seen_open=""
    if [[ "$(cfg EXTRACT_ON_START)" =~ ^(false|0|no|off)$ ]]; then
        info "EXTRACT_ON_START is off: not waiting for a run (next one at EXTRACT_SCHEDULE UTC)"
        return 0
    fi
    info "waiting up to ${UP_TIMEOUT}s for the first run to complete ($(api_url)/etl_runs)"
    while ((SECONDS < deadline)); do
        check_stages_alive
        body="$(curl -sS --max-time 5 "$(api_url)/etl_runs?limit=1" 2>/dev/null || true)"
        id="$(json_first "$body" id)"
        status="$(json_first "$body" status)"
        stamp="$(json_first "$body" run_timestamp)"
        if [[ -n "$id" && -n "$status" ]]; then
            # Only a run of this start counts: newer than `up`, or one seen in progress now.
            local current=false
            [[ -z "$stamp" || "${stamp:0:19}" > "$started_at" || "${stamp:0:19}" == "$started_at" ]] && current=true
            [[ "$id" == "$seen_open" ]] && current=true
            if [[ "$current" == true && "$id|$status" != "$last" ]]; then
                info "run ${id}: ${status}"
                last="$id|$status"
            fi
            if [[ "$current" == true ]]; then
                case "$status" in
                    completed)
                        info "run ${id} completed: extracted $(json_first "$body" extracted_count)," \
                            "valid $(json_first "$body" valid_count), invalid $(json_first "$body" invalid_count)"
                        return 0
                        ;;
                    failed)
                        warn "run ${id} failed: $(json_first "$body" error)"
                        log_tail extractor
                        return 1
                        ;;
                    *) seen_open="$id" ;;
                esac
            fi
        fi
        sleep 2
    done
    warn "no completed run after ${UP_TIMEOUT}s (last seen: ${last:-none}); the stack keeps running"
    warn "follow it with: scripts/local-stack.sh logs extractor (or transformer, saver, api)"
    return 1
}

print_outputs() {
    local data_dir db_path
    data_dir="$(abs_path "$(cfg DATA_DIR)")"
    db_path="$(abs_path "$(cfg DATABASE_PATH)")"
    echo
    echo "Outputs:"
    local dir
    for dir in raw_users processed_users dlq; do
        printf '  %-28s %s\n' "${data_dir#"$ROOT/"}/${dir}/" "$(latest_file "${data_dir}/${dir}")"
    done
    local db_size="(not yet)"
    if [[ -f "$db_path" ]]; then
        # WAL mode: recent rows may still be in data.db-wal.
        db_size="$(du -ch "$db_path" "${db_path}-wal" 2>/dev/null | tail -n 1 | cut -f1) with WAL"
    fi
    printf '  %-28s %s\n' "${db_path#"$ROOT/"}" "$db_size"
    printf '  %-28s %s\n' "sftp_data/ (SFTP uploads)" "$(find "${SFTP_DIR_LOCAL}" -maxdepth 1 -name '*.jsonl' 2>/dev/null | wc -l) file(s)"
    echo
    echo "API: $(api_url)"
    local path
    for path in /etl_runs /processed_users /invalid_users /stats /health /metrics /openapi.json; do
        echo "  $(api_url)${path}"
    done
    echo
    echo "Logs:  scripts/local-stack.sh logs <service>   (logs/<service>.log)"
    echo "Stop:  scripts/local-stack.sh down"
}

latest_file() {
    local newest
    # shellcheck disable=SC2012 # our own file names: records_<ts>.jsonl and the like
    newest="$(ls -1t "$1"/*.jsonl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$newest" ]]; then
        echo "(none yet)"
    else
        echo "$(basename "$newest") ($(wc -l <"$newest") lines)"
    fi
}

cleanup_failed_start() {
    local status=$?
    if [[ "$STARTUP_DONE" != true && $status -ne 0 && ${#STARTED[@]} -gt 0 ]]; then
        warn "start-up failed: stopping what this run started (${STARTED[*]})"
        stack stop --timeout 5 "${STARTED[@]}" >/dev/null 2>&1 || true
        rm -f "$STACK_ENV"
    fi
}

# ---------------------------------------------------------------------------------------
# Commands

cmd_up() {
    while (($# > 0)); do
        case "$1" in
            --fixture) USE_FIXTURE=true; shift ;;
            --debug) BUILD_CONFIG=debug; shift ;;
            --release) BUILD_CONFIG=release; shift ;;
            --no-build) DO_BUILD=false; shift ;;
            --no-wait) DO_WAIT=false; shift ;;
            --timeout) (($# >= 2)) || die "--timeout needs seconds"; UP_TIMEOUT="$2"; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown option for up: $1" ;;
        esac
    done
    [[ "$UP_TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"

    local service
    for service in "${SERVICES[@]}"; do
        if is_running "$service"; then
            cmd_status
            die "the stack is already running; stop it first: scripts/local-stack.sh down"
        fi
    done

    mkdir -p "$PID_DIR" "$LOG_DIR" "${ROOT}/data" "${ROOT}/database" "$SFTP_DIR_LOCAL"
    trap cleanup_failed_start EXIT

    install_prerequisites
    build
    read_service_configuration
    # Loopback unless API_HOST is set: the stack is for this machine (API_HOST's own default
    # is 0.0.0.0, for containers).
    API_HOST_LOCAL=127.0.0.1
    if cfg_is_set API_HOST; then API_HOST_LOCAL="$(cfg API_HOST)"; fi
    API_PORT_LOCAL="$(cfg API_PORT)"
    if port_in_use "$API_PORT_LOCAL"; then
        die "API port ${API_PORT_LOCAL} is already in use; set API_PORT to a free port (environment or .env)"
    fi
    local started_at
    started_at="$(date -u +%Y-%m-%dT%H:%M:%S)"
    prepare_stack
    start_redis
    start_sshd
    [[ "$USE_FIXTURE" == true ]] && start_fixture
    [[ "$USE_FIXTURE" == true ]] || info "source: $(cfg SOURCE_URL) (use --fixture without internet)"
    write_stack_env
    start_stages
    STARTUP_DONE=true
    trap - EXIT

    local result=0
    if [[ "$DO_WAIT" == true ]]; then
        trap 'echo; info "stopped waiting; the stack keeps running (scripts/local-stack.sh down to stop)"; exit 130' INT
        wait_for_first_run "$started_at" || result=1
        trap - INT
    fi
    print_outputs
    return "$result"
}

cmd_down() {
    if ! compgen -G "${PID_DIR}/*.pid" >/dev/null; then
        rm -f "$STACK_ENV"
        info "nothing to stop (no pid files in run/pids)"
        return 0
    fi
    local line
    while IFS= read -r line; do info "$line"; done < <(stack down --timeout "$STOP_TIMEOUT" 2>&1)
    rm -f "$STACK_ENV"
    info "stack stopped"
}

cmd_status() {
    local service state
    echo "service          state"
    for service in "${SERVICES[@]}"; do
        state="$(service_state "$service")"
        case "$state" in
            running*) printf '%-16s running (pid %s)\n' "$service" "${state#running }" ;;
            dead) printf '%-16s DEAD (stale pid file; see logs/%s.log)\n' "$service" "$service" ;;
            *) printf '%-16s stopped\n' "$service" ;;
        esac
    done
    if [[ -f "$STACK_ENV" ]]; then
        echo
        grep -v '^#' "$STACK_ENV" | sed 's/^/  /'
        local port body
        port="$(sed -n 's/^API_PORT=//p' "$STACK_ENV")"
        if is_running api; then
            body="$(curl -sS --max-time 5 "http://127.0.0.1:${port}/etl_runs?limit=1" 2>/dev/null || true)"
            echo
            echo "latest run: $(json_first "$body" id) $(json_first "$body" status)"
        fi
    fi
}

cmd_logs() {
    mkdir -p "$LOG_DIR"
    if (($# == 0)); then
        compgen -G "${LOG_DIR}/*.log" >/dev/null || die "no logs yet in logs/"
        exec tail -n 20 -F "${LOG_DIR}"/*.log
    fi
    local service="$1" known=false s
    for s in "${SERVICES[@]}" build; do [[ "$s" == "$service" ]] && known=true; done
    [[ "$known" == true || -f "${LOG_DIR}/${service}.log" ]] ||
        die "unknown service '$service' (one of: ${SERVICES[*]})"
    [[ -f "${LOG_DIR}/${service}.log" ]] || die "no log yet: logs/${service}.log"
    exec tail -n 50 -F "${LOG_DIR}/${service}.log"
}

# etlctl with what the stack gave the stages: its Redis URL and, unless .env or the
# environment sets one, its event key (run requests are signed like run events).
cmd_etlctl() {
    [[ -f "$STACK_ENV" ]] || die "the stack is not up (scripts/local-stack.sh up)"
    local bin redis key
    bin="$(sed -n 's/^BIN_DIR=//p' "$STACK_ENV")"
    redis="$(sed -n 's/^REDIS_URL=//p' "$STACK_ENV")"
    [[ -x "${bin}/etlctl" ]] || die "${bin}/etlctl is not built (swift build --product etlctl)"
    key="${EVENT_HMAC_KEY:-}"
    [[ -z "$key" && ! -f .env ]] || key="${key:-$(sed -n 's/^EVENT_HMAC_KEY=//p' .env 2>/dev/null)}"
    [[ -n "$key" ]] || key="$(cat "${RUN_DIR}/secrets/event-hmac-key")"
    REDIS_URL="$redis" EVENT_HMAC_KEY="$key" exec "${bin}/etlctl" "$@"
}

main() {
    (($# > 0)) || { usage >&2; exit 2; }
    local command="$1"; shift
    # The services read .env from, and resolve relative paths against, the repository root.
    cd "$ROOT"
    case "$command" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        etlctl) cmd_etlctl "$@" ;;
        -h | --help | help) usage ;;
        *) usage >&2; die "unknown command: $command" ;;
    esac
}

# Sourcing the file (for tests) defines the functions without running a command.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
