#!/usr/bin/env bash
# Usage: common_base_link_test.sh PROBE
# PROBE links byok_common_base alone (logging, configuration, status, request ids). It must run, and
# carry no gRPC or protobuf: no such shared library among its dependencies, no such symbol in it.
set -euo pipefail
probe=$1
fail() { echo "common_base_link_test: $*" >&2; exit 1; }

[ "$("$probe")" = ok ] || fail "$probe did not run"
if libs=$(ldd "$probe" | grep -Ei 'libgrpc|libgpr|libprotobuf|libupb|libaddress_sorting'); then
  fail "links gRPC or protobuf libraries: $libs"
fi
if syms=$(nm -C "$probe" | grep -Ei ' (grpc|gpr|google::protobuf)[_:]' | head -5) && [ -n "$syms" ]; then
  fail "carries gRPC or protobuf symbols: $syms"
fi
# The check can fail: the same probe's library list does name what it does use.
ldd "$probe" | grep -q libabsl || fail "ldd found no Abseil either: the check itself is broken"
echo "common_base_link_test: $probe has no gRPC or protobuf"
