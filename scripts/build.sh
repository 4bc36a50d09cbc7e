#!/usr/bin/env bash
# Configures and builds byok-relay. BYOK_SANITIZE=1 builds with ASan+UBSan into build-asan/, with clang
# (scripts/sanitizer-compiler.sh says why). Extra arguments are passed to `cmake --build` (for example
# `--target byok-relay`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"

build_dir="$root/build"
sanitize=OFF
bench=ON
if [ "${BYOK_SANITIZE:-0}" = "1" ]; then
  build_dir="$root/build-asan"
  sanitize=ON
  bench=OFF  # the benchmark measures the plain build; its tests run there
  source "$root/scripts/sanitizer-compiler.sh"
  use_sanitizer_compiler "$build_dir"
fi
build_type="${BYOK_BUILD_TYPE:-RelWithDebInfo}"

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE="$build_type" \
    -DBYOK_SANITIZE="$sanitize" -DBYOK_BUILD_BENCH="$bench"
fi
cmake --build "$build_dir" -j "${BYOK_JOBS:-$(nproc)}" "$@"
