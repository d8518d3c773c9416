#!/usr/bin/env bash
# The whole through real processes (cmd/hotline/cluster_test.go, TestCluster):
# three `hotline serve` instances, two fake Asterisk servers (`hotline sim`
# twice), one database, a redis-server of its own and one recordings folder;
# calls on both servers; the instance driving a server killed with SIGKILL,
# then another stopped with SIGTERM; every call placed accounted for in the
# database. Ends with one line (non-zero exit when anything was lost,
# duplicated or left stuck):
#
#   lost 0 · duplicated 0 · stuck 0 · takeover 4.2 s
#
# Needs redis-server; takes about three minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

# The binary first: a build error is reported as such, not as a lost call.
go build -o /dev/null ./cmd/hotline

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
HOTLINE_CLUSTER=1 go test -count=1 -timeout 15m -run '^TestCluster$' -v ./cmd/hotline >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  grep -E '^\s+(cluster_test|faults_test|e2e_test|sim_test)\.go:[0-9]+:|^--- FAIL|^FAIL|panic:' "$log" >&2 || true
fi
grep -E '^\s+cluster_test\.go:[0-9]+: .*(taken over|handed over|cluster:)' "$log" | sed 's/^\s*//' >&2 || true
line=$(grep '^CLUSTER lost ' "$log" | tail -1 | sed 's/^CLUSTER //')
if [ -z "$line" ]; then
  echo "cluster run ended before its count (see above)" >&2
  exit 1
fi
echo "$line"
exit "$status"
