# shellcheck shell=bash
# Starts what bench/run.sh measures: the fake provider, the byok-relay suite, the Portkey gateway.
# Sourced by lib/setup.sh (needs lib/procs.sh, BIN, TMP, ROOT). Each start_* fills, for its target name:
#   TARGET_PORT[t]     where the load generator connects
#   TARGET_PATH[t]     the chat completions path on that port
#   TARGET_HEADERS[t]  request headers, one per line
#   TARGET_PIDS[t]     "name=pid ..." of the processes whose CPU time and memory are reported

declare -A TARGET_PORT TARGET_PATH TARGET_HEADERS TARGET_PIDS
# SUITE_WRAP[name]: a command that runs byok-<name> (a profiler), for bench/heap.sh.
declare -A SUITE_WRAP
FAKE_PORT=""
FAKE_PID=""
# FAKE_TLS=1 (before start_fake_provider, or in the environment of profile.sh and switches.sh): the fake
# provider speaks https with a certificate made for the run, and the suite trusts it
# (BYOK_UPSTREAM_CA_FILE). The load generator speaks plain http only, so the "direct" target is then
# unusable.
FAKE_TLS=${FAKE_TLS:-0}
PROVIDER_KEY="sk-bench$(openssl rand -hex 20)"

# For the single-purpose scripts (profile.sh, heap.sh, switches.sh), which share this set-up:
# builds the fake provider, the load generator and the suite's executables.
build_bench_targets() {
  "$ROOT/scripts/build.sh" --target byok-bench-fake-provider byok-bench-loadgen byok-relay \
    byok-vaultd byok-relayd byok-gatewayd >&2
}

# Makes TMP, removed at exit with everything started; $1 names the calling script.
make_bench_tmp() {
  TMP=$(mktemp -d "/tmp/byok-$1.XXXXXX")
  trap 'stop_all; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT TERM
}

# Starts the fake provider and the suite in mode $2 (daemons, all-in-one); exits with a message naming
# $1 when the suite does not start.
start_bench_suite() {
  start_fake_provider
  start_suite "$2" || { echo "$1: the suite did not start" >&2; exit 1; }
}

