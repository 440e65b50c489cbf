#!/usr/bin/env bash
# Runs one whole pipeline run of N users (default 100,000) on the local stack with the fixture
# source, then prints the wall time of each stage (from the run's ledger row) and the peak
# memory (VmHWM, peak resident set) of each process. A measurement, not a test.
#
#   scripts/bench-pipeline.sh [--users N] [--no-build]
#
# Uses the local stack (scripts/local-stack.sh) and stops it afterwards; the run's outputs stay
# in data/, database/ and sftp_data/ like any local run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

users=100000
build_flag=()
while (($#)); do
    case "$1" in
        --users) users="$2"; shift 2 ;;
        --no-build) build_flag=(--no-build); shift ;;
        *) echo "usage: $0 [--users N] [--no-build]" >&2; exit 2 ;;
    esac
done

if [[ -f run/pids/extractor.pid ]]; then
    echo "bench-pipeline: a local stack is running; stop it first (scripts/local-stack.sh down)" >&2
    exit 1
fi
trap 'scripts/local-stack.sh down >/dev/null 2>&1 || true' EXIT

started=$(date +%s)
FIXTURE_USERS="$users" FIXTURE_INVALID_RATE=0.1 UP_TIMEOUT=1800 \
    scripts/local-stack.sh up --fixture "${build_flag[@]}"
finished=$(date +%s)

peak_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$(cat "run/pids/$1.pid")/status" 2>/dev/null || echo "?"; }
api_port="$(sed -n 's/^export API_PORT=//p; s/^API_PORT=//p' run/stack.env | tr -d "'\"" | tail -n 1)"
run_json="$(curl -fsS "http://127.0.0.1:${api_port:-8000}/etl_runs?limit=1")"

echo
echo "== pipeline benchmark: ${users} users (10% invalid), release build =="
RUN_JSON="$run_json" python3 - <<'PY'
import json, os
from datetime import datetime
run = json.loads(os.environ["RUN_JSON"])[0]
def seconds(start, end):
    if not run.get(start) or not run.get(end):
        return "?"
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return f"{(parse(run[end]) - parse(run[start])).total_seconds():.0f} s"
print(f"run {run['id']}: status {run['status']}, extracted {run['extracted_count']}, "
      f"valid {run['valid_count']}, invalid {run['invalid_count']}")
print(f"{'stage':<12} wall time (ledger timestamps, 1 s resolution)")
print(f"{'extract':<12} {seconds('extract_started_at', 'extract_finished_at')}")
print(f"{'transform':<12} {seconds('transform_started_at', 'transform_finished_at')}")
print(f"{'load':<12} {seconds('load_started_at', 'load_finished_at')}")
print(f"{'upload':<12} {seconds('load_finished_at', 'upload_finished_at')}")
print(f"{'end to end':<12} {seconds('extract_started_at', 'upload_finished_at')}")
PY
echo "peak memory (VmHWM):"
for service in fixture-source extractor transformer saver api; do
    printf '  %-15s %s MiB\n' "$service" "$(( $(peak_kib "$service") / 1024 ))"
done
echo "stack up to completed run: $((finished - started)) s (includes the build unless --no-build)"
