#!/usr/bin/env bash
# The one test command (README, .ci/run): builds the tests, runs every test, checks that the
# release build compiles too, then runs the system checks against live processes: the API
# against its OpenAPI document (schemathesis), the dashboard in headless Chromium, and the
# quick chaos trial of the delivery guarantees, and the Docker deployment on a real engine.
#
#   scripts/test.sh                 everything
#   scripts/test.sh --no-release    skip the release build (quicker local loop)
#   scripts/test.sh --no-system     skip the system checks (no Chromium, no PyPI needed)
#   scripts/test.sh -- ARGS...      pass ARGS to `swift test` (e.g. -- --filter HandoffTests)
#
# Tests start their own redis-server and sshd on loopback (Debian packages redis-server and
# openssh-server); nothing else needs preparing. The full output of `swift test` is kept in
# logs/test.log. Exits with swift test's status.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly LOG="${ROOT}/logs/test.log"

RELEASE=true
SYSTEM_CHECKS=true
TEST_ARGS=()

info() { printf '\n==> %s\n' "$*"; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

while (($# > 0)); do
    case "$1" in
        --no-release) RELEASE=false; shift ;;
        --no-system) SYSTEM_CHECKS=false; shift ;;
        --) shift; TEST_ARGS=("$@"); break ;;
        -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

cd "$ROOT"
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    PATH="/opt/swift/usr/bin:${PATH}"
fi
command -v swift >/dev/null 2>&1 || die "swift not found on PATH"
for tool in redis-server sshd; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] ||
        echo "test.sh: warning: $tool not found; tests that need it will fail or skip" >&2
done
mkdir -p "${ROOT}/logs"

swift --version 2>&1 | head -n 1

info "swift build --build-tests"
swift build --build-tests

info "swift test${TEST_ARGS[*]:+ ${TEST_ARGS[*]}} (full output: logs/test.log)"
set +e
swift test "${TEST_ARGS[@]}" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e

summary() {
    info "test summary"
    # XCTest ("Executed N tests, with M failures") and Swift Testing ("Test run with N tests ...").
    grep -E '^(Test Suite .All tests. (passed|failed)|[[:space:]]*Executed [0-9]+ tests?,)|Test run with [0-9]+ tests?' "$LOG" |
        tail -n 4 || echo "(no summary line found in logs/test.log)"
}

if ((status != 0)); then
    echo "test.sh: failures:" >&2
    grep -E 'error:|failed|✘' "$LOG" | grep -v '^Test Suite .* passed' | head -n 40 >&2 || true
    summary
    echo "test.sh: swift test FAILED (exit ${status})"
    exit "$status"
fi

if [[ "$RELEASE" == true ]]; then
    info "swift build -c release"
    swift build -c release
    echo "test.sh: release build OK"
fi

if [[ "$SYSTEM_CHECKS" == true ]]; then
    for check in scripts/api-conformance.sh scripts/dashboard-check.sh scripts/chaos.sh scripts/compose-check.sh; do
        [[ -x "$check" ]] || continue
        info "$check"
        args=()
        [[ "$check" == scripts/chaos.sh ]] && args=(--quick)
        "$check" "${args[@]}" || { summary; die "$check failed"; }
    done
fi

# The test summary comes last, so the closing lines of the run are swift test's verdict.
summary
echo "test.sh: swift test passed"
