// The gateway's request logic, apart from HTTP I/O: one chain of checks in the original's order
// (compat.md §1 and §2), then each route translated into vault and relay calls.
//
// The chain, as Handle runs it:
//   1. security headers   helmet's defaults, on every response
//   2. CORS               grant headers; any OPTIONS is answered here with 204
//   3. body               JSON parsed (bounded; 400 when malformed), only checked on the relay paths
//                         (they send the bytes on), or raw for /relay/* non-JSON bodies
//                         (413 comes earlier, from the HTTP layer, before the body is read)
//   4. global limit       per client address; 429
//   5. route              404 `Cannot <METHOD> <path>`
//   6. the route's guards (route_table.cc): APP_SECRET, registration limit, token, the vault's word on
//      the token, the provider path precheck, the relay limit, the deep-health limit
//   7. the handler
// A step either lets the request go on or answers it; every answer carries the headers gathered so far
// (security, CORS, and the counts of the last rate limiter that ran).
#ifndef BYOK_SERVICES_GATEWAY_API_API_H_
#define BYOK_SERVICES_GATEWAY_API_API_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "absl/time/time.h"
#include "common/json/json_check.h"
#include "services/gateway/backends/backends.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/http/http_types.h"
#include "services/gateway/limits/rate_limiter.h"
#include "services/gateway/api/request_observer.h"
#include "services/gateway/api/route_table.h"
#include "services/gateway/backends/token_cache.h"

namespace byok::gateway {

// Handles complete requests. Thread-safe: Handle may run on every HTTP thread at once.
class Api {
 public:
  // `backends` must outlive the Api.
  Api(const GatewayConfig& config, Backends& backends);

  // Verifies relay tokens from `cache` first from now on, keeps the vault's answers in it, and drops a
  // token from it as soon as it is revoked or its user deleted here. Call before serving; `cache`
  // outlives this Api.
  void UseTokenCache(TokenCache* cache) { token_cache_ = cache; }

  // Answers `request` through `writer` (at once, or later from a gRPC callback).
  void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer);

  // Answers what the HTTP layer refuses itself (413, 431, 400 for a request it could not read) as the
  // chain answers everything: with the security headers, a request id, an access line and metrics.
  // `origin` is the request's Origin when its head was read, else empty.
  void Refuse(int status, std::string message, absl::string_view origin,
              std::shared_ptr<ResponseWriter> writer);

  // Returns the headers the chain's first steps give every response (security headers and the CORS
  // grant for `origin`).
  HeaderList RefusalHeaders(absl::string_view origin) const;

 private:
  // A request on its way through the chain, then in its handler.
  struct Call {
    HttpRequest request;
    // Every response goes through it; the chain's headers are already added when a handler runs.
    std::shared_ptr<ResponseWriter> writer;
    // The innermost writer: the request's ids, metrics and access log line.
    std::shared_ptr<RequestObserver> observer;
    // What every response to this request carries: security headers, CORS grant, rate-limit counts.
    HeaderList headers;
    // The matched route; its params are still percent-encoded (each one decodes).
    RouteMatch match;
    // The body as JSON, for the routes that read its fields: the object or array of an application/json
    // body, or {} when there is no body or it is not JSON. Null on the relay paths (/relay, /relay/*),
    // which send the bytes on and need no document of them. request.body always holds the bytes as
    // received.
    std::shared_ptr<nlohmann::json> body;
    // Whether the object or array of an application/json body holds anything (on every path, the relay's
    // too); nullopt when the body was not read as JSON (none, another Content-Type, raw /relay/* bytes).
    std::optional<::byok::json::JsonShape> json_shape;
    // Token routes: the relay token (x-relay-token; else Authorization: Bearer).
    std::string token;
    // Relay routes: whose token it is, as the vault's Authenticate said.
    std::string user_id;
    std::string app_id;
  };

  // A step's verdict: nullopt lets the request go on; a response ends it there.
  using Outcome = std::optional<HttpResponse>;
  using Step = Outcome (Api::*)(Call&);

  // Steps 1-5 of the chain (in api.cc, in this order).
  Outcome AddSecurityHeaders(Call& call);
  Outcome ApplyCors(Call& call);
  Outcome ReadBody(Call& call);
  Outcome LimitGlobally(Call& call);
  // The demo page at /demo/ (BYOK_DEMO=1; handlers_demo.cc): static files, before the API's routes.
  Outcome ServeDemo(Call& call);
  Outcome FindRoute(Call& call);

  // Step 6: the route's guards from `next` on, then the handler. Asynchronous where a guard asks the
  // vault.
  void RunGuards(std::shared_ptr<Call> call, size_t next);
  // One synchronous guard.
  Outcome RunGuard(Guard guard, Call& call);
  Outcome LimitDeepHealth(Call& call);
  Outcome CheckAppSecret(Call& call);
  Outcome LimitRegistrations(Call& call);
  Outcome RequireToken(Call& call);
  Outcome LimitRelay(Call& call);
  // Asks the vault whether call->token is valid; `done` gets the 401 (or 503) or nullopt, with user_id
  // and app_id filled in.
  void VerifyToken(std::shared_ptr<Call> call, std::function<void(Outcome)> done);

  // Counts one request against `limiter` under `key`; the counts replace the earlier limiter's in
  // call.headers. Returns the 429 (with `message`) when over the limit, the 503 when the shared limits
  // cannot be asked and RATE_LIMIT_REDIS_FAILURE=closed.
  Outcome Limit(Limiter& limiter, const std::string& key, const char* message, Call& call);
  // The limiter's name for the metrics' `limiter` label.
  const char* LimiterName(const Limiter& limiter) const;
  // Sends `response` with the chain's headers.
  void Reply(Call& call, HttpResponse response);

  // Step 7.
  void Dispatch(Call call);

  // Routes (handlers_*.cc).
  void Health(Call call);
  void Version(Call call);
  void OpenApi(Call call, bool yaml);
  void Models(Call call);
  void CreateUser(Call call);
  void PutKey(Call call);
  void RotateKey(Call call);
  void ListKeys(Call call);
  void DeleteKey(Call call);
  void RevokeToken(Call call);
  void DeleteUser(Call call);
  void Stats(Call call, bool app);
  // GET /stats (by token) or /stats/{app_id}: asks the vault and answers.
  void SendStats(byok::vault::v1::GetStatsRequest request, std::shared_ptr<ResponseWriter> writer, bool app,
                 std::string app_id);
  void UnifiedRelay(Call call);
  void ProviderRelay(Call call);
  // GET on a provider route: 404 `Cannot GET <path>` unless the provider's path is a GET endpoint,
  // before the token (the original has no GET route there). Defined with the relay routes.
  std::optional<HttpResponse> ProviderRelayMethodCheck(const Call& call);
  // The provider route's path allowlist, after the token check and before the relay limiter: returns
  // the 403 for a path the provider does not allow (consuming no relay quota), nullopt otherwise.
  // Defined with the relay routes (handlers_relay.cc).
  std::optional<HttpResponse> ProviderRelayPrecheck(const Call& call);

  const GatewayConfig config_;
  Backends& backends_;
  const absl::Time started_;
  const std::string openapi_json_;
  const std::string openapi_yaml_;
  // In memory, or in Redis when REDIS_URL is set (one connection pool shared by the four).
  std::unique_ptr<Limiter> global_limit_;
  std::unique_ptr<Limiter> deep_health_limit_;
  std::unique_ptr<Limiter> register_limit_;
  std::unique_ptr<Limiter> relay_limit_;
  TokenCache* token_cache_ = nullptr;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_API_H_
