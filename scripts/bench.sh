#!/usr/bin/env bash
# Runs every benchmark and writes one Markdown report (bench-results.md, and
# stdout): the machine, then `hotline bench calls` (the service beside a bare
# ARI application, both through the fake Asterisk), `hotline bench deadlines`
# and `hotline bench store`. The default sizes finish in under 10 minutes on
# 2 cores; --full runs the sizes of the targets (1M deadlines, 10M calls: an
# hour or more).
#
#   scripts/bench.sh [--full] [--out FILE]
#
# Environment: CALLS_RATE (default 250 calls/s), CALLS_FOR (30s),
# CALLS_CONCURRENCY (instead of the rate), DEADLINES_N, STORE_CALLS,
# REDIS_URL (the Redis for the service and the deadline engine; without it
# an embedded one, and no redis-benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

full=0
out=bench-results.md
while [ $# -gt 0 ]; do
	case "$1" in
	--full) full=1 ;;
	--out) out="$2"; shift ;;
	*) echo "usage: scripts/bench.sh [--full] [--out FILE]" >&2; exit 2 ;;
	esac
	shift
done
if [ "$full" = 1 ]; then
	deadlines_n="${DEADLINES_N:-1000000}"
	store_calls="${STORE_CALLS:-10000000}"
else
	deadlines_n="${DEADLINES_N:-100000}"
	store_calls="${STORE_CALLS:-100000}"
fi
calls_load=(-rate "${CALLS_RATE:-250}")
if [ -n "${CALLS_CONCURRENCY:-}" ]; then
	calls_load=(-concurrency "$CALLS_CONCURRENCY")
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/hotline" ./cmd/hotline

{
	echo "# Benchmark results"
	echo
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') with \`scripts/bench.sh$([ "$full" = 1 ] && echo ' --full')\` at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	echo "| machine | |"
	echo "|---|---|"
	echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
	echo "| cores | $(nproc) |"
	echo "| RAM | $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) |"
	echo "| Go | $(go version | cut -d' ' -f3-) |"
	echo "| kernel | $(uname -sr) |"
	echo "| load average at the start | $(cut -d' ' -f1-3 /proc/loadavg) |"
	redis=embedded
	if [ -n "${REDIS_URL:-}" ]; then
		redis="$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version/ {print "redis " $2}')"
	fi
	echo "| Redis | ${redis:-$REDIS_URL} |"
	echo
	echo "## Calls"
	echo
} >"$work/report.md"

echo "bench calls ${calls_load[*]} -for ${CALLS_FOR:-30s} …" >&2
status=0
"$work/hotline" bench calls "${calls_load[@]}" -for "${CALLS_FOR:-30s}" -json "${out%.md}-calls.json" >>"$work/report.md" ||
	{ status=1; echo "(bench calls failed: see above)" >>"$work/report.md"; }
{
	echo
	echo "The whole result, both applications' figures included: \`${out%.md}-calls.json\`."
	echo
	echo "## Deadline engine"
	echo
} >>"$work/report.md"

echo "bench deadlines -n $deadlines_n …" >&2
"$work/hotline" bench deadlines -n "$deadlines_n" -dir "$work" >>"$work/report.md" ||
	{ status=1; echo "(bench deadlines failed)" >>"$work/report.md"; }
{
	echo
	echo "## Store"
	echo
} >>"$work/report.md"

echo "bench store -calls $store_calls …" >&2
"$work/hotline" bench store -calls "$store_calls" -db "$work/store.db" >>"$work/report.md" ||
	{ status=1; echo "(bench store failed: a query plan reads a whole table, or see above)" >>"$work/report.md"; }

cp "$work/report.md" "$out"
cat "$out"
echo "written to $out and ${out%.md}-calls.json" >&2
exit "$status"
