#!/usr/bin/env bash
# Profiles the suite on its hottest path: small relayed requests (or 50-event streams with --stream)
# at a fixed concurrency, sampled with `perf record` (software cpu-clock event, so it also works where
# hardware counters are not exposed), and prints the top symbols of each service.
#
#   bench/profile.sh [--stream] [--connections C] [--seconds S] [--all-in-one] [--no-build] [--keep FILE]
#   (--keep FILE keeps perf.data there, for `perf report -i FILE -g caller`)
#
# Needs perf (Debian: linux-perf). Starts and stops everything itself, loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"

stream=()
conns=16
seconds=5
suite_mode=daemons
build=1
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --stream) stream=(--stream --events 50) ;;
    --connections) conns=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --all-in-one) suite_mode=all-in-one ;;
    --no-build) build=0 ;;
    --keep) keep=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v perf >/dev/null || ! perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
  echo "profile: perf is not usable here (apt-get install linux-perf; or run the suite under" >&2
  echo "         valgrind --tool=callgrind for an instruction-level profile)" >&2
  exit 1
fi
[ $build = 1 ] && build_bench_targets
make_bench_tmp profile
start_bench_suite profile "$suite_mode"
perf record -e cpu-clock -F 999 -g -p "$(target_pid_list byok)" -o "$TMP/perf.data" -- sleep "$((seconds + 1))" \
  >"$TMP/perf.log" 2>&1 &
perf_pid=$!
STARTED_PIDS+=("$perf_pid")
sleep 0.5
run_loadgen byok run --connections "$conns" --warmup 0.2 --duration "$seconds" "${stream[@]}"
wait "$perf_pid" || true

for spec in ${TARGET_PIDS[byok]}; do
  for sort in dso dso,symbol; do
    echo
    echo "== ${spec%%=*}: self time by ${sort/,/ and } (share of this process's cpu-clock samples)"
    perf report -i "$TMP/perf.data" --stdio --no-children --pid "${spec#*=}" --percentage relative \
      --sort "$sort" --percent-limit 1 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 |
      sed 's/  *$//'
  done
done
if [ -n "$keep" ]; then cp "$TMP/perf.data" "$keep"; fi
