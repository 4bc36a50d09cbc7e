// Fixed windows kept in Redis, shared by every gateway replica that names the same Redis (REDIS_URL).
//
// One round trip per request: a Lua script (EVALSHA) counts the hit (INCR), starts the window on the
// first one (PEXPIRE) and returns the count and the window's remaining time, so the RateLimit-* headers
// are exactly those of the in-memory RateLimiter. Keys are `byok:rl:<limiter>:<hash>`: the identifier
// (client address, token hash) is hashed again, never stored in clear. When Redis cannot answer within
// its timeout the decision follows RedisSettings::on_failure.
#ifndef BYOK_SERVICES_GATEWAY_LIMITS_REDIS_RATE_LIMITER_H_
#define BYOK_SERVICES_GATEWAY_LIMITS_REDIS_RATE_LIMITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "services/gateway/limits/rate_limiter.h"
#include "services/gateway/limits/redis_pool.h"

namespace byok::gateway {

class RedisRateLimiter final : public Limiter {
 public:
  // `name` tells this limiter's windows apart from the others' in Redis (e.g. "global", "relay").
  // `limit` 0 turns it off.
  RedisRateLimiter(std::shared_ptr<RedisPool> pool, std::string name, int64_t limit,
                   absl::Duration window);

  bool enabled() const override { return limit_ > 0; }
  RateDecision Acquire(absl::string_view key) override;

  // The Redis key that counts `key`'s requests.
  std::string RedisKey(absl::string_view key) const;

 private:
  const std::shared_ptr<RedisPool> pool_;
  const std::string name_;
  const int64_t limit_;
  const absl::Duration window_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_LIMITS_REDIS_RATE_LIMITER_H_
