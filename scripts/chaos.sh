#!/usr/bin/env bash
# Chaos test of the delivery guarantees (see README "Delivery guarantees").
#   scripts/chaos.sh                       full run with release binaries (swift build -c release first)
#   scripts/chaos.sh --quick               the CI version
#   scripts/chaos.sh --bin-dir .build/debug --trials 3 ...
# Every option is passed to scripts/chaos.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -eq 0 ]]; then
    set -- --trials 12 --users 20000 --kills-per-trial 5
fi
exec python3 "${ROOT}/scripts/chaos.py" "$@"
