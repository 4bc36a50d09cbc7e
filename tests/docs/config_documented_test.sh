#!/usr/bin/env bash
# Checks that the README's configuration table and the code agree: every variable the services read is
# documented, and every documented variable is read somewhere.
set -euo pipefail
root=${1:?usage: config_documented_test.sh SOURCE_DIR}
cd "$root"

# Configuration names in the code: quoted upper-case words with an underscore, plus PORT.
# common/grpc_status.h holds the ErrorInfo reason codes (TOKEN_EXPIRED...), not configuration.
code_vars=$( { grep -rhoE '"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+"' services apps common --include=*.cc --include=*.h \
               --exclude=grpc_status.h \
               | tr -d '"'; echo PORT; } | sort -u)
# Names in the README's configuration table (first column), without the provider pattern.
doc_vars=$(grep -E '^\| `' README.md | cut -d'|' -f2 | grep -oE '`[A-Z][A-Z0-9_]*`' | tr -d '`' | sort -u)

missing=$(comm -23 <(echo "$code_vars") <(echo "$doc_vars"))
stale=$(comm -13 <(echo "$code_vars") <(echo "$doc_vars"))
status=0
if [ -n "$missing" ]; then
  echo "read by the code but not in the README's configuration table:"; echo "$missing"; status=1
fi
if [ -n "$stale" ]; then
  echo "in the README's configuration table but read nowhere:"; echo "$stale"; status=1
fi
[ $status -eq 0 ] && echo "$(echo "$code_vars" | wc -l) configuration variables, all documented"
exit $status
