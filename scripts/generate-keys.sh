#!/usr/bin/env bash
# Creates the SSH material the saver and the SFTP servers share, in ssh_keys/:
#
#   id_ed25519, id_ed25519.pub          the saver's client key (SFTP_KEY_PATH)
#   ssh_host_ed25519_key{,.pub}         the SFTP server's host key (atmoz/sftp in compose,
#                                       sshd of scripts/local-stack.sh)
#   known_hosts                         pins that host key for `sftp` (compose, port 22) and
#                                       `[127.0.0.1]:<port>` (local stack) (SFTP_KNOWN_HOSTS)
#   authorized_keys                     the client key, for the local sshd
#
# With --env-file FILE (Docker Compose: .env) it also fills the stack's shared secrets that are
# empty in FILE with random values: REDIS_PASSWORD (Redis's requirepass) and EVENT_HMAC_KEY
# (signs every hand-off event). Values already set are kept.
#
# Idempotent: existing keys are kept (unless --force); known_hosts and authorized_keys are
# brought up to date with the keys on disk every time (host entries already pinned to the
# current host key are kept, so running it for a second local port adds a line).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT

KEY_DIR="${ROOT}/ssh_keys"
PASSPHRASE="${SFTP_KEY_PASSPHRASE:-}"
LOCAL_HOST="127.0.0.1"
LOCAL_PORT="2222"
FORCE=false
ENV_FILE=""
HOST_KEY_TYPES=()

usage() {
    cat <<EOF
usage: scripts/generate-keys.sh [--passphrase P] [--host H] [--port N] [--dir DIR] [--env-file F]
                                [--host-key-type T]... [--force]

  --passphrase P  protect the client key with P (default: \$SFTP_KEY_PASSPHRASE, else none);
                  set the same value as SFTP_KEY_PASSPHRASE in .env
  --host H        host name the local stack's sshd is reached at (default 127.0.0.1)
  --port N        port of the local stack's sshd (default 2222)
  --dir DIR       where to write the files (default ssh_keys/ of the repository)
  --env-file F     fill empty REDIS_PASSWORD and EVENT_HMAC_KEY in F (e.g. .env) with random values
  --host-key-type T  also a host key of type T (ecdsa, rsa): ssh_host_T_key, as real servers
                  have besides the ed25519 one known_hosts pins
  --force         replace existing keys (the saver and servers must then be restarted)
EOF
}

die() { echo "generate-keys: error: $*" >&2; exit 1; }
info() { echo "generate-keys: $*"; }

