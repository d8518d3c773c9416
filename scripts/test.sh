#!/usr/bin/env bash
# The project's test command: vet, then every test with the race detector.
# With REDIS_URL set, tests that need Redis use that server; otherwise they
# start an embedded one. With HOTLINE_TEST_POSTGRES set (a postgres:// URL),
# the store's suite runs on PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."
# Go 1.26.8 ships net/http fixes only in later releases: test with the
# patched toolchain (the module proxy serves it); go.mod stays at 1.26 so
# `go run ./cmd/hotline demo` still works on a plain Go 1.26.
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
go vet ./...
# Every package on SQLite first, whatever HOTLINE_TEST_POSTGRES says.
HOTLINE_TEST_POSTGRES= go test -race -count=1 -timeout 8m ./... "$@"
# With HOTLINE_TEST_POSTGRES set (.ci/run sets it), the store's whole suite
# again on PostgreSQL, each test in a schema of its own (the tests wait on
# the server, so more of them run at once), and the service on it.
if [ -n "${HOTLINE_TEST_POSTGRES:-}" ]; then
  go test -race -count=1 -timeout 30m -parallel 4 ./store "$@"
  go test -race -count=1 -timeout 5m ./app -run 'TestRunServesCallsAndBecomesReady|TestRunCallRecordsNormalisedCaller|TestMigrateCopy' "$@"
fi
