#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted strings are perl and awk programs
# Keeps the configuration surfaces in step with the code:
#
#   * every variable the code reads (Sources/**/*.swift) is in .env.example and in the
#     README's "Configuration" table, and vice versa;
#   * every ${VAR} docker-compose.yml substitutes is in .env.example and the README table
#     (compose-only variables such as APP_UID are allowed there without code reading them);
#   * every variable docker-compose.yml sets under `environment:` is one the code reads;
#   * every compose service is named in the README (as `service`);
#   * when the product spec is at hand (../shared/SPEC.md or $SPEC_PATH), every variable of
#     its §6 table is read by the code.
#
# A variable "read by the code" is an upper-case string literal passed as the first argument
# of a configuration reader (source.string/int/double/bool/url/optionalString/logLevel and
# any other ConfigurationSource method declared as `func x(_ name: String ...`), a `name: String = "X"`
# default, `variable: "X"`, `environment["X"]` or `getenv("X")`.
# Exits 1 with the list of mismatches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
cd "$ROOT"

readonly ENV_EXAMPLE=.env.example
readonly README=README.md
readonly COMPOSE=docker-compose.yml
SPEC="${SPEC_PATH:-${ROOT}/../shared/SPEC.md}"

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }
die() { echo "check-config: error: $*" >&2; exit 2; }


swift_files() { find Sources -name '*.swift' -print0; }

