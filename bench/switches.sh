#!/usr/bin/env bash
# Counts the context switches each service makes per small relayed request, by kind of thread (its
# name: gRPC's callback threads are `nexting_thread`, the services' own threads are named for their
# work, docs/observability.md#threads), at 1 and at 16 connections. On a small machine, thread hand-offs cost more than the work they
# hand off: this is the figure that says how many there are.
#
#   bench/switches.sh [--connections "1 16"] [--seconds S] [--all-in-one] [--no-build]
#
# Reads voluntary + involuntary switches from /proc/<pid>/task/*/status before and after a closed-loop
# run (no warm-up in the window; the suite is warmed by one request first). Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"

conns_list="1 16"
seconds=4
suite_mode=daemons
build=1
while [ $# -gt 0 ]; do
  case $1 in
    --connections) conns_list=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --all-in-one) suite_mode=all-in-one ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "switches: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

[ $build = 1 ] && build_bench_targets
make_bench_tmp switches
start_bench_suite switches "$suite_mode"

# One line per process and thread name: "<process>/<thread name> <switches so far>".
snapshot() {
  local spec pid t
  for spec in ${TARGET_PIDS[byok]}; do
    pid=${spec#*=}
    for t in /proc/"$pid"/task/*; do
      [ -r "$t/status" ] || continue
      printf '%s/%s %s\n' "${spec%%=*}" "$(tr ' ' _ <"$t/comm")" \
        "$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status")"
    done
  done | awk '{ n[$1] += $2 } END { for (k in n) print k, n[k] }' | sort
}

for conns in $conns_list; do
  snapshot >"$TMP/before"
  out=$(run_loadgen byok run --connections "$conns" --warmup 0 --duration "$seconds" 2>/dev/null | tail -1)
  snapshot >"$TMP/after"
  completed=$(sed -n 's/.*completed=\([0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$completed" ] || [ "$completed" = 0 ]; then
    echo "switches: no request completed at $conns connections" >&2
    exit 1
  fi
  echo "## $conns connection(s): $completed requests, $(sed -n 's/.*\(rps=[0-9.]*\).*/\1/p' <<<"$out")"
  join "$TMP/before" "$TMP/after" | awk -v n="$completed" '
    { d = ($3 - $2) / n; if (d >= 0.05) { printf "  %-32s %6.2f per request\n", $1, d }; total += d }
    END { printf "  %-32s %6.2f per request\n", "all", total }'
done
