#!/usr/bin/env bash
# Builds the tests of our own concurrent code with ThreadSanitizer into build-tsan/ and runs them with
# scripts/tsan.supp. Debian's gRPC, Abseil and protobuf are not instrumented: tests/tsan/ makes Abseil's
# Mutex, CondVar and Notification visible to TSan; what gRPC synchronises internally stays invisible
# (docs/security.md, "ThreadSanitizer").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build_dir="$root/build-tsan"
source "$root/scripts/sanitizer-compiler.sh"
use_sanitizer_compiler "$build_dir"

# The tests of concurrent code, by CTest name (regex) and the executables that hold them:
#   the Abseil annotations themselves     tsan_annotation_test (TsanAnnotationTest)
#   upstream client and connection pool   relay_upstream_test (UpstreamClientTest)
#   usage batching and parsing            relay_unit_test (UsageBatcherTest, UsageParserTest)
#   the relay's key cache                 relay_unit_test (KeyCacheTest, TokenHashTest)
#   the answer cache under threads        vault_client_test (AnswerCacheThreadsTest, LoadAnswerCacheOptionsTest)
#   the gateway's token cache             token_cache_test (TokenCacheTest)
#   the vault's change feed, and the      vault_changes_test (ChangeFeedTest, ChangeFeedThreadsTest,
#     change stream's subscriber            ChangeForTest, ChangeStreamTest: KeyChangeWatch against a
#     (KeyChangeWatch)                      real VaultServer; not ChangeStreamPostgresTest)
#   rate limiters                         gateway_unit_test (RateLimiterTest)
#   HTTP sessions, framing, streams       gateway_http_test (HttpFraming*, HttpVersion*)
#   the gateway's RelayMany streams       gateway_http_test (HttpStreamCoalescingManyTest)
#   the gateway's usage fence             usage_fence_test (UsageFenceTest)
#   the relay's RelayMany streams         relay_many_test (RelayManyTest: byok-relayd built with TSan)
#   body coalescing                       http_test (BodyCoalescer)
#   the vault's store threads (queue,     vault_executor_test (VaultExecutorTest)
#     deadlines, group commit)
#   the relay call's end, which waits for relay_usage_wait_test (RelayUsageWaitTest: byok-relayd and
#     the vault's answer on another thread  byok-vaultd built with TSan, run with these options)
tests=(tsan_annotation_test relay_upstream_test relay_unit_test gateway_unit_test gateway_http_test
       vault_client_test token_cache_test vault_changes_test vault_executor_test relay_usage_wait_test
       relay_many_test http_test usage_fence_test)
regex='^(TsanAnnotationTest|UpstreamClientTest|UsageBatcherTest|UsageParserTest|KeyCacheTest|TokenHashTest'
regex+='|AnswerCacheThreadsTest|LoadAnswerCacheOptionsTest|TokenCacheTest|ChangeFeedTest|ChangeFeedThreadsTest'
regex+='|ChangeForTest|ChangeStreamTest|VaultExecutorTest|RateLimiterTest|HttpFramingTest'
regex+='|Codings/TransferEncodingTest|HttpVersionTest|HttpStreamCoalescingManyTest|BodyCoalescer'
regex+='|Responses/RelayUsageWaitTest|RelayManyTest|UsageFenceTest)\.'

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBYOK_TSAN=ON \
    -DBYOK_BUILD_BENCH=OFF
fi
cmake --build "$build_dir" -j "${BYOK_JOBS:-$(nproc)}" --target "${tests[@]}"
cd "$build_dir"
# halt_on_error: one report fails the test; second_deadlock_stack for readable lock-order reports.
export TSAN_OPTIONS="suppressions=$root/scripts/tsan.supp halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
ctest -j "${BYOK_JOBS:-$(nproc)}" --output-on-failure --timeout 600 -R "$regex"
