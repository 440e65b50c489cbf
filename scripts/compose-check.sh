#!/usr/bin/env bash
# The Docker deployment, end to end on a real Docker engine (CI runs this from scripts/test.sh):
#
#   1. installs docker.io, docker-compose, debootstrap and sqlite3 from apt when missing, and
#      starts dockerd in the background when no engine answers (data and exec roots in a
#      scratch folder; at the end it is stopped and the host's network is put back as it was);
#   2. builds local stand-ins for base images that cannot be pulled (docker/airgap/);
#   3. in a fresh copy of the repository, runs the README's Docker block word for word, with
#      COMPOSE_FILE adding docker/compose-check.override.yml (the fixture source as a service:
#      this machine reaches no internet, so all traffic stays between it and its containers);
#   4. restarts the extractor mid-run and kills the transformer with SIGKILL; waits for the run
#      to complete and checks it everywhere: /etl_runs on the published port, the row counts
#      in the SQLite file on the bind mount, the three files in sftp_data/ (byte for byte with
#      the local ones), each service's log; then `down -v`.
#
# As root it runs the check twice: as root, then as an unprivileged user in the docker group
# (created when missing). Where no engine can start at all, it says so in one loud line and
# exits 0; it never prints success without a completed run.
#
#   scripts/compose-check.sh                 everything
#   scripts/compose-check.sh --root-only     skip the unprivileged pass
#   scripts/compose-check.sh --users N       users the fixture serves (default 20000)
#   scripts/compose-check.sh --keep          leave the scratch copy and the stack up (debugging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly CHECK_USER="${COMPOSE_CHECK_USER:-etlcheck}"
readonly RUN_TIMEOUT_SECONDS=600

USERS=20000
UNPRIVILEGED_PASS=true
KEEP=false
INNER=false          # set by the pass that runs as the unprivileged user

info() { printf '\n==> compose-check: %s\n' "$*"; }
log() { printf 'compose-check: %s\n' "$*"; }
die() { printf 'compose-check: FAILED: %s\n' "$*" >&2; exit 1; }

while (($# > 0)); do
    case "$1" in
        --root-only) UNPRIVILEGED_PASS=false; shift ;;
        --users) USERS="$2"; shift 2 ;;
        --keep) KEEP=true; shift ;;
        --inner) INNER=true; shift ;;
        -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$USERS" =~ ^[1-9][0-9]*$ ]] || die "--users needs a positive number, got '$USERS'"

# Debian's docker.io client: an earlier `docker` on PATH may lack the compose plugin.
DOCKER="docker"
[[ -x /usr/bin/docker ]] && DOCKER=/usr/bin/docker
export DOCKER

as_root() { if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi; }

