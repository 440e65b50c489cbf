#!/usr/bin/env bash
# The no-Docker twin of docker-compose.yml: runs redis-server, OpenSSH sshd (internal-sftp)
# and the four pipeline services on loopback, from this checkout.
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

# Start order; `down` stops in the reverse order (stages before the Redis they checkpoint to).
readonly STAGES=(api saver transformer extractor)
readonly SERVICES=(redis sshd fixture-source "${STAGES[@]}")

readonly APT_PACKAGES=(redis-server redis-tools openssh-server openssh-client
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
# Processes

pid_file() { printf '%s/%s.pid' "$PID_DIR" "$1"; }

# What the process's command line must contain for the pid to still be ours.
process_token() {
    case "$1" in
        redis) echo "redis-server" ;;
        sshd) echo "sshd" ;;
        *) echo "$1" ;;
    esac
}

# running_pid SERVICE: prints the pid when the service from our pid file is alive.
running_pid() {
    local file pid args
    file="$(pid_file "$1")"
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    args="$(ps -p "$pid" -o args= 2>/dev/null)" || return 1
    [[ "$args" == *"$(process_token "$1")"* ]] || return 1
    printf '%s' "$pid"
}

# start_bg SERVICE COMMAND...: runs COMMAND in its own session, output to logs/SERVICE.log.
start_bg() {
    local service="$1"; shift
    local log="${LOG_DIR}/${service}.log" file
    file="$(pid_file "$service")"
    rm -f "$file"
    printf '==== %s local-stack starting %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$service" "$*" >>"$log"
    # shellcheck disable=SC2016 # $$, $0 and $@ are for the inner bash
    if command -v setsid >/dev/null 2>&1; then
        # bash writes its own pid, then execs the service under it: the pid is the service's.
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$file" "$@" </dev/null >>"$log" 2>&1 &
    else
        nohup bash -c 'echo $$ >"$0"; exec "$@"' "$file" "$@" </dev/null >>"$log" 2>&1 &
    fi
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s "$file" ]] && break
        sleep 0.1
    done
    [[ -s "$file" ]] || die "$service did not start (no pid file); see ${log}"
    STARTED+=("$service")
}

# is_alive PID: the process exists and is not a zombie waiting for its parent to reap it.
is_alive() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z* ]]
}

# stop_service SERVICE: SIGTERM, wait STOP_TIMEOUT seconds, then SIGKILL the process group.
stop_service() {
    local service="$1" file pid i
    file="$(pid_file "$service")"
    [[ -f "$file" ]] || return 0
    if ! pid="$(running_pid "$service")"; then
        info "$service: not running (removing stale pid file)"
        rm -f "$file"
        return 0
    fi
    local started=$SECONDS
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        is_alive "$pid" || break
        sleep 0.1
    done
    if is_alive "$pid"; then
        warn "$service (pid ${pid}) did not exit within ${STOP_TIMEOUT}s after SIGTERM: sending SIGKILL"
        kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    else
        info "$service: stopped (pid ${pid}, SIGTERM, $((SECONDS - started))s)"
    fi
    rm -f "$file"
}

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port PREFERRED NAME: PREFERRED when free, else the next free one (with a notice).
free_port() {
    local port="$1" name="$2" candidate
    for ((candidate = port; candidate < port + 100; candidate++)); do
        if ! port_in_use "$candidate"; then
            [[ "$candidate" != "$port" ]] &&
                info "$name: port ${port} is in use, using ${candidate}" >&2
            printf '%s' "$candidate"
            return 0
        fi
    done
    die "$name: no free port in ${port}..$((port + 99))"
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
    for cmd in redis-server ssh-keygen curl; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found after installation"
    done
    find_sshd >/dev/null || die "sshd not found (package openssh-server)"
    if ! command -v swift >/dev/null 2>&1; then
        [[ -x /opt/swift/usr/bin/swift ]] && PATH="/opt/swift/usr/bin:${PATH}"
    fi
    if [[ "$DO_BUILD" == true ]]; then
        command -v swift >/dev/null 2>&1 ||
            die "swift not found: install a Swift 6 toolchain (https://www.swift.org/install/linux/) and put it on PATH"
    fi
}

