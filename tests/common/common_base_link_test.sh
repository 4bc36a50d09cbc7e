#!/usr/bin/env bash
# Usage: common_base_link_test.sh PROBE
# PROBE links byok_common_base alone (logging, configuration, status, request ids). It must run, and
# carry no gRPC or protobuf: no such shared library among its dependencies, no such symbol in it.
set -euo pipefail
probe=$1
fail() { echo "common_base_link_test: $*" >&2; exit 1; }

[ "$("$probe")" = ok ] || fail "$probe did not run"
# Read once (grep -q on a pipe would end ldd early, which pipefail reports as a failure).
libs=$(ldd "$probe")
symbols=$(nm -C "$probe")
if found=$(grep -Ei 'libgrpc|libgpr|libprotobuf|libupb|libaddress_sorting' <<<"$libs"); then
  fail "links gRPC or protobuf libraries: $found"
fi
if found=$(grep -Ei ' (grpc|gpr|google::protobuf)[_:]' <<<"$symbols"); then
  fail "carries gRPC or protobuf symbols: $(head -5 <<<"$found")"
fi
# The check can fail: the same lists do name what the probe uses.
grep -q libabsl <<<"$libs" || fail "ldd found no Abseil either: the check itself is broken"
grep -q 'byok::log::' <<<"$symbols" || fail "nm found no byok::log symbol either: the check itself is broken"
echo "common_base_link_test: $probe has no gRPC or protobuf"
