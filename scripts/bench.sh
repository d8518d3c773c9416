#!/usr/bin/env bash
# Runs every benchmark and writes one Markdown report (bench-results.md, and
# stdout): the machine, then `hotline bench calls` (the service beside a bare
# ARI application, both through the fake Asterisk), `hotline bench deadlines`
# and `hotline bench store`. The default sizes finish in under 10 minutes on
# 2 cores; --full runs the sizes of the targets (1M deadlines, 10M calls: an
# hour or more). The headline rows, beside their targets, go into
# README.md between its bench-summary markers (`hotline bench summary`),
# unless --no-readme.
#
#   scripts/bench.sh [--full] [--out FILE] [--no-readme]
#
# Environment: CALLS_RATE (default 250 calls/s), CALLS_FOR (30s),
# CALLS_CONCURRENCY (instead of the rate), DEADLINES_N, STORE_CALLS,
# REDIS_URL (the Redis for the service and the deadline engine; without it
# an embedded one, and no redis-benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

full=0
readme=README.md
out=bench-results.md
while [ $# -gt 0 ]; do
	case "$1" in
	--full) full=1 ;;
	--out) out="$2"; shift ;;
	--no-readme) readme= ;;
	*) echo "usage: scripts/bench.sh [--full] [--out FILE] [--no-readme]" >&2; exit 2 ;;
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
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
load="$(cut -d' ' -f1-3 /proc/loadavg)"

{
	echo "# Benchmark results"
	echo
	echo "Run $started with \`scripts/bench.sh$([ "$full" = 1 ] && echo ' --full')\` at commit $commit."
	echo
	echo "| machine | |"
	echo "|---|---|"
	echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
	echo "| cores | $(nproc) |"
	echo "| RAM | $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) |"
	echo "| Go | $(go version | cut -d' ' -f3-) |"
	echo "| kernel | $(uname -sr) |"
	echo "| load average at the start | $load |"
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
"$work/hotline" bench deadlines -n "$deadlines_n" -dir "$work" -json "$work/deadlines.json" >>"$work/report.md" ||
	{ status=1; echo "(bench deadlines failed)" >>"$work/report.md"; }
{
	echo
	echo "## Store"
	echo
} >>"$work/report.md"

echo "bench store -calls $store_calls …" >&2
"$work/hotline" bench store -calls "$store_calls" -db "$work/store.db" -json "$work/store.json" >>"$work/report.md" ||
	{ status=1; echo "(bench store failed: a query plan reads a whole table, or see above)" >>"$work/report.md"; }

summary=()
for f in calls:"${out%.md}-calls.json" deadlines:"$work/deadlines.json" store:"$work/store.json"; do
	[ -s "${f#*:}" ] && summary+=(-"${f%%:*}" "${f#*:}")
done
title="$started, \`scripts/bench.sh$([ "$full" = 1 ] && echo ' --full')\` at commit $commit, $(nproc) cores, load average $load at the start (whole report: \`$out\`)."
{
	echo
	echo "## Summary"
	echo
	"$work/hotline" bench summary "${summary[@]}" -title "$title" ${readme:+-readme "$readme"} ||
		{ status=1; echo "(bench summary failed)"; }
} >>"$work/report.md"

cp "$work/report.md" "$out"
cat "$out"
echo "written to $out and ${out%.md}-calls.json${readme:+; the table in $readme}" >&2
exit "$status"
