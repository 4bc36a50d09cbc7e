// Unified routing (POST /relay with {"model": ...}) and the routing table shown by DescribeRoutes.
#ifndef BYOK_SERVICES_RELAY_POLICY_ROUTING_H_
#define BYOK_SERVICES_RELAY_POLICY_ROUTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/relay/policy/model_policy.h"

namespace byok::relay {

// A model-name pattern and where matching models go.
struct ModelRouteRule {
  // '*' wildcard pattern on the model name, for example "claude-*".
  std::string pattern;
  std::string provider;
  // Path, with "{model}" standing for the model name (Gemini).
  std::string path;
  // Path used instead when the request asks for a stream; "" when the same as `path`.
  std::string stream_path;
};

// The routing rules for names without a "provider/" prefix, in the order they are tried.
const std::vector<ModelRouteRule>& ModelRouteRules();

// Returns the unified-route path of `provider` ("" when the provider has no unified route).
std::string UnifiedPath(absl::string_view provider, absl::string_view model, bool stream);

// The result of routing a unified request.
struct ResolvedRoute {
  std::string provider;
  // Path with query below the provider's base URL.
  std::string path;
  // Model as the provider knows it (a "provider/" prefix removed).
  std::string model;
  // Body to send (rewritten only when needed: prefix removed, or fields Gemini refuses removed).
  std::string body;
  bool stream = false;
};

// Routes a unified request body. "provider/model" picks that provider (a known provider name only);
// otherwise the first matching rule of ModelRouteRules. InvalidArgument: body not a JSON object, model
// missing, not a string, or invalid (checked before it touches a path). NotFound: no route for the model,
// or a provider without a unified route. PermissionDenied: the model is not in `allowed_models`.
absl::StatusOr<ResolvedRoute> ResolveRoute(absl::string_view body, const ModelAllowlist& allowed_models);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_ROUTING_H_
