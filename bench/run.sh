#!/usr/bin/env bash
# Benchmarks byok-relay against a fake provider on loopback and prints one table.
#
#   bench/run.sh [--smoke] [--all-in-one] [--no-portkey | --portkey] [--out FILE] [--no-build]
#                [--only small,stream,hold,cancel] [--observability]
#
# Builds what it needs, starts the fake provider, the suite (the three daemons by default, so CPU time
# and memory are reported per service; --all-in-one runs byok-relay instead) and, unless skipped, the
# Portkey gateway; registers a user and key; runs every scenario directly against the fake provider and
# through each relay; stops everything it started; prints the table (and writes it to --out).
# --smoke: tiny counts, under a minute, Portkey off unless --portkey: it must work, figures not judged.
# --only: runs just the scenarios named (the others show "-"), for quick before/after comparisons.
# --observability: also runs a second suite (byok-obs) with metrics on (BYOK_METRICS_ADDR) and JSON
# access logs at info, measured beside the first in the same run, and reports what they cost.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"
# shellcheck source=lib/report.sh
source "$here/lib/report.sh"

smoke=0
suite_mode=daemons
portkey=auto
out=""
build=1
only=small,stream,hold,cancel
observability=0
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1 ;;
    --all-in-one) suite_mode=all-in-one ;;
    --portkey) portkey=on ;;
    --no-portkey) portkey=off ;;
    --out) out=$2; shift ;;
    --no-build) build=0 ;;
    --only) only=$2; shift ;;
    --observability) observability=1 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
# wanted SCENARIO : whether --only names it.
wanted() { [[ ",$only," == *",$1,"* ]]; }
[ "$portkey" = auto ] && { [ $smoke = 1 ] && portkey=off || portkey=on; }

# Sizes. Full: what docs/performance.md reports. Smoke: enough to exercise every path.
if [ $smoke = 1 ]; then
  CONNS=(1 4 16); WARMUP=0.1; DURATION=0.5
  HOLD_N=200; HOLD_EVENTS=3; HOLD_INTERVAL=400
  CANCEL_N=3; CANCEL_EVENTS=30; CANCEL_INTERVAL=20
else
  CONNS=(1 16 64); WARMUP=1; DURATION=5
  HOLD_N=10000; HOLD_EVENTS=30; HOLD_INTERVAL=1000
  CANCEL_N=20; CANCEL_EVENTS=50; CANCEL_INTERVAL=20
fi
STREAM_EVENTS=50

# 10,000 streams through a relay need ~4 descriptors each across the processes of this run.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "$suite_mode" = all-in-one ] && [ "$(ulimit -Hn)" -lt $((2 * HOLD_N + 1000)) ]; then
  echo "bench: note: the open-file limit ($(ulimit -Hn)) is too low for $HOLD_N streams through one process;" >&2
  echo "bench:       byok-relay (all in one) will fail some held streams for that reason alone" >&2
fi