parse_args() {
    while (($# > 0)); do
        case "$1" in
            --passphrase) (($# >= 2)) || die "--passphrase needs a value"; PASSPHRASE="$2"; shift 2 ;;
            --host) (($# >= 2)) || die "--host needs a value"; LOCAL_HOST="$2"; shift 2 ;;
            --port) (($# >= 2)) || die "--port needs a value"; LOCAL_PORT="$2"; shift 2 ;;
            --dir) (($# >= 2)) || die "--dir needs a value"; KEY_DIR="$2"; shift 2 ;;
            --env-file) (($# >= 2)) || die "--env-file needs a file"; ENV_FILE="$2"; shift 2 ;;
            --host-key-type) (($# >= 2)) || die "--host-key-type needs a type"; HOST_KEY_TYPES+=("$2"); shift 2 ;;
            --force) FORCE=true; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    if ! [[ "$LOCAL_PORT" =~ ^[0-9]+$ ]] || ((LOCAL_PORT < 1 || LOCAL_PORT > 65535)); then
        die "--port must be a number from 1 to 65535, got '$LOCAL_PORT'"
    fi
    [[ -n "$LOCAL_HOST" ]] || die "--host must not be empty"
}

# make_key FILE COMMENT PASSPHRASE [TYPE]: a key pair (ed25519 unless TYPE), unless one exists
# (and no --force).
make_key() {
    local file="$1" comment="$2" passphrase="$3" type="${4:-ed25519}"
    if [[ -f "$file" && "$FORCE" != true ]]; then
        [[ -f "${file}.pub" ]] || die "$file exists but ${file}.pub does not; re-run with --force to regenerate"
        info "keeping existing $(basename "$file")"
    else
        rm -f "$file" "${file}.pub"
        ssh-keygen -q -t "$type" -a 64 -N "$passphrase" -C "$comment" -f "$file" ||
            die "ssh-keygen failed for $file"
        info "created $(basename "$file") and $(basename "$file").pub"
    fi
    chmod 600 "$file"
    chmod 644 "${file}.pub"
}

# known_hosts name for HOST:PORT as OpenSSH and libssh2 look it up.
host_pattern() {
    if [[ "$2" == 22 ]]; then echo "$1"; else echo "[$1]:$2"; fi
}

write_known_hosts() {
    local file="${KEY_DIR}/known_hosts" host_key key_type key_blob
    read -r key_type key_blob _ <"${KEY_DIR}/ssh_host_ed25519_key.pub" ||
        die "cannot read ssh_host_ed25519_key.pub"
    host_key="${key_type} ${key_blob}"

    local -a patterns=("sftp" "$(host_pattern "$LOCAL_HOST" "$LOCAL_PORT")")
    if [[ "$LOCAL_HOST" == 127.0.0.1 ]]; then
        patterns+=("$(host_pattern localhost "$LOCAL_PORT")")
    fi
    # Keep entries made earlier (another local port) when they pin the current host key.
    if [[ -f "$file" ]]; then
        local name type blob
        while read -r name type blob _; do
            [[ -z "${name:-}" || "$name" == \#* ]] && continue
            [[ "${type} ${blob}" == "$host_key" ]] && patterns+=("$name")
        done <"$file"
    fi
    local tmp="${file}.tmp.$$"
    printf '%s\n' "${patterns[@]}" | awk '!seen[$0]++' | while read -r name; do
        printf '%s %s\n' "$name" "$host_key"
    done >"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
    info "known_hosts pins the host key for: $(cut -d' ' -f1 "$file" | paste -sd' ' -)"
}

write_authorized_keys() {
    local file="${KEY_DIR}/authorized_keys" tmp
    tmp="${file}.tmp.$$"
    # restrict: no shell, no forwarding, no pty: the key is only good for SFTP.
    printf 'restrict %s\n' "$(cat "${KEY_DIR}/id_ed25519.pub")" >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$file"
    info "authorized_keys holds the client key"
}

# fill_secret FILE NAME: NAME= with an empty value in FILE gets 32 random bytes in hex.
fill_secret() {
    local file="$1" name="$2" value
    grep -qE "^${name}=" "$file" || printf '%s=\n' "$name" >>"$file"
    if grep -qE "^${name}=.+" "$file"; then
        info "keeping ${name} set in ${file}"
        return 0
    fi
    value="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    sed -i "s/^${name}=\$/${name}=${value}/" "$file"
    info "wrote a random ${name} to ${file}"
}

main() {
    parse_args "$@"
    command -v ssh-keygen >/dev/null 2>&1 ||
        die "ssh-keygen not found: install openssh-client (apt-get install openssh-client)"
    mkdir -p "$KEY_DIR"
    make_key "${KEY_DIR}/id_ed25519" "etl-saver" "$PASSPHRASE"
    make_key "${KEY_DIR}/ssh_host_ed25519_key" "etl-sftp-host" ""
    local type
    for type in "${HOST_KEY_TYPES[@]}"; do
        make_key "${KEY_DIR}/ssh_host_${type}_key" "etl-sftp-host" "" "$type"
    done
    write_known_hosts
    write_authorized_keys
    if [[ -n "$PASSPHRASE" ]]; then
        info "the client key is passphrase-protected: set SFTP_KEY_PASSPHRASE in .env"
    fi
    if [[ -n "$ENV_FILE" ]]; then
        [[ -f "$ENV_FILE" ]] || die "--env-file ${ENV_FILE}: no such file (cp .env.example .env first)"
        fill_secret "$ENV_FILE" REDIS_PASSWORD
        fill_secret "$ENV_FILE" EVENT_HMAC_KEY
    fi
    info "done: $KEY_DIR"
}

main "$@"
