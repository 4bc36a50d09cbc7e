#include "services/gateway/limits/limiter_factory.h"

#include "common/logging.h"
#include "services/gateway/limits/redis_rate_limiter.h"

namespace byok::gateway {

LimiterFactory::LimiterFactory(const GatewayConfig& config) {
  if (!config.redis.has_value()) return;
  size_t connections = static_cast<size_t>(config.threads) + kExtraConnections;
  pool_ = std::make_shared<RedisPool>(*config.redis, connections);
  log::Info("gateway", "rate limits in Redis at %s db %d (timeout %d ms, up to %d connections, fail %s)",
            config.redis->endpoint.Describe(), config.redis->endpoint.db,
            absl::ToInt64Milliseconds(config.redis->timeout), connections,
            config.redis->on_failure == RedisFailurePolicy::kOpen ? "open" : "closed");
}

std::unique_ptr<Limiter> LimiterFactory::Make(const std::string& name, int64_t limit,
                                              absl::Duration window) const {
  if (pool_ == nullptr) return std::make_unique<RateLimiter>(limit, window);
  return std::make_unique<RedisRateLimiter>(pool_, name, limit, window);
}

}  // namespace byok::gateway
