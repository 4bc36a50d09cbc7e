#!/usr/bin/env bash
# Lints the protos with buf (proto/buf.yaml), as a platform consuming them would: comments on every
# service, method and field, package options, naming; then checks them against the last released API
# (proto/release/api-<version>.binpb, the image `buf build` made of the protos at that release) for
# breaking changes. A release adds its own image there. buf comes from the npm registry
# (@bufbuild/buf), pinned; nothing is installed in the tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/proto"
buf=(npx --yes @bufbuild/buf@1.75.0)
"${buf[@]}" lint
echo "proto-lint: buf lint clean"
last_release=$(ls release/api-*.binpb | sort -V | tail -1)
"${buf[@]}" breaking --against "$last_release"
echo "proto-lint: no breaking change against $last_release"
