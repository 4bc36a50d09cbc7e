// The relay's policy configuration, read once at start-up from the environment.
#ifndef BYOK_SERVICES_RELAY_POLICY_POLICY_CONFIG_H_
#define BYOK_SERVICES_RELAY_POLICY_POLICY_CONFIG_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/env.h"
#include "common/http/url.h"
#include "services/relay/policy/model_policy.h"

namespace byok::relay {

// Immutable after loading; safe to share between threads.
struct PolicyConfig {
  // ALLOWED_MODELS.
  ModelAllowlist allowed_models;
  // BYOK_PROVIDER_<NAME>_BASE_URL, by provider name. Trusted operator settings: http or https, no SSRF check.
  absl::flat_hash_map<std::string, http::BaseUrl> base_url_overrides;
  // BYOK_ALLOW_PRIVATE_UPSTREAMS: lets client base URLs use http and reach private addresses.
  bool allow_private_upstreams = false;

  // The original's test-only upstream override (compat.md §4), so its own end-to-end cases run
  // against this relay: with NODE_ENV=test and both E2E_OPENAI_COMPATIBLE_BASE_URL and
  // E2E_OPENAI_COMPATIBLE_BASE_URL_TOKEN set, a request whose x-relay-e2e-base-url-token equals the
  // token goes to that base URL, for every provider. Never set outside NODE_ENV=test.
  struct TestUpstreamOverride {
    http::BaseUrl base_url;
    std::string token;
  };
  std::optional<TestUpstreamOverride> test_upstream_override;

  // Reads ALLOWED_MODELS, BYOK_PROVIDER_<NAME>_BASE_URL for every provider of the table,
  // BYOK_ALLOW_PRIVATE_UPSTREAMS and the test-only override. InvalidArgument naming the variable (not its value) for a bad value.
  static absl::StatusOr<PolicyConfig> Load(const Env& env);
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_POLICY_CONFIG_H_
