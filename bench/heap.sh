#!/usr/bin/env bash
# Heap profile of the relay and the gateway while slow streams are held: runs byok-relayd and
# byok-gatewayd under heaptrack, holds N streams (30 s of events 1 s apart by default), stops them and
# prints each one's peak heap and its largest peak consumers.
#
#   bench/heap.sh [--streams N] [--events E] [--no-build] [--keep DIR]
#   (--keep DIR keeps the heaptrack files there, for heaptrack_print or heaptrack_gui)
#
# Needs heaptrack (Debian: heaptrack). Starts and stops everything itself, loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="${BYOK_BIN_DIR:-$ROOT/build/bin}"
here="$ROOT/bench"
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"
# shellcheck source=lib/targets.sh
source "$here/lib/targets.sh"

streams=2000
events=8
build=1
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --streams) streams=$2; shift ;;
    --events) events=$2; shift ;;
    --no-build) build=0 ;;
    --keep) keep=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "heap: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
  echo "heap: heaptrack is not installed (apt-get install heaptrack)" >&2
  exit 1
fi
if [ $build = 1 ]; then
  "$ROOT/scripts/build.sh" --target byok-bench-fake-provider byok-bench-loadgen \
    byok-vaultd byok-relayd byok-gatewayd >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d /tmp/byok-heap.XXXXXX)
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2034,SC2154  # read by start_suite (lib/targets.sh)
SUITE_WRAP[relayd]="heaptrack -o $TMP/relay"
# shellcheck disable=SC2034,SC2154
SUITE_WRAP[gatewayd]="heaptrack -o $TMP/gateway"
start_fake_provider
start_suite daemons || { echo "heap: the suite did not start" >&2; exit 1; }

run_loadgen byok hold --connections "$streams" --events "$events" --interval-ms 1000 --timeout $((events + 60))

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
  echo "== $name ($streams streams held)"
  heaptrack_print -f "$TMP/$name.zst" 2>/dev/null | grep -E '^peak heap memory' || true
  heaptrack_print -f "$TMP/$name.zst" --print-peaks 1 --print-allocators 0 --print-leaks 0 \
    --print-temporary 0 --print-histogram 0 2>/dev/null |
    grep -E '^[0-9.]+[KMG]? (peak memory|consumed)|^    (byok::|grpc_core::[A-Za-z]+::[A-Za-z]+\()' |
    head -30 | cut -c1-160 || true  # head closes the pipe early
done
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$TMP"/*.zst "$keep"/; fi
