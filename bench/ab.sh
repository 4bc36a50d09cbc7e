#!/usr/bin/env bash
# Paired A/B of two builds of the suite (or one build with and without a setting), for changes smaller
# than a host's drift: on a shared virtual machine the speed of the whole host can swing 1.5-2× within
# minutes, so two full runs minutes apart cannot tell a 5% change from noise. Both suites run at once
# (the idle one costs nothing), and short closed-loop runs alternate between them, A then B, B then A;
# each pair's ratio B/A is taken within seconds, and the median of the ratios is the result.
#
#   bench/ab.sh --a DIR [--b DIR] [--b-env VAR=VALUE]... [--kind small1|small16|small64|stream16]
#               [--rounds N] [--seconds S] [--all-in-one]
#
# --a: a folder holding the executables of A (e.g. a copy of build/bin made before the change); --b:
# those of B (default build/bin). --b-env: a variable set for B only (A/B of a setting on one build).
# Prints each pair (req/s, p50 µs, suite CPU µs per request, warm-up included), then the medians of
# B/A. Loopback only; starts and stops everything itself. Needs byok-bench-fake-provider and
# byok-bench-loadgen in build/bin (bench/run.sh builds them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/setup.sh
source "$ROOT/bench/lib/setup.sh"

bin_a=""
bin_b="$ROOT/build/bin"
env_b=()
kind=small16
rounds=8
seconds=1.5
suite_mode=daemons
while [ $# -gt 0 ]; do
  case $1 in
    --a) bin_a=$2; shift ;;
    --b) bin_b=$2; shift ;;
    --b-env) env_b+=("$2"); shift ;;
    --kind) kind=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --all-in-one) suite_mode=all-in-one ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ab: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$bin_a" ]; then
  echo "ab: --a DIR is required (the executables of A)" >&2
  exit 2
fi
case $kind in
  small1) load=(--connections 1) ;;
  small16) load=(--connections 16) ;;
  small64) load=(--connections 64) ;;
  stream16) load=(--connections 16 --stream --events 50) ;;
  *) echo "ab: unknown kind $kind" >&2; exit 2 ;;
esac

make_bench_tmp ab
start_fake_provider
BIN=$bin_a start_suite "$suite_mode" a
BIN=$bin_b start_suite "$suite_mode" b "${env_b[@]}"

# CPU clock ticks used so far by every process of target $1.
suite_ticks() {
  local spec ticks=0
  for spec in ${TARGET_PIDS[$1]}; do ticks=$((ticks + $(cpu_ticks "${spec#*=}"))); done
  echo "$ticks"
}

clk_tck=$(getconf CLK_TCK)

# One run against target $1: "<req/s> <p50 µs> <suite CPU µs per request>".
one() {
  local target=$1 before after out ok
  before=$(suite_ticks "$target")
  out=$(run_loadgen "$target" run "${load[@]}" --warmup 0.3 --duration "$seconds")
  after=$(suite_ticks "$target")
  ok=$(grep -o 'ok=[0-9]*' <<<"$out" | head -1 | cut -d= -f2)
  echo "$(grep -o 'rps=[0-9.]*' <<<"$out" | cut -d= -f2) $(grep -o 'lat_us_p50=[0-9.]*' <<<"$out" | cut -d= -f2)" \
    "$(( (after - before) * 1000000 / clk_tck / (ok > 0 ? ok : 1) ))"
}

echo "pair  A: req/s p50_us cpu_us | B: req/s p50_us cpu_us"
: >"$TMP/pairs"
for i in $(seq "$rounds"); do
  if [ $((i % 2)) = 1 ]; then a=$(one a); b=$(one b); else b=$(one b); a=$(one a); fi
  echo "$i  A: $a | B: $b"
  echo "$a $b" >>"$TMP/pairs"
done

# The median of column $1 of the pair ratios (B/A) in $TMP/pairs.
median_ratio() {
  awk -v c="$1" '$c > 0 { print $(c + 3) / $c }' "$TMP/pairs" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
                             else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "B/A, median of $rounds pairs ($kind, $suite_mode): req/s $(median_ratio 1)  p50 $(median_ratio 2)" \
  " CPU per request $(median_ratio 3)"
