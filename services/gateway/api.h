// The gateway's request logic, apart from HTTP I/O: CORS, rate limits, authentication and body checks in
// front of every route, then each route translated into vault and relay calls.
#ifndef BYOK_SERVICES_GATEWAY_API_H_
#define BYOK_SERVICES_GATEWAY_API_H_

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "absl/time/time.h"
#include "services/gateway/backends.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/http_types.h"
#include "services/gateway/rate_limiter.h"
#include "services/gateway/route_table.h"

namespace byok::gateway {

// Handles complete requests. Thread-safe: Handle may run on every HTTP thread at once.
class Api {
 public:
  // `backends` must outlive the Api.
  Api(const GatewayConfig& config, Backends& backends);

  // Answers `request` through `writer` (at once, or later from a gRPC callback).
  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer);

 private:
  // A request that passed the checks in front of its route.
  struct Call {
    HttpRequest request;
    std::shared_ptr<ResponseWriter> writer;
    RouteMatch match;
    // The x-relay-token value (token routes).
    std::string token;
    // The parsed body (JSON routes; null otherwise).
    std::shared_ptr<nlohmann::json> body;
  };

  // Checks APP_SECRET's bearer credential in constant time; returns an error response when refused.
  std::optional<HttpResponse> CheckAppSecret(const HttpRequest& request) const;

  void Dispatch(Call call);

  // Routes (handlers_*.cc).
  void Health(Call call);
  void Version(Call call);
  void CreateUser(Call call);
  void PutKey(Call call);
  void RotateKey(Call call);
  void ListKeys(Call call);
  void DeleteKey(Call call);
  void RevokeToken(Call call);
  void DeleteUser(Call call);
  void Stats(Call call, bool app);
  void Models(Call call);
  void UnifiedRelay(Call call);
  void ProviderRelay(Call call);
  std::optional<HttpResponse> ProviderRelayPrecheck(const Call& call);

  const GatewayConfig config_;
  Backends& backends_;
  const absl::Time started_;
  const std::string openapi_;
  RateLimiter global_limit_;
  RateLimiter relay_limit_;
  RateLimiter register_limit_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_H_
