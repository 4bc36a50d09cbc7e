#!/usr/bin/env bash
# Builds byok-relay and runs every test. BYOK_SANITIZE=1 runs them under ASan+UBSan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
build_dir="$root/build"
[ "${BYOK_SANITIZE:-0}" = "1" ] && build_dir="$root/build-asan"
cd "$build_dir"
ctest -j "${BYOK_JOBS:-$(nproc)}" --output-on-failure --timeout 300
