// The relay's decisions in one object: the I/O layer (reactors, upstream client) calls this and does
// only I/O. Immutable after construction; every method is const and thread-safe.
#ifndef BYOK_SERVICES_RELAY_POLICY_RELAY_POLICY_H_
#define BYOK_SERVICES_RELAY_POLICY_RELAY_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "services/relay/policy/policy_config.h"
#include "services/relay/policy/prepared_request.h"
#include "services/relay/policy/response_mode.h"
#include "services/relay/policy/provider_table.h"
#include "services/relay/policy/routing.h"
#include "services/relay/policy/ssrf_guard.h"

namespace byok::relay {

// What DescribeRoutes shows.
struct RoutesDescription {
  struct Provider {
    std::string name;
    // Effective base URL ("" for openai-compatible without an operator override).
    std::string base_url;
    std::vector<std::string> allowed_paths;
  };
  struct Route {
    // The original's regex source (case-insensitive), provider, forward path ("" for google: dynamic).
    std::string pattern;
    std::string provider;
    std::string path;
  };
  std::vector<Provider> providers;
  std::vector<Route> routes;
  std::vector<std::string> allowed_models;
};

class RelayPolicy {
 public:
  // Loads the configuration from `env` (see PolicyConfig::Load).
  static absl::StatusOr<RelayPolicy> FromEnv(const Env& env);
  explicit RelayPolicy(PolicyConfig config) : config_(std::move(config)) {}

  const PolicyConfig& config() const { return config_; }

  // Returns the provider's row, or NotFound ("unknown provider").
  absl::StatusOr<const ProviderSpec*> FindProvider(absl::string_view name) const;

  // Chooses where a request for `provider` goes. For openai-compatible: `bound_base_url` (the key's
  // binding) when set, else `client_base_url` (x-relay-base-url, checked by CheckClientBaseUrl; only its
  // origin is used), else the operator override, else InvalidArgument kBaseUrlRequired. Client and
  // bound URLs need their resolved addresses checked unless private upstreams are allowed. Other
  // providers: the operator override, else the default; `client_base_url` is ignored.
  absl::StatusOr<ResolvedBaseUrl> ResolveBaseUrl(const ProviderSpec& provider,
                                                 absl::string_view client_base_url,
                                                 absl::string_view bound_base_url) const;

  // Everything decided before the key is looked up, with the configured allowlist: CheckUnifiedRequest
  // for a unified request without a provider (the relay routes it: `request` gets the raw model and the
  // routed body), else CheckRequest (the provider route, and a unified request its caller routed).
  absl::StatusOr<CheckedRequest> Check(absl::string_view provider, ClientRequest& request) const;

  // ResolveBaseUrl + PrepareRequest: what is decided once the key is known.
  absl::StatusOr<UpstreamRequest> Prepare(const CheckedRequest& checked, ClientRequest request,
                                          absl::string_view key, absl::string_view client_base_url,
                                          absl::string_view bound_base_url) const;

  // FindProvider + ResolveBaseUrl + PrepareKeyCheckRequest.
  absl::StatusOr<UpstreamRequest> PrepareKeyCheck(absl::string_view provider, absl::string_view key,
                                                  absl::string_view client_base_url) const;

  // Returns the providers (with effective base URLs), routing rules and allowlist.
  RoutesDescription DescribeRoutes() const;

 private:
  PolicyConfig config_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_RELAY_POLICY_H_
