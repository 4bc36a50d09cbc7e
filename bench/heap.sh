#!/usr/bin/env bash
# Heap profile of the relay and the gateway while slow streams are held: runs byok-relayd and
# byok-gatewayd under heaptrack, holds N streams (30 s of events 1 s apart by default), stops them and
# prints each one's peak heap, that heap per held stream by holder (gRPC's call arena, gRPC's other
# per-call state, the suite's code) and the largest allocation sites per held stream.
#
#   bench/heap.sh [--streams N] [--events E] [--warmup S] [--tls] [--no-build] [--keep DIR]
#   (--warmup S: seconds of 50-event streams at 16 connections first, 2 by default, as bench/run.sh's
#    earlier scenarios do: gRPC sizes a new call's arena from the calls that completed before it;
#    --tls: the fake provider speaks https, as every real provider does;
#    --keep DIR keeps the heaptrack files there, for heaptrack_print or heaptrack_gui)
#
# Needs heaptrack (Debian: heaptrack). Starts and stops everything itself, loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"

streams=2000
events=8
warmup=2
build=1
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --streams) streams=$2; shift ;;
    --events) events=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --no-build) build=0 ;;
    --keep) keep=$2; shift ;;
    --tls) FAKE_TLS=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "heap: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
  echo "heap: heaptrack is not installed (apt-get install heaptrack)" >&2
  exit 1
fi
[ $build = 1 ] && build_bench_targets
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_bench_tmp heap

# shellcheck disable=SC2034,SC2154  # read by start_suite (lib/targets.sh)
SUITE_WRAP[relayd]="heaptrack -o $TMP/relay"
# shellcheck disable=SC2034,SC2154
SUITE_WRAP[gatewayd]="heaptrack -o $TMP/gateway"
start_bench_suite heap daemons

if [ "$warmup" != 0 ]; then
  run_loadgen byok run --stream --events 50 --connections 16 --warmup 0 --duration "$warmup" >/dev/null
fi
held=$(run_loadgen byok hold --connections "$streams" --events "$events" --interval-ms 1000 \
  --timeout $((events + 60)))
echo "$held"
# Per held stream: divided by the streams open at once at the peak (heaptrack slows the daemons, so
# the first streams may end before the last open).
open=$(sed -n 's/.*peak_open=\([0-9]*\).*/\1/p' <<<"$held")
[ -n "$open" ] && [ "$open" -gt 0 ] || open=$streams

# heaptrack writes its file when the profiled daemon exits: stop the daemons themselves.
for name in relayd gatewayd; do
  pid=$(pgrep -f "^$BIN/byok-$name" || true)
  [ -n "$pid" ] && kill -TERM "$pid"
done
for name in relay gateway; do
  for _ in $(seq 100); do
    [ -s "$TMP/$name.zst" ] && ! pgrep -f "^$BIN/byok-${name}d" >/dev/null && break
    sleep 0.1
  done
  echo
  echo "== $name ($open streams open at once)"
  heaptrack_print -f "$TMP/$name.zst" 2>/dev/null | grep -E '^peak heap memory' || true
  python3 "$here/lib/heap_breakdown.py" "$TMP/$name.zst" "$open" | cut -c1-200 || true
done
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$TMP"/*.zst "$keep"/; fi
