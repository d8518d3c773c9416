#!/usr/bin/env bash
# The project's test command: vet, then every test with the race detector.
# With REDIS_URL set, tests that need Redis use that server; otherwise they
# start an embedded one.
set -euo pipefail
cd "$(dirname "$0")/.."
# Go 1.26.8 ships net/http fixes only in later releases: test with the
# patched toolchain (the module proxy serves it); go.mod stays at 1.26 so
# `go run ./cmd/hotline demo` still works on a plain Go 1.26.
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
go vet ./...
go test -race -count=1 -timeout 8m ./... "$@"
