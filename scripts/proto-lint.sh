#!/usr/bin/env bash
# Lints the protos with buf (proto/buf.yaml), as a platform consuming them would: comments on every
# service, method and field, package options, naming. buf comes from the npm registry (@bufbuild/buf),
# pinned; nothing is installed in the tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/proto"
npx --yes @bufbuild/buf@1.75.0 lint
echo "proto-lint: buf lint clean"