find_sshd() {
    local candidate
    for candidate in "$(command -v sshd 2>/dev/null || true)" /usr/sbin/sshd /usr/local/sbin/sshd; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            printf '%s' "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_keys() {
    local needed=(id_ed25519 id_ed25519.pub ssh_host_ed25519_key ssh_host_ed25519_key.pub)
    local file keys_missing=false
    for file in "${needed[@]}"; do
        [[ -f "${KEY_DIR}/${file}" ]] || keys_missing=true
    done
    [[ "$keys_missing" == true ]] && info "generating SSH keys in ssh_keys/"
    # Always run it: it is idempotent and pins the host key for this sshd port in known_hosts.
    # A new client key gets the passphrase the saver will use (SFTP_KEY_PASSPHRASE, if any).
    "${ROOT}/scripts/generate-keys.sh" --host 127.0.0.1 --port "$SSHD_PORT" \
        --passphrase "$(cfg SFTP_KEY_PASSPHRASE)" >/dev/null ||
        die "scripts/generate-keys.sh failed"
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

# A random secret kept in run/secrets/<name> (mode 600), so restarts of the stack reuse it.
stack_secret() {
    local file="${RUN_DIR}/secrets/$1"
    if [[ ! -s "$file" ]]; then
        mkdir -p "${RUN_DIR}/secrets"
        chmod 700 "${RUN_DIR}/secrets"
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file")
    fi
    cat "$file"
}

start_redis() {
    REDIS_PORT="$(free_port "$REDIS_PORT" redis)"
    REDIS_PASSWORD="$(stack_secret redis-password)"
    mkdir -p "${RUN_DIR}/redis"
    # The password goes in a config file (mode 600), not on the command line where ps shows it.
    (umask 077 && printf 'requirepass %s\n' "$REDIS_PASSWORD" >"${RUN_DIR}/redis/redis.conf")
    start_bg redis redis-server "${RUN_DIR}/redis/redis.conf" --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --appendonly yes --appendfsync everysec --dir "${RUN_DIR}/redis" --daemonize no --logfile ""
    local i
    for ((i = 0; i < 100; i++)); do
        if command -v redis-cli >/dev/null 2>&1; then
            [[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]] && break
        else
            port_in_use "$REDIS_PORT" && break
        fi
        running_pid redis >/dev/null || { log_tail redis; die "redis-server exited at start"; }
        sleep 0.1
    done
    ((i < 100)) || { log_tail redis; die "redis-server did not answer on 127.0.0.1:${REDIS_PORT}"; }
    info "redis: redis://127.0.0.1:${REDIS_PORT}/0 with a password (run/secrets/redis-password; AOF in run/redis)"
}

write_sshd_config() {
    local user="$1" config="${RUN_DIR}/sshd/sshd_config" use_pam=no
    mkdir -p "${RUN_DIR}/sshd"
    # As root without PAM, sshd refuses accounts whose password is locked ('!' in shadow, as
    # root's often is); PAM's account check does not. A non-root sshd cannot use PAM.
    if [[ "$(id -u)" == 0 && -f /etc/pam.d/sshd ]]; then use_pam=yes; fi
    # The repository's one sshd configuration, filled in.
    local text
    text="$(<"${ROOT}/config/sshd_config.template")"
    text="${text//@PORT@/${SSHD_PORT}}"
    text="${text//@HOST_KEYS@/HostKey ${KEY_DIR}/ssh_host_ed25519_key}"
    text="${text//@PID_FILE@/${RUN_DIR}/sshd/sshd.pid}"
    text="${text//@AUTHORIZED_KEYS@/${KEY_DIR}/authorized_keys}"
    text="${text//@USER@/${user}}"
    text="${text//@USE_PAM@/${use_pam}}"
    text="${text//@LOG_LEVEL@/INFO}"
    printf '%s\n' "$text" >"$config"
    printf '%s' "$config"
}

start_sshd() {
    local sshd user config
    sshd="$(find_sshd)"
    user="$(id -un)"
    SSHD_PORT="$(free_port "$SSHD_PORT" sshd)"
    ensure_keys
    config="$(write_sshd_config "$user")"
    if [[ "$(id -u)" == 0 ]]; then
        mkdir -p /run/sshd && chmod 755 /run/sshd # privilege separation directory
    fi
    "$sshd" -t -f "$config" || die "sshd rejected ${config}"
    start_bg sshd "$sshd" -D -e -f "$config"
    local i
    for ((i = 0; i < 100; i++)); do
        port_in_use "$SSHD_PORT" && break
        running_pid sshd >/dev/null || { log_tail sshd; die "sshd exited at start"; }
        sleep 0.1
    done
    ((i < 100)) || { log_tail sshd; die "sshd did not listen on 127.0.0.1:${SSHD_PORT}"; }
    SFTP_USER_LOCAL="$user"
    check_sftp_login
    info "sftp: ${user}@127.0.0.1:${SSHD_PORT}, uploads to ${SFTP_DIR_LOCAL}"
}

# Logs in the way the saver will (key, pinned host key) so a mistake shows here, not later.
check_sftp_login() {
    if [[ -n "$(cfg SFTP_KEY_PASSPHRASE)" ]]; then
        info "sftp: client key has a passphrase, skipping the login check"
        return 0
    fi
    command -v sftp >/dev/null 2>&1 || return 0
    local out
    if ! out="$(printf 'ls -l\n' | sftp -b - -q -P "$SSHD_PORT" -i "${KEY_DIR}/id_ed25519" \
        -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="${KEY_DIR}/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o ConnectTimeout=10 "${SFTP_USER_LOCAL}@127.0.0.1" 2>&1)"; then
        echo "$out" >&2
        log_tail sshd
        die "SFTP login check failed (key auth against 127.0.0.1:${SSHD_PORT})"
    fi
}

