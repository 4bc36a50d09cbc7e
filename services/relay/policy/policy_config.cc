#include "services/relay/policy/policy_config.h"

#include "absl/strings/str_cat.h"
#include "services/relay/policy/provider_table.h"

namespace byok::relay {

absl::StatusOr<PolicyConfig> PolicyConfig::Load(const Env& env) {
  PolicyConfig config;
  config.allowed_models = ModelAllowlist::Parse(env.GetString("ALLOWED_MODELS", ""));

  for (const ProviderSpec& provider : Providers()) {
    std::string name = BaseUrlEnvName(provider.name);
    std::optional<std::string> value = env.Get(name);
    if (!value.has_value()) continue;
    // The message names the variable and the problem, not the value (it could hold a secret).
    absl::StatusOr<http::BaseUrl> url = http::ParseBaseUrl(*value);
    if (!url.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", url.status().message()));
    }
    config.base_url_overrides.emplace(provider.name, *std::move(url));
  }

  absl::StatusOr<bool> allow_private = env.GetBool("BYOK_ALLOW_PRIVATE_UPSTREAMS", false);
  if (!allow_private.ok()) return allow_private.status();
  config.allow_private_upstreams = *allow_private;

  if (env.GetString("NODE_ENV", "") == "test") {
    std::string url = env.GetString("E2E_OPENAI_COMPATIBLE_BASE_URL", "");
    std::string token = env.GetString("E2E_OPENAI_COMPATIBLE_BASE_URL_TOKEN", "");
    if (!url.empty() && !token.empty()) {
      absl::StatusOr<http::BaseUrl> parsed = http::ParseBaseUrl(url);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("E2E_OPENAI_COMPATIBLE_BASE_URL: ", parsed.status().message()));
      }
      config.test_upstream_override = TestUpstreamOverride{*std::move(parsed), std::move(token)};
    }
  }
  return config;
}

}  // namespace byok::relay
