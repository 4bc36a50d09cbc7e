#include "services/gateway/route_table.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace byok::gateway {
namespace {

constexpr Route kRoutes[] = {
    {RouteId::kHealth, "GET", "/health", Auth::kNone,
     "Readiness of the gateway and its vault and relay", false},
    {RouteId::kVersion, "GET", "/version", Auth::kNone, "Build information", false},
    {RouteId::kOpenApi, "GET", "/openapi.json", Auth::kNone, "This OpenAPI document", false},
    {RouteId::kCreateUser, "POST", "/users", Auth::kAppSecret,
     "Registers a user for an app and returns its token (shown once)", true},
    {RouteId::kPutKey, "POST", "/keys/{provider}", Auth::kToken,
     "Stores (or replaces) the user's key for a provider", true},
    {RouteId::kRotateKey, "POST", "/keys/{provider}/rotate", Auth::kToken,
     "Replaces the user's key after the provider accepted the new one", true},
    {RouteId::kListKeys, "GET", "/keys", Auth::kToken,
     "Lists the providers the user holds keys for; never a key", false},
    {RouteId::kDeleteKey, "DELETE", "/keys/{provider}", Auth::kToken,
     "Deletes the user's key for a provider", false},
    {RouteId::kRevokeToken, "POST", "/tokens/revoke", Auth::kToken,
     "Makes the token unusable at once", false},
    {RouteId::kDeleteUser, "DELETE", "/users", Auth::kToken,
     "Erases the user, their keys and usage records", false},
    {RouteId::kUserStats, "GET", "/stats", Auth::kToken, "Usage statistics for the user", false},
    {RouteId::kAppStats, "GET", "/stats/{app_id}", Auth::kAppSecret,
     "Usage statistics for every user of an app", false},
    {RouteId::kModels, "GET", "/models", Auth::kNone,
     "Providers, the model routing table and the model allowlist", false},
    {RouteId::kUnifiedRelay, "POST", "/relay", Auth::kToken,
     "Unified route: the body's model picks the provider and path", true},
    {RouteId::kProviderRelay, "*", "/relay/{provider}/{path...}", Auth::kToken,
     "Relays the request to the provider; the response streams back as it arrives", false},
};

std::vector<absl::string_view> Segments(absl::string_view path) {
  // A leading "/" gives an empty first piece; an empty trailing piece stays (it matters for "a/").
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (!parts.empty() && parts.front().empty()) parts.erase(parts.begin());
  return parts;
}

// Matches the path's segments against one pattern, filling `params` on success.
bool MatchPattern(absl::string_view pattern, const std::vector<absl::string_view>& segments,
                  absl::string_view path, absl::flat_hash_map<std::string, std::string>* params) {
  std::vector<absl::string_view> want = Segments(pattern);
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    absl::string_view w = want[i];
    bool is_param = absl::StartsWith(w, "{") && absl::EndsWith(w, "}");
    if (is_param && absl::EndsWith(w, "...}")) {
      // The rest of the path, raw: everything after the previous segments, at least one character.
      if (i >= segments.size()) return false;
      size_t offset = static_cast<size_t>(segments[i].data() - path.data());
      absl::string_view rest = path.substr(offset);
      if (rest.empty()) return false;
      (*params)[std::string(w.substr(1, w.size() - 5))] = std::string(rest);
      return true;
    }
    if (i >= segments.size()) return false;
    if (is_param) {
      if (segments[i].empty()) return false;
      (*params)[std::string(w.substr(1, w.size() - 2))] = std::string(segments[i]);
    } else if (segments[i] != w) {
      return false;
    }
  }
  return segments.size() == want.size();
}

}  // namespace

absl::Span<const Route> Routes() { return kRoutes; }

bool RouteAcceptsMethod(const Route& route, absl::string_view method) {
  if (absl::string_view(route.method) == "*") {
    return std::any_of(std::begin(kAnyMethods), std::end(kAnyMethods),
                       [&](const char* m) { return method == m; });
  }
  return method == route.method;
}

RouteMatch MatchRoute(absl::string_view method, absl::string_view path) {
  RouteMatch result;
  std::vector<absl::string_view> segments = Segments(path);
  absl::flat_hash_map<std::string, std::string> params;
  for (const Route& route : kRoutes) {
    if (!MatchPattern(route.pattern, segments, path, &params)) continue;
    if (RouteAcceptsMethod(route, method)) {
      result.kind = RouteMatch::Kind::kFound;
      result.route = &route;
      result.params = std::move(params);
      result.allowed_methods.clear();
      return result;
    }
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
    if (absl::string_view(route.method) == "*") {
      for (const char* m : kAnyMethods) result.allowed_methods.emplace_back(m);
    } else {
      result.allowed_methods.emplace_back(route.method);
    }
  }
  return result;
}

}  // namespace byok::gateway