start_fixture() {
    FIXTURE_PORT="$(free_port "$FIXTURE_PORT" fixture-source)"
    start_bg fixture-source "${BIN_DIR}/fixture-source" --host 127.0.0.1 --port "$FIXTURE_PORT" \
        --users "$FIXTURE_USERS" --invalid-rate "$FIXTURE_INVALID_RATE" --seed "$FIXTURE_SEED" --fault-rate 0
    local i url="http://127.0.0.1:${FIXTURE_PORT}/users"
    for ((i = 0; i < 150; i++)); do
        curl -fsS -o /dev/null --max-time 2 "${url}?limit=1" 2>/dev/null && break
        running_pid fixture-source >/dev/null || { log_tail fixture-source; die "fixture-source exited at start"; }
        sleep 0.2
    done
    ((i < 150)) || { log_tail fixture-source; die "fixture-source did not answer on ${url}"; }
    info "source: fixture ${url} (${FIXTURE_USERS} users, invalid rate ${FIXTURE_INVALID_RATE})"
}

export_stack_environment() {
    export REDIS_URL="redis://:${REDIS_PASSWORD}@127.0.0.1:${REDIS_PORT}/0"
    # The stages sign their events with it: .env's (or the environment's) value, else the
    # stack's own random one (run/secrets/event-hmac-key).
    EVENT_HMAC_KEY="$(cfg EVENT_HMAC_KEY)"
    [[ -n "$EVENT_HMAC_KEY" ]] || EVENT_HMAC_KEY="$(stack_secret event-hmac-key)"
    export EVENT_HMAC_KEY
    export SFTP_HOST=127.0.0.1
    export SFTP_PORT="$SSHD_PORT"
    export SFTP_USER="$SFTP_USER_LOCAL"
    export SFTP_KEY_PATH="${KEY_DIR}/id_ed25519"
    export SFTP_KNOWN_HOSTS="${KEY_DIR}/known_hosts"
    # No chroot locally: the absolute path of sftp_data/, where compose's bind mount puts files too.
    export SFTP_REMOTE_DIR="$SFTP_DIR_LOCAL"
    export API_HOST="$API_HOST_LOCAL"
    export API_PORT="$API_PORT_LOCAL"
    if [[ "$USE_FIXTURE" == true ]]; then
        export SOURCE_URL="http://127.0.0.1:${FIXTURE_PORT}/users"
    fi
    {
        echo "# Written by scripts/local-stack.sh up at $(date -u +%Y-%m-%dT%H:%M:%SZ); not read by the services."
        local name
        # REDIS_URL holds the Redis password: this file is readable by its owner only.
        for name in REDIS_URL SFTP_HOST SFTP_PORT SFTP_USER SFTP_KEY_PATH SFTP_KNOWN_HOSTS SFTP_REMOTE_DIR \
            API_HOST API_PORT; do
            printf '%s=%s\n' "$name" "${!name}"
        done
        # The fixture's URL when the stack exported it, else what the extractor resolves.
        if [[ "$USE_FIXTURE" == true ]]; then
            printf 'SOURCE_URL=%s\n' "$SOURCE_URL"
        else
            printf 'SOURCE_URL=%s\n' "$(cfg SOURCE_URL)"
        fi
        printf 'BIN_DIR=%s\n' "$BIN_DIR"
    } >"$STACK_ENV"
    chmod 600 "$STACK_ENV"
}

