#!/usr/bin/env bash
# Installs the Debian 12 packages byok-relay builds and tests with. Does nothing when all are present.
# The sanitizer runtimes serve BYOK_SANITIZE=1 and scripts/tsan.sh (GCC); clang and its runtime
# (libFuzzer) serve scripts/fuzz.sh. Node.js runs the browser client's tests, and drives Chromium (through
# chromium-driver) for the demo page's end-to-end test. PostgreSQL and Redis are the scale-out vault
# store and shared rate limits (their tests start servers of their own on loopback); prometheus-cpp
# serves /metrics; Python's grpcio is the other-language client test of the gRPC API.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev libboost1.74-dev libssl-dev libsqlite3-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libasan8 libubsan1 libtsan2
  clang libclang-rt-14-dev
  openssl sqlite3 iproute2 util-linux curl
  nodejs chromium chromium-driver fonts-dejavu-core
  postgresql libpq-dev redis-server libhiredis-dev
  prometheus-cpp-dev
  python3-grpcio python3-protobuf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
