// Fixed-window rate limiting per key (a client address, or a hash of a token), with the numbers the
// `RateLimit-*` and `Retry-After` response headers report. Limiter is what the request chain asks;
// RateLimiter keeps the windows in this process (bounded: at most `max_keys` windows, expired ones
// evicted first); RedisRateLimiter (redis_rate_limiter.h) shares them between gateway replicas.
#ifndef BYOK_SERVICES_GATEWAY_LIMITS_RATE_LIMITER_H_
#define BYOK_SERVICES_GATEWAY_LIMITS_RATE_LIMITER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/gateway/api/cors.h"

namespace byok::gateway {

// What one Acquire decided, and what to tell the client.
struct RateDecision {
  bool allowed = true;
  // The window's limit, what is left of it after this request, and seconds until it resets.
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_seconds = 0;
  // The window's length in seconds.
  int64_t window_seconds = 0;
  // The shared store could not be asked and the policy is to refuse (RATE_LIMIT_REDIS_FAILURE=closed):
  // not allowed, and no counts to report.
  bool unavailable = false;

  // Returns RateLimit-Policy, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (IETF draft 6, as
  // the original), and Retry-After when refused (only Retry-After: 1 when unavailable).
  HeaderList Headers() const;
};

// Counts requests per key in fixed windows. Implementations are thread-safe.
class Limiter {
 public:
  virtual ~Limiter() = default;

  // Returns true when the limiter does anything.
  virtual bool enabled() const = 0;

  // Counts one request for `key` and says whether it may go ahead. Never call with a raw secret as the
  // key: hash tokens first.
  virtual RateDecision Acquire(absl::string_view key) = 0;
};

// The windows in this process's memory.
class RateLimiter final : public Limiter {
 public:
  using Clock = std::function<absl::Time()>;

  // Allows `limit` requests per `window` per key; `limit` 0 turns the limiter off. `clock` is
  // injectable for tests.
  RateLimiter(int64_t limit, absl::Duration window, size_t max_keys = kDefaultMaxKeys,
              Clock clock = absl::Now);

  bool enabled() const override { return limit_ > 0; }
  RateDecision Acquire(absl::string_view key) override;

  // Returns how many keys are tracked now (for tests of the memory bound).
  size_t TrackedKeys() const;

  static constexpr size_t kDefaultMaxKeys = 100000;

 private:
  struct Window {
    absl::Time start;
    int64_t count = 0;
  };

  // Makes room for one more key: drops expired windows, then arbitrary ones when still full.
  void EvictLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t limit_;
  const absl::Duration window_;
  const size_t max_keys_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
};

// Returns the hex SHA-256 of `token`: the key rate limits use for tokens, never the token itself.
std::string TokenRateKey(absl::string_view token);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_LIMITS_RATE_LIMITER_H_
