#!/usr/bin/env bash
# Counts the context switches each service makes per small relayed request (or per 50-event stream with
# --stream), by kind of thread (its name: gRPC's callback threads are `nexting_thread`, the services'
# own threads are named for their work, docs/observability.md#threads), at 1 and at 16 connections. On
# a small machine, thread hand-offs cost more than the work they hand off: this is the figure that says
# how many there are. With --syscalls, the system calls too (on a virtual machine that traps them, such
# as this one, they are most of the kernel's share of the suite's time).
#
#   bench/switches.sh [--connections "1 16"] [--seconds S] [--stream] [--syscalls] [--all-in-one]
#                     [--no-build]
#
# Reads voluntary + involuntary switches from /proc/<pid>/task/*/status before and after a closed-loop
# run (no warm-up in the window; the suite is warmed by one request first); system calls with `perf
# stat -e raw_syscalls:sys_enter --per-thread` over the same run (Debian: linux-perf). Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"

conns_list="1 16"
seconds=4
suite_mode=daemons
build=1
stream=()
syscalls=0
while [ $# -gt 0 ]; do
  case $1 in
    --connections) conns_list=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --all-in-one) suite_mode=all-in-one ;;
    --no-build) build=0 ;;
    --stream) stream=(--stream --events 50) ;;
    --syscalls) syscalls=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "switches: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ $syscalls = 1 ] && ! perf stat -e raw_syscalls:sys_enter -o /dev/null true >/dev/null 2>&1; then
  echo "switches: perf cannot count system calls here (apt-get install linux-perf; run as root)" >&2
  exit 1
fi
[ $build = 1 ] && build_bench_targets
make_bench_tmp switches
start_bench_suite switches "$suite_mode"

# "<thread id> <process>/<thread name>" for every thread of the suite now.
threads() {
  local spec t
  for spec in ${TARGET_PIDS[byok]}; do
    for t in /proc/"${spec#*=}"/task/*; do
      [ -r "$t/comm" ] && printf '%s %s/%s\n' "${t##*/}" "${spec%%=*}" "$(tr ' ' _ <"$t/comm")"
    done
  done
}

# One line per process and thread name: "<process>/<thread name> <switches so far>".
snapshot() {
  local tid kind
  threads | while read -r tid kind; do
    [ -r "/proc/$tid/status" ] || continue
    echo "$kind $(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "/proc/$tid/status")"
  done | awk '{ n[$1] += $2 } END { for (k in n) print k, n[k] }' | sort
}

for conns in $conns_list; do
  snapshot >"$TMP/before"
  threads >"$TMP/threads"
  perf_pid=""
  if [ $syscalls = 1 ]; then
    perf stat --per-thread -x, -e raw_syscalls:sys_enter -p "$(target_pid_list byok)" -o "$TMP/syscalls" &
    perf_pid=$!
    sleep 0.3
  fi
  out=$(run_loadgen byok run "${stream[@]}" --connections "$conns" --warmup 0 --duration "$seconds" \
    2>/dev/null | tail -1)
  [ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  snapshot >"$TMP/after"
  threads >>"$TMP/threads"
  completed=$(sed -n 's/.*completed=\([0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$completed" ] || [ "$completed" = 0 ]; then
    echo "switches: no request completed at $conns connections" >&2
    exit 1
  fi
  what=requests
  [ ${#stream[@]} -gt 0 ] && what="50-event streams"
  echo "## $conns connection(s): $completed $what, $(sed -n 's/.*\(rps=[0-9.]*\).*/\1/p' <<<"$out")"
  # System calls per "<process>/<thread name>" (perf names a thread "<comm>-<tid>").
  : >"$TMP/calls"
  if [ $syscalls = 1 ]; then
    awk -F, 'FILENAME ~ /threads$/ { split($0, t, " "); kind[t[1]] = t[2]; next }
      $4 ~ /sys_enter/ && $2 ~ /^[0-9]+$/ { tid = $1; sub(/.*-/, "", tid); if (tid in kind) n[kind[tid]] += $2 }
      END { for (k in n) print k, n[k] }' "$TMP/threads" "$TMP/syscalls" | sort >"$TMP/calls"
  fi
  join "$TMP/before" "$TMP/after" | join -a 1 - "$TMP/calls" | awk -v n="$completed" -v sys=$syscalls '
    { d = ($3 - $2) / n; c = ($4 == "" ? 0 : $4 / n)
      if (d >= 0.05 || c >= 0.05) {
        if (sys) printf "  %-32s %6.2f switches %7.1f system calls per request\n", $1, d, c
        else printf "  %-32s %6.2f per request\n", $1, d
      }
      total += d; calls += c }
    END { if (sys) printf "  %-32s %6.2f switches %7.1f system calls per request\n", "all", total, calls
          else printf "  %-32s %6.2f per request\n", "all", total }'
done
