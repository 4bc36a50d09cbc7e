# shellcheck shell=bash
# What every bench script starts with, sourced once ROOT (the checkout) is set: where the built
# executables are (BYOK_BIN_DIR, else build/bin), the bench folder, and the shared helpers.
BIN="${BYOK_BIN_DIR:-$ROOT/build/bin}"
here="$ROOT/bench"
# shellcheck source=procs.sh
source "$here/lib/procs.sh"
# shellcheck source=targets.sh
source "$here/lib/targets.sh"
