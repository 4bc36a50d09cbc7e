// Makes the gateway's rate limiters: in this process's memory, or in Redis (all sharing one connection
// pool) when REDIS_URL is set.
#ifndef BYOK_SERVICES_GATEWAY_LIMITS_LIMITER_FACTORY_H_
#define BYOK_SERVICES_GATEWAY_LIMITS_LIMITER_FACTORY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/limits/rate_limiter.h"
#include "services/gateway/limits/redis_pool.h"

namespace byok::gateway {

class LimiterFactory {
 public:
  // The Redis pool holds up to BYOK_GATEWAY_THREADS + kExtraConnections connections: one per HTTP
  // thread, plus gRPC callback threads (the relay limit runs after the vault's token check).
  explicit LimiterFactory(const GatewayConfig& config);

  // `name` keeps this limiter's windows apart from the others' in Redis.
  std::unique_ptr<Limiter> Make(const std::string& name, int64_t limit, absl::Duration window) const;

  static constexpr size_t kExtraConnections = 4;

 private:
  std::shared_ptr<RedisPool> pool_;  // null: in memory
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_LIMITS_LIMITER_FACTORY_H_
