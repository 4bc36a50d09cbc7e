#include "services/relay/policy/relay_policy.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/http/headers.h"

namespace byok::relay {

absl::StatusOr<RelayPolicy> RelayPolicy::FromEnv(const Env& env) {
  absl::StatusOr<PolicyConfig> config = PolicyConfig::Load(env);
  if (!config.ok()) return config.status();
  return RelayPolicy(*std::move(config));
}

absl::StatusOr<const ProviderSpec*> RelayPolicy::FindProvider(absl::string_view name) const {
  const ProviderSpec* provider = relay::FindProvider(name);
  if (provider == nullptr) return absl::NotFoundError("unknown provider");
  return provider;
}

absl::StatusOr<ResolvedBaseUrl> RelayPolicy::ResolveBaseUrl(const ProviderSpec& provider,
                                                            absl::string_view client_base_url,
                                                            absl::string_view bound_base_url) const {
  auto override_it = config_.base_url_overrides.find(provider.name);
  if (provider.base_url_from_request) {
    if (!bound_base_url.empty()) {
      // A binding the vault stored; checked like a client's, but its path is kept.
      absl::StatusOr<http::BaseUrl> url = http::ParseBaseUrl(bound_base_url);
      if (!url.ok()) return absl::InvalidArgumentError(kBaseUrlInvalid);
      absl::StatusOr<http::BaseUrl> origin = CheckClientBaseUrl(
          absl::StrCat(url->scheme, "://", url->Authority()), config_.allow_private_upstreams);
      if (!origin.ok()) return origin.status();
      return ResolvedBaseUrl{*std::move(url), !config_.allow_private_upstreams};
    }
    if (client_base_url.empty() && override_it != config_.base_url_overrides.end()) {
      return ResolvedBaseUrl{override_it->second, false};
    }
    absl::StatusOr<http::BaseUrl> url = CheckClientBaseUrl(client_base_url, config_.allow_private_upstreams);
    if (!url.ok()) return url.status();
    return ResolvedBaseUrl{*std::move(url), !config_.allow_private_upstreams};
  }
  if (override_it != config_.base_url_overrides.end()) return ResolvedBaseUrl{override_it->second, false};
  absl::StatusOr<http::BaseUrl> url = http::ParseBaseUrl(provider.default_base_url);
  if (!url.ok()) return absl::InternalError(absl::StrCat("bad built-in base URL for ", provider.name));
  return ResolvedBaseUrl{*std::move(url), false};
}

absl::StatusOr<CheckedRequest> RelayPolicy::Check(absl::string_view provider, ClientRequest& request) const {
  if (request.unified && provider.empty()) return CheckUnifiedRequest(request, config_.allowed_models);
  return CheckRequest(provider, request, config_.allowed_models);
}

absl::StatusOr<UpstreamRequest> RelayPolicy::Prepare(const CheckedRequest& checked, ClientRequest request,
                                                     absl::string_view key,
                                                     absl::string_view client_base_url,
                                                     absl::string_view bound_base_url) const {
  absl::StatusOr<ResolvedBaseUrl> base = ResolveBaseUrl(*checked.provider, client_base_url, bound_base_url);
  if (!base.ok()) return base.status();  // the original checks x-relay-base-url before its override
  if (const auto& test = config_.test_upstream_override; test.has_value()) {
    const std::string* presented = http::FindHeader(request.headers, "x-relay-e2e-base-url-token");
    if (presented != nullptr && presented->size() == test->token.size() &&
        CRYPTO_memcmp(presented->data(), test->token.data(), test->token.size()) == 0) {
      base = ResolvedBaseUrl{test->base_url, false};
    }
  }
  return PrepareRequest(checked, *base, std::move(request), key);
}

absl::StatusOr<UpstreamRequest> RelayPolicy::PrepareKeyCheck(absl::string_view provider_name,
                                                             absl::string_view key,
                                                             absl::string_view client_base_url) const {
  absl::StatusOr<const ProviderSpec*> provider = FindProvider(provider_name);
  if (!provider.ok()) return provider.status();
  absl::StatusOr<ResolvedBaseUrl> base = ResolveBaseUrl(**provider, client_base_url, "");
  if (!base.ok()) return base.status();
  return PrepareKeyCheckRequest(**provider, *base, key);
}

RoutesDescription RelayPolicy::DescribeRoutes() const {
  RoutesDescription d;
  for (const ProviderSpec& p : Providers()) {
    RoutesDescription::Provider info;
    info.name = p.name;
    // The provider's public base URL: an operator's override (an egress proxy, an internal host) is
    // not something the relay tells its callers.
    info.base_url = p.default_base_url;
    info.allowed_paths = p.allowed_prefixes;
    d.providers.push_back(std::move(info));
  }
  for (const ModelPattern& m : ModelPatterns()) {
    d.routes.push_back({std::string(m.source), std::string(m.provider), std::string(m.path)});
  }
  d.allowed_models = config_.allowed_models.patterns();
  return d;
}

}  // namespace byok::relay
