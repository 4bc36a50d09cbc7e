# shellcheck shell=bash
# Process helpers for bench/run.sh: start, wait for, sample and stop the processes a run owns.
# Sourced, not executed. Every process started here is recorded in STARTED_PIDS and stopped by
# stop_all (run.sh traps EXIT), by its own pid only.

STARTED_PIDS=()

# start_bg NAME LOGFILE CMD... : starts CMD in the background; sets LAST_PID.
start_bg() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
  echo "bench: started $name (pid $LAST_PID)" >&2
}

# stop_pid PID : SIGTERM, then SIGKILL after 5 s.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  STARTED_PIDS=()
}

# free_port : prints a TCP port that no socket uses. Picked below the kernel's ephemeral range
# (ip_local_port_range, 32768 and up by default): after a hold of 10,000 streams, thousands of ports
# there are still in TIME_WAIT and a daemon could not bind one.
free_port() {
  local p
  while :; do
    p=$((12000 + RANDOM % 20000))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return
    fi
  done
}

# wait_http URL SECONDS [PID] : waits until URL answers any HTTP status; fails if PID dies first.
wait_http() {
  local url=$1 seconds=$2 pid=${3:-} i
  for i in $(seq $((seconds * 20))); do
    if curl -s -o /dev/null -m 1 "$url"; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

# wait_file PATH SECONDS : waits until PATH exists.
wait_file() {
  local i
  for i in $(seq $(($2 * 20))); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# cpu_ticks PID : user+system CPU time of PID in clock ticks (0 when gone).
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  # Fields after the command name (which may hold spaces): utime is field 14, stime field 15.
  stat=${stat##*) }
  echo "$stat" | awk '{print $12 + $13}'
}

# rss_kib PID : resident memory of PID in KiB.
rss_kib() {
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1
}

# kv LINE KEY : the value of KEY in a loadgen result line (key=value pairs), or "-".
kv() {
  local v
  v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1)
  echo "${v:--}"
}