start_fake_provider() {
  local tls=()
  if [ "$FAKE_TLS" = 1 ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost -keyout "$TMP/fake-key.pem" -out "$TMP/fake-cert.pem" \
      >/dev/null 2>&1 || { echo "bench: cannot make the fake provider's certificate" >&2; exit 1; }
    tls=(--tls-cert "$TMP/fake-cert.pem" --tls-key "$TMP/fake-key.pem")
  fi
  # A port file left by an earlier fake provider of this run would be read before the new one writes.
  rm -f "$TMP/fake.port"
  start_bg fake-provider "$TMP/fake-provider.log" \
    "$BIN/byok-bench-fake-provider" --port 0 --port-file "$TMP/fake.port" --threads 1 --key "$PROVIDER_KEY" \
    "${tls[@]}"
  FAKE_PID=$LAST_PID
  wait_file "$TMP/fake.port" 10 || { echo "bench: the fake provider did not start" >&2; exit 1; }
  FAKE_PORT=$(cat "$TMP/fake.port")
  TARGET_PORT[direct]=$FAKE_PORT
  TARGET_PATH[direct]=/v1/chat/completions
  TARGET_HEADERS[direct]="Authorization: Bearer $PROVIDER_KEY"
  TARGET_PIDS[direct]=""
}

# run_loadgen TARGET MODE ARGS... : runs byok-bench-loadgen MODE against TARGET (its port, chat path
# and request headers), with ARGS added, for 10 minutes at most; prints its result line.
run_loadgen() {
  local t=$1 mode=$2 h hdrs=()
  shift 2
  while IFS= read -r h; do [ -n "$h" ] && hdrs+=(--header "$h"); done <<<"${TARGET_HEADERS[$t]}"
  timeout 600 "$BIN/byok-bench-loadgen" "$mode" --port "${TARGET_PORT[$t]}" --path "${TARGET_PATH[$t]}" \
    "${hdrs[@]}" "$@"
}

# suite_env TARGET : the environment of every suite process of TARGET (secrets generated for this run
# only, its own database).
suite_env() {
  echo "ENCRYPTION_SECRET=$(openssl rand -hex 32)"
  echo "TOKEN_HMAC_SECRET=$(openssl rand -hex 32)"
  # The service identity of the internal gRPC calls (the split daemons refuse to start without one).
  echo "BYOK_SERVICE_TOKEN=$(openssl rand -hex 32)"
  echo "DB_PATH=$TMP/data-$1/relay.db"
  echo "LOG_LEVEL=warn"
  echo "RATE_LIMIT_GLOBAL=0"
  echo "RATE_LIMIT_RELAY=0"
  echo "RATE_LIMIT_REGISTER=0"
  if [ "$FAKE_TLS" = 1 ]; then
    echo "BYOK_PROVIDER_OPENAI_BASE_URL=https://localhost:$FAKE_PORT"
    echo "BYOK_UPSTREAM_CA_FILE=$TMP/fake-cert.pem"
  else
    echo "BYOK_PROVIDER_OPENAI_BASE_URL=http://127.0.0.1:$FAKE_PORT"
  fi
  echo "BYOK_VAULT_ADDR=127.0.0.1:$(free_port)"
  echo "BYOK_RELAY_ADDR=127.0.0.1:$(free_port)"
  echo "PORT=$(free_port)"
}

# start_suite MODE [TARGET [VAR=VALUE...]] : MODE is "daemons" (byok-vaultd, byok-relayd,
# byok-gatewayd) or "all-in-one" (byok-relay); TARGET names it in the results (default byok); the
# variables are added to its environment, and a BYOK_METRICS_ADDR of "each" gives every process its own
# metrics port. Returns 1, with a message, when the suite is not built or does not come up.
start_suite() {
  local mode=$1 target=${2:-byok} envs port pids="" name extra=() e
  shift $(($# < 2 ? $# : 2))
  extra=("$@")
  mkdir -p "$TMP/data-$target"
  mapfile -t envs < <(suite_env "$target")
  for e in "${extra[@]}"; do
    [ "$e" = "BYOK_METRICS_ADDR=each" ] && continue
    envs+=("$e")
  done
  port=$(printf '%s\n' "${envs[@]}" | sed -n 's/^PORT=//p')
  if [ "$mode" = daemons ]; then
    for name in vaultd relayd gatewayd; do
      if [ ! -x "$BIN/byok-$name" ]; then echo "bench: $BIN/byok-$name is not built" >&2; return 1; fi
    done
    for name in vaultd relayd gatewayd; do
      # shellcheck disable=SC2086  # SUITE_WRAP is a command line (bench/heap.sh: heaptrack -o FILE)
      local metrics=()
      [[ " ${extra[*]} " == *" BYOK_METRICS_ADDR=each "* ]] && metrics=("BYOK_METRICS_ADDR=127.0.0.1:$(free_port)")
      (cd "$TMP" && exec env "${envs[@]}" "${metrics[@]}" ${SUITE_WRAP[$name]:-} "$BIN/byok-$name") \
        >"$TMP/$target-$name.log" 2>&1 &
      LAST_PID=$!
      STARTED_PIDS+=("$LAST_PID")
      pids+="${name%d}=$LAST_PID "
      sleep 0.3  # the relay and gateway connect lazily, but an orderly start keeps logs readable
    done
  else
    if [ ! -x "$BIN/byok-relay" ]; then echo "bench: $BIN/byok-relay is not built" >&2; return 1; fi
    local metrics=()
    [[ " ${extra[*]} " == *" BYOK_METRICS_ADDR=each "* ]] && metrics=("BYOK_METRICS_ADDR=127.0.0.1:$(free_port)")
    (cd "$TMP" && exec env "${envs[@]}" "${metrics[@]}" "$BIN/byok-relay") >"$TMP/$target-byok-relay.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
    pids="suite=$LAST_PID "
  fi
  echo "bench: started byok-relay suite $target ($mode: ${pids% }${extra[*]:+; ${extra[*]}}) on 127.0.0.1:$port" >&2
  if ! wait_healthy "http://127.0.0.1:$port/health" 30; then
    echo "bench: the suite did not become healthy; its logs:" >&2
    tail -n 20 "$TMP/$target"-*.log >&2 2>/dev/null || true
    return 1
  fi
  TARGET_PORT[$target]=$port
  TARGET_PATH[$target]=/relay/openai/v1/chat/completions
  TARGET_PIDS[$target]=${pids% }
  register_user "$port" "$target" || return 1
}

# target_pid_list TARGET : the process ids of TARGET_PIDS[TARGET], comma-separated (for perf -p).
target_pid_list() {
  local spec list=""
  for spec in ${TARGET_PIDS[$1]}; do list+="${spec#*=},"; done
  echo "${list%,}"
}

# wait_healthy URL SECONDS : waits for a 200 from the suite's /health (vault and relay ready).
wait_healthy() {
  local i code
  for i in $(seq $(($2 * 10))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 1 "$1" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# register_user PORT [TARGET] : registers a user, stores the fake provider's key, checks one relayed
# request.
register_user() {
  local base="http://127.0.0.1:$1" target=${2:-byok} token code body
  body=$(curl -s -m 10 -X POST "$base/users" -H 'content-type: application/json' -d '{"app_id":"bench"}')
  token=$(printf '%s' "$body" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
  if [ -z "$token" ]; then echo "bench: POST /users gave no token" >&2; return 1; fi
  code=$(curl -s -o "$TMP/key.out" -w '%{http_code}' -m 10 -X POST "$base/keys/openai" \
    -H 'content-type: application/json' -H "x-relay-token: $token" -d "{\"key\":\"$PROVIDER_KEY\"}")
  if [ "$code" != 200 ]; then echo "bench: POST /keys/openai answered $code" >&2; return 1; fi
  TARGET_HEADERS[$target]="x-relay-token: $token"
  code=$(curl -s -o "$TMP/check.out" -w '%{http_code}' -m 10 -X POST "$base/relay/openai/v1/chat/completions" \
    -H 'content-type: application/json' -H "x-relay-token: $token" -d '{"model":"bench","messages":[]}')
  if [ "$code" != 200 ] || ! grep -q chatcmpl-bench "$TMP/check.out"; then
    echo "bench: a relayed request answered $code, not the fake provider's completion" >&2
    return 1
  fi
}

# start_portkey : installs (once, into bench/.portkey, git-ignored) and starts the Portkey gateway.
# Returns 1 with a message when it cannot.
start_portkey() {
  local dir="$ROOT/bench/.portkey" port
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bench: node/npm not found: Portkey skipped" >&2
    return 1
  fi
  mkdir -p "$dir"
  if ! cmp -s "$ROOT/bench/portkey/package.json" "$dir/package.json" || [ ! -d "$dir/node_modules/@portkey-ai/gateway" ]; then
    cp "$ROOT/bench/portkey/package.json" "$dir/package.json"
    echo "bench: installing the Portkey gateway from npm into bench/.portkey" >&2
    if ! (cd "$dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1; then
      echo "bench: npm install @portkey-ai/gateway failed: Portkey skipped" >&2
      tail -n 5 "$TMP/npm.log" >&2
      return 1
    fi
  fi
  port=$(free_port)
  (cd "$dir" && exec node node_modules/@portkey-ai/gateway/build/start-server.js "--port=$port" --headless) \
    >"$TMP/portkey.log" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
  echo "bench: started portkey (pid $LAST_PID) on 127.0.0.1:$port" >&2
  if ! wait_http "http://127.0.0.1:$port/" 30 "$LAST_PID"; then
    echo "bench: the Portkey gateway did not start: Portkey skipped" >&2
    return 1
  fi
  TARGET_PORT[portkey]=$port
  TARGET_PATH[portkey]=/v1/chat/completions
  TARGET_HEADERS[portkey]="Authorization: Bearer $PROVIDER_KEY
x-portkey-provider: openai
x-portkey-custom-host: http://127.0.0.1:$FAKE_PORT/v1"
  TARGET_PIDS[portkey]="portkey=$LAST_PID"
}
