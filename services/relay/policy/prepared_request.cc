#include "services/relay/policy/prepared_request.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/http/path.h"

namespace byok::relay {
namespace {

// Largest body parsed only to label usage records with a model (no allowlist set).
constexpr size_t kMaxBodyScanForUsage = 256 * 1024;

absl::StatusOr<std::string> CheckMethod(const ProviderSpec& provider, absl::string_view method) {
  std::string upper = absl::AsciiStrToUpper(method);
  bool known = std::find(std::begin(kAllowedMethods), std::end(kAllowedMethods), upper) !=
               std::end(kAllowedMethods);
  if (!known) return absl::InvalidArgumentError("unsupported HTTP method");
  if (std::find(provider.methods.begin(), provider.methods.end(), upper) == provider.methods.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("method ", upper, " is not allowed for provider ", provider.name));
  }
  return upper;
}

// The key goes into a header: anything that could split or end that header is refused.
absl::Status CheckKey(absl::string_view key) {
  if (key.empty()) return absl::FailedPreconditionError("no key stored for this provider");
  if (!http::IsValidHeaderValue(key) || key.front() == ' ' || key.back() == ' ' || key.front() == '\t' ||
      key.back() == '\t') {
    return absl::InvalidArgumentError("the stored key contains characters that cannot be sent in a header");
  }
  return absl::OkStatus();
}

// Fills the connection fields of `out` from `base`.
void FillOrigin(const ProviderSpec& provider, const ResolvedBaseUrl& base, PreparedRequest& out) {
  out.provider = provider.name;
  out.tls = base.url.tls();
  out.host = base.url.host;
  out.port = base.url.port;
  out.sni = base.url.host_kind == http::HostKind::kName ? base.url.host : "";
  out.host_header = base.url.Authority();
  out.check_addresses = base.check_addresses;
}

// Appends the provider's default headers the client did not send, then the key.
void AddDefaultsAndKey(const ProviderSpec& provider, absl::string_view key, PreparedRequest& out) {
  for (const DefaultHeader& d : provider.default_headers) {
    if (http::FindHeader(out.headers, d.name) == nullptr) out.headers.push_back({d.name, d.value});
  }
  out.key_header_index = out.headers.size();
  out.headers.push_back({provider.key_header, absl::StrCat(provider.key_prefix, key)});
}

}  // namespace

absl::StatusOr<PreparedRequest> PrepareRequest(const ProviderSpec& provider, const ResolvedBaseUrl& base,
                                               ClientRequest request, absl::string_view key,
                                               const ModelAllowlist& allowed_models) {
  PreparedRequest out;
  absl::StatusOr<std::string> method = CheckMethod(provider, request.method);
  if (!method.ok()) return method.status();
  out.method = *std::move(method);

  for (const http::HeaderField& h : request.headers) {
    if (!http::IsValidHeaderName(h.name)) return absl::InvalidArgumentError("a request header has an invalid name");
    if (!http::IsValidHeaderValue(h.value)) {
      return absl::InvalidArgumentError(absl::StrCat("request header ", absl::AsciiStrToLower(h.name),
                                                     " has a control character in its value"));
    }
  }

  absl::StatusOr<http::NormalizedTarget> target = http::NormalizeTarget(request.path_and_query);
  if (!target.ok()) return target.status();
  if (!PathMatchesAny(provider.allowed_paths, target->path)) {
    return absl::PermissionDeniedError(
        absl::StrCat("path is not an allowed inference endpoint of provider ", provider.name));
  }
  std::string query = target->query;
  for (const std::string& param : provider.stripped_query_params) query = http::RemoveQueryParam(query, param);

  // With ALLOWED_MODELS set the model is always read and any doubt refuses the request. Without it the
  // model only labels usage records: large bodies are not parsed for it, and a body that names it
  // oddly is the provider's to reject. A model taken from the path is always validated.
  const bool enforce = !allowed_models.empty();
  absl::string_view scanned_body = request.body;
  if (!enforce && scanned_body.size() > kMaxBodyScanForUsage) scanned_body = "";
  absl::StatusOr<std::optional<std::string>> model =
      ExtractModel(provider, target->path, query, request.headers, scanned_body);
  if (!model.ok()) {
    if (enforce || provider.model_source == ModelSource::kGeminiPath) return model.status();
    model = std::optional<std::string>();
  }
  if (absl::Status s = allowed_models.Check(provider.name, *model); !s.ok()) return s;
  out.model = *std::move(model);

  if (absl::Status s = CheckKey(key); !s.ok()) return s;

  FillOrigin(provider, base, out);
  out.target = absl::StrCat(base.url.base_path, target->wire_path);
  out.log_url = absl::StrCat(base.url.scheme, "://", out.host_header, out.target);
  if (!query.empty()) absl::StrAppend(&out.target, "?", query);

  const std::string connection = http::ConnectionOptions(request.headers);
  for (http::HeaderField& h : request.headers) {
    if (!IsForwardedRequestHeader(provider, h.name)) continue;
    if (http::ListsToken(connection, h.name)) continue;  // hop-by-hop by the client's say
    if (http::FindHeader(out.headers, h.name) != nullptr) continue;  // first one wins
    out.headers.push_back({absl::AsciiStrToLower(h.name), std::move(h.value)});
  }
  AddDefaultsAndKey(provider, key, out);
  out.binary_response = PathMatchesAny(provider.binary_paths, target->path);
  out.body = std::move(request.body);
  return out;
}

absl::StatusOr<PreparedRequest> PrepareKeyCheckRequest(const ProviderSpec& provider,
                                                       const ResolvedBaseUrl& base,
                                                       absl::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  PreparedRequest out;
  FillOrigin(provider, base, out);
  out.method = "GET";
  out.target = absl::StrCat(base.url.base_path, provider.key_check_path);
  out.log_url = absl::StrCat(base.url.scheme, "://", out.host_header, out.target);
  out.headers.push_back({"accept", "application/json"});
  AddDefaultsAndKey(provider, key, out);
  return out;
}

KeyCheckVerdict InterpretKeyCheckStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) return KeyCheckVerdict::kValid;
  if (http_status == 401 || http_status == 403) return KeyCheckVerdict::kInvalid;
  return KeyCheckVerdict::kUnknown;
}

}  // namespace byok::relay