# Reader methods: the usual ones plus any `func x(_ name: String` declared in Sources/.
reader_methods() {
    {
        printf '%s\n' string int double bool url optionalString logLevel
        # Methods of ConfigurationSource (declared in files that define or extend it) whose
        # first parameter is `_ name: String`.
        swift_files | xargs -0 perl -0777 -ne '
            next unless /\b(?:struct|extension|class)\s+ConfigurationSource\b/;
            while (/func\s+(\w+)\s*\(\s*_\s+name\s*:\s*String\b/g) { print "$1\n" }'
    } | sort -u | paste -sd'|' -
}

code_variables() {
    local methods
    methods="$(reader_methods)"
    {
        swift_files | READERS="$methods" xargs -0 perl -0777 -ne '
            my $readers = $ENV{READERS};
            while (/\.(?:$readers)\(\s*"([A-Z][A-Z0-9_]*)"/g) { print "$1\n" }
            while (/\bname\s*:\s*String\s*=\s*"([A-Z][A-Z0-9_]*)"/g) { print "$1\n" }
            while (/\bvariable\s*:\s*"([A-Z][A-Z0-9_]*)"/g) { print "$1\n" }
            while (/environment\s*\[\s*"([A-Z][A-Z0-9_]*)"\s*\]/g) { print "$1\n" }
            while (/getenv\(\s*"([A-Z][A-Z0-9_]*)"\s*\)/g) { print "$1\n" }
        '
        # The image's entry point is code too: the variables it reads as ${NAME...}.
        perl -ne 'while (/\$\{([A-Z][A-Z0-9_]*)[:}-]/g) { print "$1\n" }' "${ROOT}/docker/entrypoint.sh"
    } | sort -u
}

env_example_variables() {
    sed -nE 's/^[[:space:]]*(export[[:space:]]+)?([A-Z][A-Z0-9_]*)[[:space:]]*=.*/\2/p' "$ENV_EXAMPLE" | sort -u
}

# Variables in the first column of the tables under the README's "## Configuration" heading.
readme_variables() {
    awk '
        /^## / { in_section = ($0 ~ /^## Configuration/) ; next }
        in_section && /^\|/ {
            n = split($0, cells, "|")
            cell = cells[2]
            while (match(cell, /`[A-Z][A-Z0-9_]*`/)) {
                print substr(cell, RSTART + 1, RLENGTH - 2)
                cell = substr(cell, RSTART + RLENGTH)
            }
        }
    ' "$README" | sort -u
}

compose_substituted_variables() {
    grep -oE '\$\{[A-Z][A-Z0-9_]*' "$COMPOSE" | sed 's/^\${//' | sort -u || true
}

# Keys set under any `environment:` mapping of docker-compose.yml, except in services that run
# another image (redis, sftp): their variables are read by those images, not by our code.
compose_environment_keys() {
    awk '
        /^  [a-z][a-z0-9_-]*:[[:space:]]*$/ { third_party = 0 }
        /^    image:/ && $0 !~ /swift-etl-pipeline/ { third_party = 1 }
        /^[[:space:]]*environment:/ { match($0, /^[[:space:]]*/); indent = RLENGTH; inside = 1; next }
        inside {
            if ($0 ~ /^[[:space:]]*(#.*)?$/) next
            match($0, /^[[:space:]]*/)
            if (RLENGTH <= indent) { inside = 0; next }
            if (!third_party && match($0, /^[[:space:]]*[A-Z][A-Z0-9_]*:/)) {
                key = substr($0, 1, RLENGTH - 1); gsub(/[[:space:]]/, "", key); print key
            }
        }
    ' "$COMPOSE" | sort -u
}

compose_services() {
    awk '
        /^[^[:space:]#]/ { in_services = ($0 ~ /^services:/); next }
        in_services && /^  [A-Za-z0-9_.-]+:[[:space:]]*$/ { s = $1; sub(/:$/, "", s); print s }
    ' "$COMPOSE" | sort -u
}

spec_variables() {
    [[ -f "$SPEC" ]] || return 0
    awk '
        /^## / { in_section = ($0 ~ /^## 6/) ; next }
        in_section && /^\|/ {
            n = split($0, cells, "|")
            cell = cells[2]
            while (match(cell, /`[A-Z][A-Z0-9_]*`/)) {
                print substr(cell, RSTART + 1, RLENGTH - 2)
                cell = substr(cell, RSTART + RLENGTH)
            }
        }
    ' "$SPEC" | sort -u
}

# in_list WORD LIST
in_list() { grep -qxF -- "$1" <<<"$2"; }

where_read() {
    grep -rlF --include='*.swift' "\"$1\"" Sources 2>/dev/null | head -n 3 | paste -sd, - || true
}

main() {
    local file
    for file in "$ENV_EXAMPLE" "$README" "$COMPOSE"; do
        [[ -f "$file" ]] || die "$file not found"
    done
    [[ -d Sources ]] || die "Sources/ not found"
    command -v perl >/dev/null 2>&1 || die "perl is needed (apt-get install perl)"

    local code env readme subst compose_env services spec var
    code="$(code_variables)"
    env="$(env_example_variables)"
    readme="$(readme_variables)"
    subst="$(compose_substituted_variables)"
    compose_env="$(compose_environment_keys)"
    services="$(compose_services)"
    spec="$(spec_variables)"

    [[ -n "$code" ]] || die "found no configuration variable in Sources/ (has the reader API changed?)"

    for var in $code; do
        in_list "$var" "$env" || problem "$var is read by the code ($(where_read "$var")) but missing from $ENV_EXAMPLE"
        in_list "$var" "$readme" || problem "$var is read by the code ($(where_read "$var")) but missing from the $README Configuration table"
    done
    for var in $subst; do
        in_list "$var" "$env" || problem "$var is substituted in $COMPOSE but missing from $ENV_EXAMPLE"
        in_list "$var" "$readme" || problem "$var is substituted in $COMPOSE but missing from the $README Configuration table"
    done
    for var in $env; do
        in_list "$var" "$code" || in_list "$var" "$subst" ||
            problem "$var is in $ENV_EXAMPLE but no code reads it (and $COMPOSE does not use it)"
    done
    for var in $readme; do
        in_list "$var" "$code" || in_list "$var" "$subst" ||
            problem "$var is in the $README Configuration table but no code reads it (and $COMPOSE does not use it)"
    done
    for var in $compose_env; do
        in_list "$var" "$code" || problem "$var is set in $COMPOSE environment: but no code reads it"
    done
    for var in $spec; do
        in_list "$var" "$code" || problem "$var is in the SPEC §6 table but no code reads it"
    done
    local service
    for service in $services; do
        grep -qF -- "\`${service}\`" "$README" || problem "compose service '$service' is not named in $README (as \`${service}\`)"
    done

    if ((${#PROBLEMS[@]} > 0)); then
        echo "check-config: ${#PROBLEMS[@]} mismatch(es):" >&2
        printf '  - %s\n' "${PROBLEMS[@]}" >&2
        exit 1
    fi
    local n_code n_services
    n_code="$(wc -w <<<"$code")"
    n_services="$(wc -w <<<"$services")"
    echo "check-config: OK: ${n_code} variables read by the code are in ${ENV_EXAMPLE} and ${README};" \
        "${n_services} compose services are in ${README}$([[ -n "$spec" ]] && echo "; SPEC §6 variables are all read")"
}

main "$@"
