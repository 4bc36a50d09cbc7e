#include "services/gateway/api/route_table.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace byok::gateway {
namespace {

using G = Guard;

// compat.md §2, row by row. The relay routes take their token from the vault before anything else runs.
constexpr Route kRoutes[] = {
    {RouteId::kHealth, "GET", "/health", {G::kDeepHealthLimit},
     "Readiness of the gateway and its vault and relay (`?deep=1` also pings a provider)"},
    {RouteId::kVersion, "GET", "/version", {}, "Build information"},
    {RouteId::kOpenApiJson, "GET", "/openapi.json", {}, "This OpenAPI document (JSON)"},
    {RouteId::kOpenApiYaml, "GET", "/openapi.yaml", {}, "This OpenAPI document (YAML)"},
    {RouteId::kModels, "GET", "/models", {},
     "Providers, the model routing table and the model allowlist"},
    {RouteId::kCreateUser, "POST", "/users", {G::kAppSecret, G::kRegisterLimit},
     "Registers a user for an app and returns its token (shown once)"},
    {RouteId::kPutKey, "POST", "/keys/{provider}", {G::kToken},
     "Stores (or replaces) the user's key for a provider"},
    {RouteId::kRotateKey, "POST", "/keys/{provider}/rotate", {G::kToken},
     "Replaces the user's key after the provider accepted the new one"},
    {RouteId::kDeleteKey, "DELETE", "/keys/{provider}", {G::kToken},
     "Deletes the user's key for a provider"},
    {RouteId::kListKeys, "GET", "/keys", {G::kToken},
     "Lists the providers the user holds keys for; never a key"},
    {RouteId::kRevokeToken, "POST", "/tokens/revoke", {G::kToken}, "Makes the token unusable at once"},
    {RouteId::kDeleteUser, "DELETE", "/users", {G::kToken},
     "Erases the user, their keys and usage records"},
    {RouteId::kUserStats, "GET", "/stats", {G::kToken}, "Usage statistics for the user"},
    {RouteId::kAppStats, "GET", "/stats/{app_id}", {G::kAppSecret},
     "Usage statistics for every user of an app (operator)"},
    {RouteId::kUnifiedRelay, "POST", "/relay", {G::kVerifiedToken, G::kRelayLimit},
     "Unified route: the body's model picks the provider and path"},
    {RouteId::kProviderRelay, "POST", "/relay/{provider}/{path...}",
     {G::kVerifiedToken, G::kPathPrecheck, G::kRelayLimit},
     "Relays the request to the provider; the response streams back as it arrives"},
    {RouteId::kProviderRelay, "GET", "/relay/{provider}/{path...}",
     {G::kRelayMethod, G::kVerifiedToken, G::kPathPrecheck, G::kRelayLimit},
     "Relays a GET to the provider, where the provider's allowed path is a GET endpoint"},
};

std::vector<absl::string_view> Segments(absl::string_view path) {
  // A leading "/" gives an empty first piece; an empty trailing piece stays (it matters for "a/").
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (!parts.empty() && parts.front().empty()) parts.erase(parts.begin());
  return parts;
}

bool IsHex(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

// True when every '%' in `value` starts a %XX escape (what decodeURIComponent needs).
bool Decodes(absl::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') continue;
    if (i + 2 >= value.size()) return false;
    if (!IsHex(value[i + 1]) || !IsHex(value[i + 2])) return false;
    i += 2;
  }
  return true;
}

// Matches the path's segments against one pattern, filling `params` on success.
bool MatchPattern(absl::string_view pattern, std::vector<absl::string_view> segments,
                  absl::string_view path, absl::flat_hash_map<std::string, std::string>* params) {
  std::vector<absl::string_view> want = Segments(pattern);
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    absl::string_view w = want[i];
    bool is_param = absl::StartsWith(w, "{") && absl::EndsWith(w, "}");
    if (is_param && absl::EndsWith(w, "...}")) {
      // The rest of the path, raw, possibly empty ("/relay/openai/" forwards "/").
      if (i >= segments.size()) return false;
      size_t offset = static_cast<size_t>(segments[i].data() - path.data());
      (*params)[std::string(w.substr(1, w.size() - 5))] = std::string(path.substr(offset));
      return true;
    }
    if (i >= segments.size()) return false;
    if (is_param) {
      if (segments[i].empty()) return false;
      (*params)[std::string(w.substr(1, w.size() - 2))] = std::string(segments[i]);
    } else if (!absl::EqualsIgnoreCase(segments[i], w)) {
      return false;
    }
  }
  // One trailing slash is tolerated ("/keys/" is "/keys").
  if (segments.size() == want.size() + 1 && segments.back().empty()) segments.pop_back();
  return segments.size() == want.size();
}

}  // namespace

absl::Span<const Route> Routes() { return kRoutes; }

bool NeedsToken(const Route& route) {
  return std::any_of(route.guards.begin(), route.guards.end(),
                     [](Guard g) { return g == Guard::kToken || g == Guard::kVerifiedToken; });
}

bool NeedsAppSecret(const Route& route) {
  return std::any_of(route.guards.begin(), route.guards.end(),
                     [](Guard g) { return g == Guard::kAppSecret; });
}

bool RouteAcceptsMethod(const Route& route, absl::string_view method) {
  if (method == route.method) return true;
  return method == "HEAD" && absl::string_view(route.method) == "GET" &&
         route.id != RouteId::kProviderRelay;
}

RouteMatch MatchRoute(absl::string_view method, absl::string_view path) {
  RouteMatch result;
  std::vector<absl::string_view> segments = Segments(path);
  absl::flat_hash_map<std::string, std::string> params;
  for (const Route& route : kRoutes) {
    if (!RouteAcceptsMethod(route, method)) continue;
    if (!MatchPattern(route.pattern, segments, path, &params)) continue;
    for (const auto& [name, value] : params) {
      if (!Decodes(value)) {
        result.kind = RouteMatch::Kind::kBadParam;
        result.bad_param = value;
        return result;
      }
    }
    result.kind = RouteMatch::Kind::kFound;
    result.route = &route;
    result.params = std::move(params);
    return result;
  }
  return result;
}

}  // namespace byok::gateway
