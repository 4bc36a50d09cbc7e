#!/usr/bin/env bash
# Runs the README's "A session with curl" as written against `byok-relay` (all three services in one
# process, embedded defaults) with the benchmark's fake OpenAI provider standing in for api.openai.com.
# Only the port changes (3000 may be taken) and the provider's base URL points at the fake. Loopback
# only; everything started here is stopped on exit.
set -euo pipefail
root=${1:?usage: readme_session_test.sh SOURCE_DIR BIN_DIR}
bin=${2:?usage: readme_session_test.sh SOURCE_DIR BIN_DIR}

tmp=$(mktemp -d /tmp/byok-readme.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=../../bench/lib/procs.sh
source "$root/bench/lib/procs.sh"  # free_port

# The README stores the key "sk-your-key": the fake provider accepts exactly that one.
"$bin/byok-bench-fake-provider" --port 0 --port-file "$tmp/fake.port" --threads 1 --key sk-your-key \
  >"$tmp/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/fake.port" ] && break; sleep 0.05; done
fake_port=$(cat "$tmp/fake.port")

port=$(free_port)
vault_port=$(free_port)
relay_port=$(free_port)
(cd "$tmp" && exec env -i PATH="$PATH" PORT="$port" BYOK_VAULT_ADDR="127.0.0.1:$vault_port" \
   BYOK_RELAY_ADDR="127.0.0.1:$relay_port" \
   BYOK_PROVIDER_OPENAI_BASE_URL="http://127.0.0.1:$fake_port" "$bin/byok-relay") >"$tmp/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "localhost:$port/health" || true)" = 200 ] && break
  sleep 0.1
done

# The session, exactly as the README has it but for the port.
session=$(awk '/^### A session with curl/{f=1} f&&/^```sh/{g=1; next} g&&/^```/{exit} g' "$root/README.md")
[ -n "$session" ] || { echo "no curl session found in README.md"; exit 1; }
session=${session//localhost:3000/localhost:$port}
out=$(bash -euo pipefail -c "$session" 2>&1) || { echo "the session failed:"; echo "$out"; cat "$tmp/relay.log"; exit 1; }

status=0
expect() {
  if ! grep -qF -- "$1" <<<"$out"; then echo "missing from the session's output: $1"; status=1; fi
}
expect '{"ok":true,"provider":"openai"}'   # key stored
expect '{"providers":["openai"]}'         # listed: names only, as the original
expect 'data: {'                           # streamed events from the provider
expect 'data: [DONE]'
if grep -qF sk-your-key <<<"$out"; then echo "the key came back in a response"; status=1; fi
[ $status = 0 ] || { echo "--- output:"; echo "$out"; }
exit $status