suite_targets=(byok-relay byok-vaultd byok-relayd byok-gatewayd)
if [ $build = 1 ]; then
  "$ROOT/scripts/build.sh" --target byok-bench-fake-provider byok-bench-loadgen >&2
  # The suite's targets exist once the services are in the tree; build those that do.
  present=()
  for t in "${suite_targets[@]}"; do
    if cmake --build "$ROOT/build" --target help 2>/dev/null | grep -q "^$t:"; then present+=("$t"); fi
  done
  [ ${#present[@]} -gt 0 ] && "$ROOT/scripts/build.sh" --target "${present[@]}" >&2
fi

TMP=$(mktemp -d /tmp/byok-bench.XXXXXX)
cleanup() {
  stop_all
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_fake_provider
# Stops the suite's processes of a failed start (everything started after the fake provider).
stop_suite_pids() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do [ "$pid" != "$FAKE_PID" ] && stop_pid "$pid"; done
  STARTED_PIDS=("$FAKE_PID")
}
targets=(direct)
suite_status="not run"
# One retry: a start can fail for reasons of the moment (a port taken between picking and binding).
if start_suite "$suite_mode" || { stop_suite_pids; start_suite "$suite_mode"; }; then
  targets+=(byok)
  suite_status="ok ($suite_mode)"
else
  suite_status="unavailable"
  echo "bench: byok-relay suite unavailable: measuring the fake provider (and Portkey) only" >&2
fi
if [ $observability = 1 ] && [ "$suite_status" != unavailable ]; then
  obs_env=(LOG_FORMAT=json LOG_LEVEL=info BYOK_METRICS_ADDR=each)
  if start_suite "$suite_mode" byok-obs "${obs_env[@]}" || start_suite "$suite_mode" byok-obs "${obs_env[@]}"; then
    targets+=(byok-obs)
  else
    echo "bench: the suite with metrics and JSON logs did not start: not measured" >&2
  fi
fi
portkey_status="skipped (--no-portkey)"
if [ "$portkey" = on ]; then
  if start_portkey; then
    targets+=(portkey)
    portkey_status="ok ($(sed -n 's/.*"@portkey-ai\/gateway": *"\([^"]*\)".*/\1/p' "$here/portkey/package.json"))"
  else
    portkey_status="skipped (could not install or start; see above)"
  fi
fi

declare -A RES VAL
CLK_TCK=$(getconf CLK_TCK)

# measure TARGET SCENARIO MODE ARGS... : runs the load generator against TARGET, records its result
# line plus the CPU ticks each process of TARGET (and the fake provider) used meanwhile.
measure() {
  local t=$1 sc=$2 mode=$3
  shift 3
  local line start end spec name
  local -A before
  for spec in ${TARGET_PIDS[$t]} fake=$FAKE_PID; do before[$spec]=$(cpu_ticks "${spec#*=}"); done
  start=$(date +%s.%N)
  line=$(run_loadgen "$t" "$mode" "$@") || line="loadgen_failed=1"
  end=$(date +%s.%N)
  for spec in ${TARGET_PIDS[$t]} fake=$FAKE_PID; do
    name=${spec%%=*}
    line+=" cpu_ticks_$name=$(($(cpu_ticks "${spec#*=}") - ${before[$spec]}))"
  done
  line+=" wall_s=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}')"
  RES["$t|$sc"]=$line
  local pair
  for pair in $line; do VAL["$t|$sc|${pair%%=*}"]=${pair#*=}; done
  echo "bench: $t $sc: $line" >&2
}

if wanted small; then
  for c in "${CONNS[@]}"; do
    for t in "${targets[@]}"; do
      measure "$t" "ns$c" run --connections "$c" --warmup "$WARMUP" --duration "$DURATION"
    done
  done
fi
if wanted stream; then
  for c in "${CONNS[@]}"; do
    for t in "${targets[@]}"; do
      measure "$t" "st$c" run --stream --events "$STREAM_EVENTS" --connections "$c" \
        --warmup "$WARMUP" --duration "$DURATION"
    done
  done
fi
if wanted hold; then
  for t in "${targets[@]}"; do
    rss=()
    for spec in ${TARGET_PIDS[$t]} fake=$FAKE_PID; do rss+=(--rss "$spec"); done
    measure "$t" hold hold --connections "$HOLD_N" --events "$HOLD_EVENTS" --interval-ms "$HOLD_INTERVAL" \
      --timeout $((HOLD_EVENTS * HOLD_INTERVAL / 1000 + 60)) "${rss[@]}"
  done
fi
if wanted cancel; then
  for t in "${targets[@]}"; do
    measure "$t" cancel cancel --count "$CANCEL_N" --after-events 3 --events "$CANCEL_EVENTS" \
      --interval-ms "$CANCEL_INTERVAL" --control-port "$FAKE_PORT" --timeout 120
  done
fi

report="$TMP/report.md"
print_report >"$report"
cat "$report"
if [ -n "$out" ]; then cp "$report" "$out"; fi

# A run whose suite was present but failed, or whose relayed requests failed, is a failed run.
status=0
if [ "$suite_status" = unavailable ] && { [ -x "$BIN/byok-relay" ] || [ -x "$BIN/byok-gatewayd" ]; }; then status=1; fi
for key in "${!RES[@]}"; do
  case $key in byok\|ns*|byok\|st*)
    if [ "$(kv "${RES[$key]}" ok)" = 0 ] || [ "$(kv "${RES[$key]}" loadgen_failed)" = 1 ]; then status=1; fi ;;
  esac
done
exit $status
