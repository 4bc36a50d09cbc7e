#include "services/gateway/limits/redis_rate_limiter.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace byok::gateway {
namespace {

// KEYS[1] the window's counter, ARGV[1] the window in milliseconds. Returns {count, remaining ms}.
// A counter found without an expiry (it cannot happen through this script, but a stray PERSIST or an
// old key could) gets one, so no key is ever stuck at its limit.
const RedisScript& WindowScript() {
  static const RedisScript* script = new RedisScript(R"lua(
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
)lua");
  return *script;
}

// Hex of the first 16 bytes of SHA-256: unlinkable to the identifier, collision-free in practice.
std::string Digest(absl::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(std::shared_ptr<RedisPool> pool, std::string name, int64_t limit,
                                   absl::Duration window)
    : pool_(std::move(pool)), name_(std::move(name)), limit_(limit), window_(window) {}

std::string RedisRateLimiter::RedisKey(absl::string_view key) const {
  return absl::StrCat("byok:rl:", name_, ":", Digest(key));
}

RateDecision RedisRateLimiter::Acquire(absl::string_view key) {
  RateDecision decision;
  if (!enabled()) return decision;
  absl::StatusOr<std::vector<int64_t>> reply = pool_->EvalIntegers(
      WindowScript(), RedisKey(key), {std::to_string(absl::ToInt64Milliseconds(window_))});
  if (!reply.ok() || reply->size() != 2) {
    // The pool has logged the failure (once, not per request).
    if (pool_->settings().on_failure == RedisFailurePolicy::kClosed) {
      decision.allowed = false;
      decision.unavailable = true;
    }
    return decision;  // open: allowed, with no counts to report
  }
  int64_t count = (*reply)[0];
  int64_t left_ms = std::clamp<int64_t>((*reply)[1], 0, absl::ToInt64Milliseconds(window_));
  decision.limit = limit_;
  decision.window_seconds = absl::ToInt64Seconds(window_);
  // Whole seconds, rounded up, as the in-memory limiter.
  decision.reset_seconds = (left_ms + 999) / 1000;
  decision.allowed = count <= limit_;
  decision.remaining = decision.allowed ? limit_ - count : 0;
  return decision;
}

}  // namespace byok::gateway
