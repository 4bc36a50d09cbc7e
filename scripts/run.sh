#!/usr/bin/env bash
# Builds byok-relay and starts the whole suite in one process (gateway on :3000 unless PORT is set).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" --target byok-relay
exec "$root/build/bin/byok-relay" "$@"
