// The relay's provider table: common/providers (names, base URLs, key placement) plus what only the relay
// needs — allowed path prefixes, extra headers, response modes. The original byok-relay's contract
// (compat.md §4) is the source of every row.
#ifndef BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_
#define BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/providers/providers.h"

namespace byok::relay {

// Where a provider takes the model name for ALLOWED_MODELS from.
enum class ModelSource {
  kBody,        // the JSON body's top-level "model"
  kGeminiPath,  // /v1beta/models/<name>[:generateContent|:streamGenerateContent], else the body
};

// One provider.
struct ProviderSpec {
  // Name in routes ("openai-compatible" reads BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL).
  std::string name;
  // Real provider origin; empty for openai-compatible (x-relay-base-url or the key's binding).
  std::string default_base_url;
  // Header carrying the key, and what goes before it: {"authorization", "Bearer "}, {"x-api-key", ""}.
  std::string key_header;
  std::string key_prefix;
  // Allowed path prefixes (case-sensitive): a forward path is allowed when it equals one, or starts
  // with one followed by '/' or '?'.
  std::vector<std::string> allowed_prefixes;
  // Prefixes (same matching) that are GET endpoints: GET is accepted there, POST everywhere.
  std::vector<std::string> get_prefixes;
  // True when the upstream Content-Type is the client's (else application/json) even for JSON bodies.
  bool client_content_type = false;
  // True when every response is passed as bytes with its own Content-Type (compat.md §3.16 "Binary").
  bool binary_responses = false;
  ModelSource model_source = ModelSource::kBody;
  // Response headers passed back besides the common ones (retry-after, rate limits, request ids).
  std::vector<std::string> response_headers;
  // True for openai-compatible: the base URL comes from the request or the key, and is SSRF-checked.
  bool base_url_from_request = false;
};

// Returns the whole table, in common/providers order. Immutable and safe to share between threads.
absl::Span<const ProviderSpec> Providers();

// Returns the row for `name` (exact, case-sensitive), or nullptr.
const ProviderSpec* FindProvider(absl::string_view name);

// Returns the env variable that overrides `provider`'s base URL: BYOK_PROVIDER_<NAME>_BASE_URL.
std::string BaseUrlEnvName(absl::string_view provider);

// Returns true when `forward_path` equals `prefix` or starts with it followed by '/' or '?'.
bool PathHasPrefix(absl::string_view forward_path, absl::string_view prefix);

// Returns true when `forward_path` is under one of `prefixes` (PathHasPrefix).
bool PathAllowed(absl::Span<const std::string> prefixes, absl::string_view forward_path);

// Returns true when `forward_path` may be sent to `provider`: under an allowed prefix (PathAllowed), and
// free of what a server could read as another path — a backslash, a control character, or a %XX escape
// still left after the two decodes (a fix: the original forwarded these).
bool ForwardPathAllowed(const ProviderSpec& provider, absl::string_view forward_path);

// Returns true when `method` ("POST", "GET", any case) may be used on `forward_path` of `provider`:
// POST always, GET only under the provider's get_prefixes. Anything else is not a relay route.
bool MethodAllowed(const ProviderSpec& provider, absl::string_view method, absl::string_view forward_path);

// Returns true when `lower_name` is a client header the relay reads (compat.md §4's closed list, plus
// anthropic-beta): content-type, anthropic-version, anthropic-beta, http-referer, x-relay-referer,
// x-title, x-relay-e2e-base-url-token (read by the test-only override, never sent upstream).
// (x-relay-base-url travels in its own field.) Everything else of the client's is dropped.
bool IsReadClientHeader(absl::string_view lower_name);

// Returns true when a response header named `name` from `provider` passes back to the client:
// retry-after, x-ratelimit-*, ratelimit-*, request-id, x-request-id, openai-processing-ms and the
// provider's own extras. Content-Type and the like are set by the response mode, never copied here.
bool IsPassedResponseHeader(const ProviderSpec& provider, absl::string_view name);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_