# ---- packages ---------------------------------------------------------------------------
install_packages() {
    local missing=()
    [[ -x /usr/bin/docker ]] || missing+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    command -v debootstrap >/dev/null 2>&1 || [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
    command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    ((${#missing[@]} == 0)) && return 0
    info "apt-get install ${missing[*]}"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- engine -----------------------------------------------------------------------------
ENGINE_STARTED=false
ENGINE_SCRATCH=""
NETWORK_BEFORE=""

engine_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

# What dockerd changes on the host: ip_forward, the docker0 bridge and its iptables chains.
snapshot_network() {
    NETWORK_BEFORE="$(mktemp)"
    {
        echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
        ip link show docker0 >/dev/null 2>&1 && echo "docker0=present" || echo "docker0=absent"
    } >"$NETWORK_BEFORE"
    iptables-save 2>/dev/null >"${NETWORK_BEFORE}.iptables" || true
}

restore_network() {
    [[ -n "$NETWORK_BEFORE" && -f "$NETWORK_BEFORE" ]] || return 0
    local forward
    forward="$(sed -n 's/^ip_forward=//p' "$NETWORK_BEFORE")"
    echo "$forward" >/proc/sys/net/ipv4/ip_forward || true
    if grep -q '^docker0=absent' "$NETWORK_BEFORE" && ip link show docker0 >/dev/null 2>&1; then
        ip link delete docker0 || true
    fi
    if command -v iptables-restore >/dev/null 2>&1; then
        [[ -s "${NETWORK_BEFORE}.iptables" ]] && iptables-restore <"${NETWORK_BEFORE}.iptables"
        # A table the host had no rules in before: drop every chain and rule dockerd added.
        local table
        for table in filter nat; do
            grep -q "^\*${table}\$" "${NETWORK_BEFORE}.iptables" 2>/dev/null && continue
            iptables -t "$table" -F 2>/dev/null || true
            iptables -t "$table" -X 2>/dev/null || true
            [[ "$table" == filter ]] && iptables -P FORWARD ACCEPT 2>/dev/null
        done
    fi
    rm -f "$NETWORK_BEFORE" "${NETWORK_BEFORE}.iptables"
    log "host network restored (ip_forward=${forward}, docker0 and iptables as before)"
}

start_engine() {
    engine_answers && { log "using the running Docker engine"; return 0; }
    [[ "$(id -u)" == 0 ]] || return 1
    command -v dockerd >/dev/null 2>&1 || [[ -x /usr/sbin/dockerd ]] || return 1
    ENGINE_SCRATCH="$(mktemp -d /tmp/compose-check-dockerd.XXXXXX)"
    snapshot_network
    info "starting dockerd (data and exec roots under ${ENGINE_SCRATCH})"
    PATH="/usr/sbin:/usr/bin:${PATH}" dockerd \
        --data-root "${ENGINE_SCRATCH}/data" --exec-root "${ENGINE_SCRATCH}/exec" \
        --pidfile "${ENGINE_SCRATCH}/dockerd.pid" >"${ENGINE_SCRATCH}/dockerd.log" 2>&1 &
    ENGINE_STARTED=true
    local i
    for ((i = 0; i < 60; i++)); do
        engine_answers && return 0
        kill -0 "$(cat "${ENGINE_SCRATCH}/dockerd.pid" 2>/dev/null || echo 0)" 2>/dev/null || ((i < 5)) || break
        sleep 1
    done
    tail -n 20 "${ENGINE_SCRATCH}/dockerd.log" >&2 || true
    return 1
}

stop_engine() {
    [[ "$ENGINE_STARTED" == true ]] || return 0
    local pid
    pid="$(cat "${ENGINE_SCRATCH}/dockerd.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # Containers' overlay mounts must go before the scratch folder can.
    grep -o "${ENGINE_SCRATCH}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$ENGINE_SCRATCH"
    restore_network
    ENGINE_STARTED=false
}

# ---- one pass ---------------------------------------------------------------------------
WORK=""
COMPOSE=()

# The README says `docker compose` (v2); Debian 12 ships `docker-compose` 1.29. The README's
# block runs with a `docker` function that hands `docker compose` to whichever is installed.
pick_compose() {
    if "$DOCKER" compose version >/dev/null 2>&1; then
        COMPOSE=("$DOCKER" compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        die "neither 'docker compose' nor 'docker-compose' is installed"
    fi
    log "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo '?'))"
}

compose() { (cd "$WORK" && "${COMPOSE[@]}" "$@"); }

free_port() {
    python3 "${ROOT}/scripts/stack.py" port
}

# The README's Docker block, between <!-- compose-check:begin --> and <!-- compose-check:end -->.
readme_block() {
    sed -n '/<!-- compose-check:begin -->/,/<!-- compose-check:end -->/p' "${ROOT}/README.md" |
        sed -e '1,/^```sh$/d' -e '/^```$/,$d'
}

run_readme_block() {
    local block
    block="$(readme_block)"
    [[ -n "$block" ]] || die "README.md has no <!-- compose-check:begin --> block"
    info "README's Docker block, in ${WORK} (as $(id -un), uid $(id -u))"
    printf '%s\n' "$block" | sed 's/^/    /'
    local compose_words="${COMPOSE[*]}"
    (
        cd "$WORK"
        docker() {
            if [[ "${1:-}" == compose ]]; then shift; $compose_words "$@"; else "$DOCKER" "$@"; fi
        }
        set -e
        eval "$block"
    ) || die "the README's Docker block failed"
}

service_log() { compose logs --no-color "$1" 2>/dev/null || true; }

# Whole logs into grep: `logs | grep -q` would see SIGPIPE end the left side under pipefail.
log_has() { local text; text="$(service_log "$1")"; grep -qE -- "$2" <<<"$text"; }

api_get() { curl -fsS --max-time 5 "http://127.0.0.1:${API_PORT}$1"; }

json_field() { # json_field NAME: the first "NAME": value in stdin, or nothing
    { grep -o "\"$1\" *: *\"\\?[^\",}]*" || true; } | head -n 1 | sed 's/.*: *"\{0,1\}//'
}

wait_for_progress() { # the extractor's log reaches page N
    local page="$1" deadline=$((SECONDS + 300))
    while ((SECONDS < deadline)); do
        log_has extractor "page ${page}/[0-9]+ " && return 0
        sleep 0.5
    done
    compose logs --no-color --tail 40 extractor >&2 || true
    die "the extractor did not reach page ${page} within 300 s"
}

wait_for_completed_run() {
    local deadline=$((SECONDS + RUN_TIMEOUT_SECONDS)) body status=""
    while ((SECONDS < deadline)); do
        body="$(api_get /etl_runs 2>/dev/null || true)"
        status="$(printf '%s' "$body" | json_field status)"
        case "$status" in
            completed) RUN_ID="$(printf '%s' "$body" | json_field id)"; return 0 ;;
            failed) printf '%s\n' "$body" >&2; die "the run failed" ;;
        esac
        sleep 2
    done
    compose ps >&2 || true
    compose logs --no-color --tail 30 >&2 || true
    die "no completed run on /etl_runs within ${RUN_TIMEOUT_SECONDS} s (last status '${status}')"
}

check_api() {
    local body
    body="$(api_get "/etl_runs/${RUN_ID}")" || die "GET /etl_runs/${RUN_ID} failed"
    local extracted valid invalid
    extracted="$(printf '%s' "$body" | json_field extracted_count)"
    valid="$(printf '%s' "$body" | json_field valid_count)"
    invalid="$(printf '%s' "$body" | json_field invalid_count)"
    [[ "$extracted" == "$USERS" ]] || die "/etl_runs/${RUN_ID}: extracted_count ${extracted}, expected ${USERS}"
    ((valid + invalid == USERS)) || die "/etl_runs/${RUN_ID}: valid ${valid} + invalid ${invalid} != ${USERS}"
    ((invalid > 0 && valid > 0)) || die "/etl_runs/${RUN_ID}: expected both valid and invalid users"
    VALID="$valid" INVALID="$invalid"
    log "api: run ${RUN_ID} completed on port ${API_PORT}: ${extracted} extracted, ${valid} valid, ${invalid} invalid"
}

check_database() {
    local copy
    copy="$(mktemp -d)"
    cp "${WORK}/database/data.db"* "$copy/"
    query() { sqlite3 -batch -noheader "${copy}/data.db" "$1"; }
    local runs raw processed invalid repeated
    runs="$(query "SELECT COUNT(*) FROM etl_runs WHERE status = 'completed'")"
    raw="$(query "SELECT COUNT(*) FROM raw_users WHERE run_id = '${RUN_ID}'")"
    processed="$(query "SELECT COUNT(*) FROM processed_users WHERE run_id = '${RUN_ID}'")"
    invalid="$(query "SELECT COUNT(*) FROM invalid_users WHERE run_id = '${RUN_ID}'")"
    # Some invalid users have no usable id (NULL): those count as rows, not as duplicates.
    repeated="$(query "SELECT COUNT(user_id) - COUNT(DISTINCT user_id) FROM raw_users WHERE run_id = '${RUN_ID}'")"
    rm -rf "$copy"
    [[ "$runs" == 1 ]] || die "database: ${runs} completed runs, expected 1"
    [[ "$raw" == "$USERS" && "$repeated" == 0 ]] ||
        die "database: raw_users has ${raw} rows (${repeated} repeated ids), expected ${USERS}: lost or doubled"
    [[ "$processed" == "$VALID" ]] || die "database: processed_users ${processed}, expected ${VALID}"
    [[ "$invalid" == "$INVALID" ]] || die "database: invalid_users ${invalid}, expected ${INVALID}"
    log "database: raw_users ${raw} (no id twice), processed_users ${processed}, invalid_users ${invalid}"
}

check_uploads() {
    local uploaded=0 remote local_file name
    while IFS= read -r -d '' remote; do
        name="$(basename "$remote")"
        local_file="$(find "${WORK}/data" -type f -name "$name" -print -quit)"
        [[ -n "$local_file" ]] || die "sftp_data/${name} has no local counterpart under data/"
        cmp -s "$remote" "$local_file" || die "sftp_data/${name} differs from ${local_file#"$WORK"/}"
        log "sftp: ${name} ($(wc -l <"$remote") lines) equals ${local_file#"$WORK"/}"
        uploaded=$((uploaded + 1))
    done < <(find "${WORK}/sftp_data" -type f -name "*${RUN_ID}*" -print0)
    ((uploaded == 3)) || die "sftp_data/ holds ${uploaded} files of run ${RUN_ID}, expected 3"
}

# Each service's log shows its part of the work.
check_logs() {
    local service pattern
    while read -r service pattern; do
        log_has "$service" "$pattern" ||
            { compose logs --no-color --tail 20 "$service" >&2 || true; die "the ${service} log lacks /${pattern}/"; }
        log "logs: ${service} shows /${pattern}/"
    done <<EOF
redis Ready to accept connections
sftp Accepted publickey for etl
fixture-source listening|serving
extractor run ${RUN_ID} extracted: ${USERS} users
transformer run ${RUN_ID} transformed:
saver run completed: files uploaded
api database opened read-only
extractor stopping run ${RUN_ID} at skip=[0-9]+; the checkpoint resumes it
extractor resuming run ${RUN_ID} at skip=[0-9]+
EOF
    local loads
    loads="$(service_log saver | grep -c 'loading run' || true)"
    ((loads == 1)) || { service_log saver | tail -n 30 >&2; service_log transformer | tail -n 20 >&2;
        die "the saver loaded a run ${loads} times: a run must be announced and loaded once"; }
    if log_has sftp kex_exchange_identification; then
        die "the sftp log has kex_exchange_identification lines: a health probe opens bare connections"
    fi
}

# Redis refuses a client without the password, and no log of the stack shows a secret.
check_secrets() {
    local answer
    answer="$(compose exec -T redis sh -c 'REDISCLI_AUTH= redis-cli ping' 2>&1 || true)"
    [[ "$answer" == *NOAUTH* ]] || die "redis answered '${answer}' to a client without the password"
    log "redis: a client without the password gets NOAUTH"
    local name value all_logs
    all_logs="$(compose logs --no-color 2>/dev/null || true)"
    for name in REDIS_PASSWORD EVENT_HMAC_KEY; do
        value="$(sed -n "s/^${name}=//p" "${WORK}/.env" | tail -n 1)"
        [[ ${#value} -ge 16 ]] || die ".env has no ${name} (the README block's generate-keys.sh --env-file .env writes it)"
        grep -qF -- "$value" <<<"$all_logs" && die "the value of ${name} appears in the stack's logs"
    done
    log "logs: neither REDIS_PASSWORD nor EVENT_HMAC_KEY appears in any service's log"
}

one_pass() {
    pick_compose
    WORK="$(mktemp -d /tmp/compose-check.XXXXXX)"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$WORK" -xf -
    API_PORT="$(free_port)"
    export API_PORT COMPOSE_CHECK_USERS="$USERS"
    export COMPOSE_PROJECT_NAME="etlcheck$(id -u)"
    export COMPOSE_FILE="docker-compose.yml:docker/compose-check.override.yml"

    local started=$SECONDS
    run_readme_block
    log "stack up in $((SECONDS - started)) s"

    local up=$SECONDS
    wait_for_progress 20
    info "restart the extractor mid-run; kill the transformer with SIGKILL"
    compose restart extractor
    "$DOCKER" kill -s KILL "$(compose ps -q transformer)" >/dev/null
    sleep 2
    # A container killed by `docker kill` stays down under `restart: unless-stopped`
    # (Docker counts it as stopped by hand): start it again as an operator would.
    compose up -d --no-build transformer >/dev/null 2>&1 || compose start transformer

    wait_for_completed_run
    log "first completed run $((SECONDS - up)) s after up"
    check_api
    check_database
    check_uploads
    check_logs
    check_secrets
    log "images: $("$DOCKER" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'swift-etl-pipeline|redis|atmoz|debian|swift:' | tr '\n' ';')"
    pass_cleanup
    echo "compose-check: pass OK as $(id -un) (uid $(id -u)): run ${RUN_ID}, ${USERS} users, $((SECONDS - started)) s"
}

pass_cleanup() {
    [[ -n "$WORK" && -d "$WORK" ]] || return 0
    if [[ "$KEEP" == true ]]; then log "kept ${WORK} and its stack (--keep)"; return 0; fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    # Files the containers wrote belong to APP_UID; as an unprivileged user they are ours.
    rm -rf "$WORK" 2>/dev/null || as_root rm -rf "$WORK" 2>/dev/null || true
    WORK=""
}

# ---- the unprivileged pass ----------------------------------------------------------------
unprivileged_pass() {
    getent group docker >/dev/null || groupadd --system docker
    id "$CHECK_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$CHECK_USER"
    usermod -aG docker "$CHECK_USER"
    local copy
    copy="$(mktemp -d /tmp/compose-check-src.XXXXXX)"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$copy" -xf -
    (cd "$copy" && git init -q && git add -A >/dev/null)   # the pass copies tracked files only
    chown -R "$CHECK_USER:" "$copy"
    info "the same check as ${CHECK_USER} (uid $(id -u "$CHECK_USER"), group docker)"
    local status=0
    su "$CHECK_USER" -s /bin/bash -c "cd '$copy' && scripts/compose-check.sh --inner --users '$USERS'" || status=$?
    rm -rf "$copy"
    return "$status"
}

# ---- main -------------------------------------------------------------------------------
main() {
    local started=$SECONDS
    trap 'pass_cleanup; stop_engine' EXIT
    if [[ "$INNER" == true ]]; then
        engine_answers || die "no Docker engine answers for $(id -un)"
        one_pass
        return 0
    fi
    install_packages
    if ! start_engine; then
        echo "compose-check: SKIPPED — NO DOCKER ENGINE CAN START ON THIS MACHINE; the compose deployment was NOT tested" >&2
        exit 0
    fi
    info "base images (docker/airgap/build-stand-ins.sh)"
    local images=$SECONDS
    as_root env DOCKER="$DOCKER" "${ROOT}/docker/airgap/build-stand-ins.sh"
    log "base images ready in $((SECONDS - images)) s"
    one_pass
    if [[ "$(id -u)" == 0 && "$UNPRIVILEGED_PASS" == true ]]; then
        unprivileged_pass || die "the pass as the unprivileged user ${CHECK_USER} failed"
    fi
    stop_engine
    trap - EXIT
    echo "compose-check: OK in $((SECONDS - started)) s"
}

main "$@"
