#include "services/relay/policy/prepared_request.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/path.h"
#include "common/json/json_nesting.h"
#include "services/relay/policy/forward_path.h"
#include "services/relay/policy/json_splice.h"
#include "services/relay/policy/routing.h"
#include "services/relay/policy/ssrf_guard.h"

namespace byok::relay {
namespace {

constexpr absl::string_view kDefaultReferer = "https://github.com/avikalpg/byok-relay";

// The key goes into a header: anything that could split or end that header is refused.
absl::Status CheckKey(absl::string_view key) {
  if (key.empty()) return absl::FailedPreconditionError("no key stored for this provider");
  if (!http::IsValidHeaderValue(key) || key.front() == ' ' || key.back() == ' ' || key.front() == '\t' ||
      key.back() == '\t') {
    return absl::InvalidArgumentError("the stored key contains characters that cannot be sent in a header");
  }
  return absl::OkStatus();
}

// A client header's value with CR, LF and NUL removed; nullopt when absent or empty.
std::optional<std::string> ClientHeader(const std::vector<http::HeaderField>& headers, absl::string_view name) {
  const std::string* value = http::FindHeader(headers, name);
  if (value == nullptr) return std::nullopt;
  std::string clean;
  clean.reserve(value->size());
  for (char c : *value) {
    if (c != '\r' && c != '\n' && c != '\0') clean.push_back(c);
  }
  if (clean.empty()) return std::nullopt;
  return clean;
}

void FillOrigin(const ResolvedBaseUrl& base, UpstreamRequest& out) {
  out.tls = base.url.tls();
  out.host = base.url.host;
  out.port = base.url.port;
  out.host_header = base.url.Authority();
}

void AddKey(const ProviderSpec& provider, absl::string_view key, UpstreamRequest& out) {
  out.headers.push_back({provider.key_header, absl::StrCat(provider.key_prefix, key)});
}

// The body with its top-level "model" naming `routed`: only the model's bytes change (key order,
// spacing and number spelling stay the client's). `doc` is the parsed `body`.
std::string WithRoutedModel(std::string body, const nlohmann::json& doc, const std::string& routed) {
  const std::string value = nlohmann::json(routed).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (std::optional<std::string> spliced = ReplaceTopLevelValue(body, "model", value)) return *std::move(spliced);
  nlohmann::json copy = doc;  // not reached for a parsed object with "model"; kept whole all the same
  copy["model"] = routed;
  return copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string UnsupportedProviderMessage(absl::string_view provider) {
  return absl::StrCat("Unsupported provider: ", provider);
}

std::string PathNotPermittedMessage(absl::string_view forward_path, absl::string_view provider) {
  return absl::StrCat("Path \"", forward_path, "\" is not permitted for provider \"", provider,
                      "\". Only inference endpoints are allowed.");
}

std::string NoKeyMessage(absl::string_view provider) {
  return absl::StrCat("No API key stored for provider \"", provider, "\". POST /keys/", provider, " first.");
}

absl::StatusOr<CheckedRequest> CheckRequest(absl::string_view provider_name, const ClientRequest& request,
                                            const ModelAllowlist& allowed_models) {
  CheckedRequest out;
  out.provider = FindProvider(provider_name);
  if (out.provider == nullptr) return absl::InvalidArgumentError(UnsupportedProviderMessage(provider_name));
  const ProviderSpec& provider = *out.provider;
  out.forward_path = request.unified ? request.path : ComputeForwardPath(request.path);
  // Unified paths come from routing and are always allowed ones; checked all the same, so no caller of
  // the RPC can send a key elsewhere.
  if (!ForwardPathAllowed(provider, out.forward_path)) {
    return absl::PermissionDeniedError(PathNotPermittedMessage(out.forward_path, provider.name));
  }
  if (!request.unified) {
    if (!MethodAllowed(provider, request.method, out.forward_path)) {
      return absl::NotFoundError(absl::StrCat("Cannot ", request.method, " ", out.forward_path));
    }
  }
  const std::string* content_type = http::FindHeader(request.headers, "content-type");
  out.json_body = request.unified ||
                  (content_type != nullptr && absl::StrContains(absl::AsciiStrToLower(*content_type), "application/json"));
  JsonBodyFacts facts;
  if (out.json_body && !request.body.empty()) facts = ReadJsonBody(request.body);
  out.stream = facts.stream;

  if (request.unified) {
    out.logged_model = request.raw_model;
    if (!allowed_models.AllowsUnifiedModel(request.raw_model)) {
      return absl::PermissionDeniedError(NotPermittedMessage(request.raw_model));
    }
    return out;
  }
  out.logged_model = facts.model;
  std::optional<std::string> model = facts.model;
  if (provider.model_source == ModelSource::kGeminiPath) {
    if (std::optional<std::string> from_path = ModelFromGeminiPath(out.forward_path)) model = from_path;
  }
  if (!allowed_models.AllowsProviderModel(provider.name, model)) {
    return absl::PermissionDeniedError(NotPermittedMessage(*model));
  }
  return out;
}

absl::StatusOr<CheckedRequest> CheckUnifiedRequest(ClientRequest& request, const ModelAllowlist& allowed_models) {
  std::optional<nlohmann::json> doc =
      request.body.empty() ? nlohmann::json::object() : ::byok::json::ParseBounded(request.body);
  if (!doc.has_value()) return absl::InvalidArgumentError("the request body is not valid JSON");
  absl::StatusOr<UnifiedRoute> route = RouteUnified(*doc);
  if (!route.ok()) return route.status();
  request.raw_model = doc->find("model")->get<std::string>();  // RouteUnified routes only a string

  CheckedRequest out;
  out.provider = FindProvider(route->provider);
  if (out.provider == nullptr) return absl::InvalidArgumentError(UnsupportedProviderMessage(route->provider));
  out.forward_path = std::move(route->path);
  // Routing only chooses allowed paths; checked all the same, as for every other request.
  if (!ForwardPathAllowed(*out.provider, out.forward_path)) {
    return absl::PermissionDeniedError(PathNotPermittedMessage(out.forward_path, out.provider->name));
  }
  out.json_body = true;
  out.stream = route->stream;
  out.logged_model = request.raw_model;
  if (!allowed_models.AllowsUnifiedModel(request.raw_model)) {
    return absl::PermissionDeniedError(NotPermittedMessage(request.raw_model));
  }
  if (route->name != request.raw_model) request.body = WithRoutedModel(std::move(request.body), *doc, route->name);
  return out;
}

absl::StatusOr<UpstreamRequest> PrepareRequest(const CheckedRequest& checked, const ResolvedBaseUrl& base,
                                               ClientRequest request, absl::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  const ProviderSpec& provider = *checked.provider;
  UpstreamRequest out;
  FillOrigin(base, out);
  if (base.check_addresses) {
    // A client-chosen host: every address it resolves to must be public (compat.md §5's last two checks).
    out.address_guard = [](const std::string& address) {
      if (CheckAddress(address).ok()) return absl::OkStatus();
      return absl::InvalidArgumentError(kBaseUrlResolvesPrivate);
    };
    out.resolve_failure = absl::InvalidArgumentError(kBaseUrlUnresolved);
  }
  out.method = absl::AsciiStrToUpper(request.method);

  std::string query = request.unified ? "" : request.query;
  if (provider.name == "google") {
    // A key never travels in a URL: a client's Gemini key= parameter is dropped.
    query = http::RemoveQueryParam(query, "key");
    // Gemini streams SSE only when asked with alt=sse, which the original adds on "stream" paths.
    size_t q = checked.forward_path.find('?');
    std::string all = absl::StrCat("&", q == std::string::npos ? "" : checked.forward_path.substr(q + 1),
                                   "&", query);
    if (absl::StrContains(checked.forward_path, "stream") && !absl::StrContains(all, "&alt=")) {
      absl::StrAppend(&query, query.empty() ? "" : "&", "alt=sse");
    }
  }
  out.target = UpstreamTarget(base.url.base_path, checked.forward_path, query);

  // The closed list of compat.md §4: nothing else of the client's reaches the provider.
  std::optional<std::string> content_type = ClientHeader(request.headers, "content-type");
  if (!checked.json_body && content_type.has_value()) {
    out.headers.push_back({"content-type", *content_type});
  } else if (provider.client_content_type && content_type.has_value()) {
    out.headers.push_back({"content-type", *content_type});
  } else {
    out.headers.push_back({"content-type", "application/json"});
  }
  if (provider.name == "anthropic") {
    out.headers.push_back(
        {"anthropic-version", ClientHeader(request.headers, "anthropic-version").value_or("2023-06-01")});
    // Forwarded (a fix: the original dropped it, so beta features could not be used).
    if (auto beta = ClientHeader(request.headers, "anthropic-beta")) out.headers.push_back({"anthropic-beta", *beta});
  }
  if (provider.name == "openrouter") {
    std::optional<std::string> referer = ClientHeader(request.headers, "http-referer");
    if (!referer.has_value()) referer = ClientHeader(request.headers, "x-relay-referer");
    out.headers.push_back({"http-referer", referer.value_or(std::string(kDefaultReferer))});
    if (auto title = ClientHeader(request.headers, "x-title")) out.headers.push_back({"x-title", *title});
  }
  AddKey(provider, key, out);
  out.body = std::move(request.body);
  return out;
}

absl::StatusOr<UpstreamRequest> PrepareKeyCheckRequest(const ProviderSpec& provider,
                                                       const ResolvedBaseUrl& base, absl::string_view key) {
  const providers::ProviderInfo* info = providers::Find(provider.name);
  if (info == nullptr || info->verify_path.empty()) {
    return absl::FailedPreconditionError("this provider has no key verification");
  }
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  UpstreamRequest out;
  FillOrigin(base, out);
  if (base.check_addresses) {
    out.address_guard = [](const std::string& address) { return CheckAddress(address); };
  }
  out.method = "GET";
  out.target = absl::StrCat(base.url.base_path, info->verify_path);
  out.headers.push_back({"accept", "application/json"});
  for (const auto& [name, value] : info->verify_headers) {
    if (!name.empty()) out.headers.push_back({std::string(name), std::string(value)});
  }
  AddKey(provider, key, out);
  return out;
}

KeyCheckVerdict InterpretKeyCheckStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) return KeyCheckVerdict::kValid;
  if (http_status == 401 || http_status == 403) return KeyCheckVerdict::kInvalid;
  return KeyCheckVerdict::kUnknown;
}

}  // namespace byok::relay
