// The gateway's REST surface as data: every route, its method, path pattern and authentication. The router
// matches requests against this table and the OpenAPI document is generated from it, so the two cannot
// drift apart.
#ifndef BYOK_SERVICES_GATEWAY_ROUTE_TABLE_H_
#define BYOK_SERVICES_GATEWAY_ROUTE_TABLE_H_

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
  kOpenApi,
  kCreateUser,
  kPutKey,
  kRotateKey,
  kListKeys,
  kDeleteKey,
  kRevokeToken,
  kDeleteUser,
  kUserStats,
  kAppStats,
  kModels,
  kUnifiedRelay,
  kProviderRelay,
};

// Who may call a route.
enum class Auth {
  kNone,       // anyone
  kToken,      // an `x-relay-token` header holding a user's token
  kAppSecret,  // `Authorization: Bearer $APP_SECRET` (when APP_SECRET is set)
};

// One row of the REST table.
struct Route {
  RouteId id;
  // "GET", "POST", "DELETE"; "*" for any of kAnyMethods.
  const char* method;
  // Path pattern: literal segments, `{name}` for one segment, `{name...}` (last only) for the rest.
  const char* pattern;
  Auth auth;
  // One line for the OpenAPI document.
  const char* summary;
  // True when the route takes a JSON request body.
  bool json_body;
};

// The methods a "*" route answers.
inline constexpr const char* kAnyMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// Returns every route, in the order the REST table documents them.
absl::Span<const Route> Routes();

// The outcome of matching a request against the table.
struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  // The matched route (kFound only).
  const Route* route = nullptr;
  // Path parameters by name, still percent-encoded as the client sent them (kFound only).
  absl::flat_hash_map<std::string, std::string> params;
  // Methods the path accepts (kMethodNotAllowed only), for the `Allow` header.
  std::vector<std::string> allowed_methods;
};

// Matches `method` and `path` (no query string) against Routes(). Pure; thread-safe.
RouteMatch MatchRoute(absl::string_view method, absl::string_view path);

// Returns true when `route` answers `method`.
bool RouteAcceptsMethod(const Route& route, absl::string_view method);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_ROUTE_TABLE_H_