start_stages() {
    local stage
    for stage in "${STAGES[@]}"; do
        start_bg "$stage" "${BIN_DIR}/${stage}"
    done
    sleep 2
    for stage in "${STAGES[@]}"; do
        if ! running_pid "$stage" >/dev/null; then
            log_tail "$stage"
            die "$stage exited at start (configuration error?); see logs/${stage}.log"
        fi
    done
    info "services running: ${STAGES[*]} (logs: logs/<service>.log)"
}

api_url() { printf 'http://127.0.0.1:%s' "$API_PORT_LOCAL"; }

# json_first TEXT KEY: the first value of KEY in TEXT (string or number), newest run first.
json_first() {
    grep -oE "\"$2\"[[:space:]]*:[[:space:]]*(\"[^\"]*\"|-?[0-9.]+|null)" <<<"$1" | head -n 1 |
        sed -E 's/^"[^"]*"[[:space:]]*:[[:space:]]*//; s/^"//; s/"$//' || true
}

check_stages_alive() {
    local stage
    for stage in "${STAGES[@]}"; do
        if ! running_pid "$stage" >/dev/null; then
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
        local i
        for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
            STOP_TIMEOUT=5 stop_service "${STARTED[i]}" >/dev/null 2>&1 || true
        done
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
        if running_pid "$service" >/dev/null; then
            cmd_status
            die "the stack is already running; stop it first: scripts/local-stack.sh down"
        fi
    done

    mkdir -p "$PID_DIR" "$LOG_DIR" "${ROOT}/data" "${ROOT}/database" "${ROOT}/sftp_data"
    SFTP_DIR_LOCAL="${ROOT}/sftp_data"
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
    start_redis
    start_sshd
    [[ "$USE_FIXTURE" == true ]] && start_fixture
    [[ "$USE_FIXTURE" == true ]] || info "source: $(cfg SOURCE_URL) (use --fixture without internet)"
    export_stack_environment
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
    local i stopped=false
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        if [[ -f "$(pid_file "${SERVICES[i]}")" ]]; then
            stop_service "${SERVICES[i]}"
            stopped=true
        fi
    done
    rm -f "$STACK_ENV"
    if [[ "$stopped" == true ]]; then info "stack stopped"; else info "nothing to stop (no pid files in run/pids)"; fi
}

cmd_status() {
    local service pid
    echo "service          state"
    for service in "${SERVICES[@]}"; do
        if pid="$(running_pid "$service")"; then
            printf '%-16s running (pid %s)\n' "$service" "$pid"
        elif [[ -f "$(pid_file "$service")" ]]; then
            printf '%-16s DEAD (stale pid file; see logs/%s.log)\n' "$service" "$service"
        else
            printf '%-16s stopped\n' "$service"
        fi
    done
    if [[ -f "$STACK_ENV" ]]; then
        echo
        grep -v '^#' "$STACK_ENV" | sed 's/^/  /'
        local port body
        port="$(sed -n 's/^API_PORT=//p' "$STACK_ENV")"
        if running_pid api >/dev/null; then
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
        -h | --help | help) usage ;;
        *) usage >&2; die "unknown command: $command" ;;
    esac
}

# Sourcing the file (for tests) defines the functions without running a command.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
