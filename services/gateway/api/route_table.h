// The gateway's REST surface as data: every route, its method, path pattern, and the checks that run in
// front of its handler, in order (compat.md §2). The router matches requests against this table and the
// OpenAPI document is generated from it, so the two cannot drift apart.
#ifndef BYOK_SERVICES_GATEWAY_API_ROUTE_TABLE_H_
#define BYOK_SERVICES_GATEWAY_API_ROUTE_TABLE_H_

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace byok::gateway {

// What a route does; the handlers switch on it.
enum class RouteId {
  kHealth,
  kVersion,
  kOpenApiJson,
  kOpenApiYaml,
  kModels,
  kCreateUser,
  kPutKey,
  kRotateKey,
  kDeleteKey,
  kListKeys,
  kRevokeToken,
  kDeleteUser,
  kUserStats,
  kAppStats,
  kUnifiedRelay,
  kProviderRelay,
};

// A check that runs after the route matched and before its handler (the original's per-route
// middleware). Each one answers the request or lets it go on.
enum class Guard {
  kDeepHealthLimit,  // GET /health?deep=1: 10/min per client address (plain probes skip it)
  kAppSecret,        // Authorization: Bearer $APP_SECRET, when APP_SECRET is set
  kRegisterLimit,    // 10/hour per client address
  kToken,            // a relay token is present (the vault checks it with the call itself)
  kVerifiedToken,    // a relay token the vault vouches for (Authenticate), before any relay work
  kRelayMethod,      // GET only on a provider's GET endpoints, else 404 as no route (before the token)
  kPathPrecheck,     // the provider's path allowlist (403, consumes no relay quota)
  kRelayLimit,       // 20/min per token
};

// A route's guards, in order: a small fixed-capacity list usable in a constexpr table.
class GuardList {
 public:
  static constexpr size_t kCapacity = 4;
  constexpr GuardList(std::initializer_list<Guard> guards) {
    for (Guard g : guards) items_[size_++] = g;
  }
  constexpr const Guard* begin() const { return items_; }
  constexpr const Guard* end() const { return items_ + size_; }
  constexpr size_t size() const { return size_; }

 private:
  Guard items_[kCapacity] = {};
  size_t size_ = 0;
};

// One row of the REST table.
struct Route {
  RouteId id;
  // "GET", "POST" or "DELETE". GET routes also answer HEAD.
  const char* method;
  // Path pattern: literal segments, `{name}` for one segment, `{name...}` (last only) for the rest.
  const char* pattern;
  // The checks in front of the handler, in the order they run.
  GuardList guards;
  // One line for the OpenAPI document.
  const char* summary;
};

// Returns every route, in the order the REST table documents them.
absl::Span<const Route> Routes();

// Returns true when `route` needs a relay token (for OpenAPI's security and the token's location).
bool NeedsToken(const Route& route);
// Returns true when `route` is gated by APP_SECRET.
bool NeedsAppSecret(const Route& route);

// The outcome of matching a request against the table.
struct RouteMatch {
  enum class Kind { kFound, kNotFound, kBadParam };
  Kind kind = Kind::kNotFound;
  // The matched route (kFound only).
  const Route* route = nullptr;
  // Path parameters by name, still percent-encoded as the client sent them (kFound only). Every one of
  // them percent-decodes (otherwise the match is kBadParam, the original's 400).
  absl::flat_hash_map<std::string, std::string> params;
  // kBadParam only: the parameter's value that does not decode.
  std::string bad_param;
};

// Matches `method` and `path` (no query string) against Routes() as the original's framework does:
// literal segments case-insensitively, one trailing slash tolerated, HEAD answered by GET routes. Pure;
// thread-safe.
RouteMatch MatchRoute(absl::string_view method, absl::string_view path);

// Returns true when `route` answers `method`.
bool RouteAcceptsMethod(const Route& route, absl::string_view method);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_ROUTE_TABLE_H_
