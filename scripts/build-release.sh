#!/usr/bin/env bash
# Release build: a static-ish binary of the service with its version.
#   scripts/build-release.sh [OUTPUT] [VERSION]
# Built with GOTOOLCHAIN=go1.27.3: Go 1.26.8 ships net/http vulnerabilities
# reachable from this service (Range handling among them). go.mod stays at
# Go 1.26 so `go run ./cmd/hotline demo` still works on a plain Go 1.26.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
out="${1:-bin/hotline}"
version="${2:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
mkdir -p "$(dirname "$out")"
go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out" ./cmd/hotline
"$out" version
