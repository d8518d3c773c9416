#!/usr/bin/env bash
# Fault scenarios through real processes (cmd/hotline/faults_test.go):
# `hotline sim` and `hotline serve` killed, stopped or cut while calls flow,
# then every call the sim placed looked up in the call log. Prints one line
# per scenario and exits non-zero when anything was lost, duplicated or
# left stuck:
#
#   <scenario>: lost N · duplicated N · stuck N (detail)
#
# Usage: scripts/faults.sh [-run REGEXP]   (e.g. -run 'TestFaults/kill')
# The scenarios run side by side; the whole takes about five minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
run='TestFaults'
if [ "${1:-}" = "-run" ] && [ -n "${2:-}" ]; then run="$2"; fi

# The binary first: a build error is reported as such, not as a scenario.
go build -o /dev/null ./cmd/hotline

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
HOTLINE_FAULTS=1 go test -count=1 -timeout 30m -parallel 8 -run "$run" -v ./cmd/hotline >"$log" 2>&1 || status=$?
grep '^FAULT ' "$log" | sed 's/^FAULT //' | sort || true
if [ "$status" -ne 0 ]; then
  # Scenarios that could not run to their count say why.
  grep -E '^\s+(faults_test|e2e_test|sim_test)\.go:[0-9]+:|^--- FAIL|^FAIL|panic:' "$log" | grep -v 'lost [0-9]* · duplicated' || true
  exit 1
fi
if grep '^FAULT ' "$log" | grep -qvE 'lost 0 · duplicated 0 · stuck 0 '; then
  exit 1
fi
