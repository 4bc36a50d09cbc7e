#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan) into build-fuzz/ and runs each one for
# the given number of seconds (default 60). Each target starts from its seed corpus in the tree
# (fuzz/corpus/<target>/) plus what earlier runs found (build-fuzz/corpus/<target>/, kept between runs).
# A crash, leak, timeout or sanitizer report stops that target, leaves the input in
# build-fuzz/artifacts/ and makes the script fail. FUZZ_TARGETS="fuzz_url fuzz_path" picks some.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds="${1:-60}"
"$root/scripts/install-deps.sh"
build_dir="$root/build-fuzz"
source "$root/scripts/sanitizer-compiler.sh"
use_sanitizer_compiler "$build_dir"

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBYOK_FUZZ=ON -DBUILD_TESTING=OFF -DBYOK_BUILD_BENCH=OFF
fi
cmake --build "$build_dir" -j "${BYOK_JOBS:-$(nproc)}" --target fuzzers

# The targets are what fuzz/CMakeLists.txt builds.
read -r -a targets <<< "${FUZZ_TARGETS:-$(cd "$build_dir/fuzz" && ls fuzz_* | tr '\n' ' ')}"
mkdir -p "$build_dir/artifacts"

# Runs one target for the given time; its exit code lands in artifacts/<target>.code.
run_target() {
  local t=$1 corpus="$build_dir/corpus/$1"
  mkdir -p "$corpus"
  set +e
  # -timeout: one input taking over 10 s is a finding; -rss_limit_mb bounds memory per input.
  "$build_dir/fuzz/$t" "$corpus" "$root/fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$t-" \
    > "$build_dir/artifacts/$t.log" 2>&1
  echo $? > "$build_dir/artifacts/$t.code"
}

# As many targets at once as there are build jobs (one core each): the run takes
# ceil(targets / jobs) x seconds instead of targets x seconds.
jobs_at_once="${BYOK_JOBS:-$(nproc)}"
running=0
for t in "${targets[@]}"; do
  rm -f "$build_dir/artifacts/$t.code"
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs_at_once" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=()
printf '%-18s %8s %10s %8s %6s %s\n' target seconds execs corpus cov result
for t in "${targets[@]}"; do
  log="$build_dir/artifacts/$t.log"
  code=$(cat "$build_dir/artifacts/$t.code" 2>/dev/null || echo 255)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  result=ok
  if [ "$code" -ne 0 ]; then
    result="FAILED (exit $code, see $log)"
    failed+=("$t")
  fi
  printf '%-18s %8s %10s %8s %6s %s\n' "$t" "$seconds" "${execs:-?}" "$(ls "$build_dir/corpus/$t" | wc -l)" \
    "${cov:-?}" "$result"
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  for t in "${failed[@]}"; do grep -m1 -A12 'ERROR\|==ERROR\|runtime error\|deadly signal' \
    "$build_dir/artifacts/$t.log" >&2 || true; done
  exit 1
fi
