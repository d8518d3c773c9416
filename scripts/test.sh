#!/usr/bin/env bash
# The project's test command: vet, then every test with the race detector.
# With REDIS_URL set, tests that need Redis use that server; otherwise they
# start an embedded one.
set -euo pipefail
cd "$(dirname "$0")/.."
go vet ./...
go test -race -count=1 -timeout 8m ./... "$@"
