#!/usr/bin/env bash
# Soak: `hotline sim` places calls for a while (10 minutes by default) into
# a `hotline serve` on configs/hotline.sim.yaml, both as processes in a
# temporary folder; reports the serve process's goroutines and heap at the
# start and at the end (after the last call ended), read from /metrics.
#
# Usage: scripts/soak.sh [-for 10m] [-rate 1] [-ari 127.0.0.1:18180] [-http 127.0.0.1:18181]
# Redis: the service's embedded one, or HOTLINE_REDIS_URL if set.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
for_=10m rate=1 ari=127.0.0.1:18180 http=127.0.0.1:18181
while [ $# -gt 0 ]; do
  case "$1" in
    -for) for_="$2"; shift 2 ;;
    -rate) rate="$2"; shift 2 ;;
    -ari) ari="$2"; shift 2 ;;
    -http) http="$2"; shift 2 ;;
    *) echo "usage: scripts/soak.sh [-for 10m] [-rate 1] [-ari ADDR] [-http ADDR]" >&2; exit 2 ;;
  esac
done

dir=$(mktemp -d)
sim_pid='' serve_pid=''
cleanup() {
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/hotline" ./cmd/hotline
sed -e "s|127.0.0.1:8088|$ari|g" -e "s|127.0.0.1:8080|$http|g" -e "s|data/sim|$dir/data|g" \
  -e "s|level: info|level: warn|" configs/hotline.sim.yaml >"$dir/serve.yaml"

"$dir/hotline" sim -ari "$ari" -data "$dir/data" -rate "$rate" -for "$for_" >"$dir/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q '^ARI ' "$dir/sim.out" && break; sleep 0.2; done
grep -q '^ARI ' "$dir/sim.out" || { cat "$dir/sim.out"; echo "soak: hotline sim did not start" >&2; exit 1; }
HOTLINE_ARI_PASSWORD=hotline "$dir/hotline" serve -config "$dir/serve.yaml" 2>"$dir/serve.log" &
serve_pid=$!
for _ in $(seq 150); do curl -sf "http://$http/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://$http/readyz" >/dev/null || { tail "$dir/serve.log"; echo "soak: hotline serve not ready" >&2; exit 1; }

metric() { curl -sf "http://$http/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
sleep 5
g0=$(metric go_goroutines) h0=$(metric go_memstats_heap_inuse_bytes)
echo "start: goroutines $g0 · heap in use $(mib "$h0") ($rate calls/s for $for_)"

until grep -q 'stopped placing calls' "$dir/sim.out"; do
  kill -0 "$serve_pid" 2>/dev/null || { tail "$dir/serve.log"; echo "soak: hotline serve died" >&2; exit 1; }
  sleep 1
done
# Every call placed ends (an agent's call lasts 50 s), then a few seconds
# more for the service to finish them. (Callbacks go on dialing: their
# channels are the service's own.)
ended() {
  local calls; calls=$(curl -sf "http://$ari/sim/calls") || return 1
  [ "$(grep -o '"channel_id"' <<<"$calls" | wc -l)" = "$(grep -o '"ended_at"' <<<"$calls" | wc -l)" ]
}
state="some calls still on after 3 minutes"
for _ in $(seq 180); do ended && state="every call ended" && break; sleep 1; done
sleep 5
g1=$(metric go_goroutines) h1=$(metric go_memstats_heap_inuse_bytes)
placed=$(grep -o 'stopped placing calls after [^:]*: [0-9]* placed' "$dir/sim.out" | grep -o '[0-9]* placed')
echo "end:   goroutines $g1 · heap in use $(mib "$h1") ($placed, $state)"
