// The provider table: every built-in provider as one row of data. Adding a provider is adding a row.
#ifndef BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_
#define BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace byok::relay {

// Where a provider takes a model name from, for the ALLOWED_MODELS check and usage records.
enum class ModelSource {
  kBody,        // a body field (JSON, multipart or url-encoded form)
  kGeminiPath,  // /{version}/models/{model}:{method}
  kHfPath,      // /hf-inference/models/{org}/{model}[/...]; also the body field for chat completions
  kQuery,       // a query parameter (Deepgram's ?model=)
};

// A header a provider needs on every request; added when the client sent none of that name.
struct DefaultHeader {
  std::string name;
  std::string value;
};

// One built-in provider.
struct ProviderSpec {
  // Name used in routes and env names ("openai-compatible" reads BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL).
  std::string name;
  // Real provider base URL; empty for openai-compatible (the client or the key supplies it).
  std::string default_base_url;
  // Header carrying the key, and what goes before it: {"authorization", "Bearer "}, {"x-api-key", ""}.
  std::string key_header;
  std::string key_prefix;
  // Allowed paths (decoded, normalised), inference endpoints only. Segment-wise globs: '*' matches a
  // non-empty run of characters within one segment, a final "/**" matches one or more further segments.
  // Anything else must match exactly.
  std::vector<std::string> allowed_paths;
  // HTTP methods allowed on this provider.
  std::vector<std::string> methods;
  // Client headers forwarded upstream (case-insensitive; trailing '*' is a prefix). Credentials, cookies,
  // x-relay-*, host and hop-by-hop headers are never forwarded whatever this list says.
  std::vector<std::string> forwarded_headers;
  // Headers added when the client did not send them.
  std::vector<DefaultHeader> default_headers;
  // Query parameters removed from client requests (Gemini's key=, so no key ever travels in a URL).
  std::vector<std::string> stripped_query_params;
  // Response headers passed back to the client in addition to the common ones (see
  // IsPassedResponseHeader).
  std::vector<std::string> response_headers;
  // Paths (same globs as allowed_paths) whose responses are binary (audio); others are text or SSE.
  std::vector<std::string> binary_paths;
  // Where the model name comes from, and the body field / query parameter that holds it.
  ModelSource model_source = ModelSource::kBody;
  std::string model_field = "model";
  // Cheap authenticated GET used by CheckKey: path below the base URL. When `key_check_base_url` is set
  // it replaces the default base URL for the check (unless an operator override is set).
  std::string key_check_path;
  std::string key_check_base_url;
  // True for openai-compatible: the base URL comes from the request or the key, and is SSRF-checked.
  bool base_url_from_request = false;
};

// Returns the whole table, in a stable order. The table is immutable and safe to share between threads.
absl::Span<const ProviderSpec> Providers();

// Returns the row for `name` (exact, lower-case), or nullptr.
const ProviderSpec* FindProvider(absl::string_view name);

// Returns the env variable that overrides `provider`'s base URL: BYOK_PROVIDER_<NAME>_BASE_URL.
std::string BaseUrlEnvName(absl::string_view provider);

// Returns true when `path` (decoded, normalised) matches one of `globs` (allowed_paths syntax).
bool PathMatchesAny(absl::Span<const std::string> globs, absl::string_view path);

// Returns true when `path` matches the single glob `glob` (allowed_paths syntax).
bool PathMatches(absl::string_view glob, absl::string_view path);

// Returns true when a client header named `name` may be forwarded to `provider`.
bool IsForwardedRequestHeader(const ProviderSpec& provider, absl::string_view name);

// Returns true when a response header named `name` from `provider` passes back to the client:
// content-type, content-disposition, retry-after, x-ratelimit-*, ratelimit-*, request-id,
// x-request-id, openai-processing-ms and the provider's own extras. Never set-cookie or hop-by-hop.
bool IsPassedResponseHeader(const ProviderSpec& provider, absl::string_view name);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_PROVIDER_TABLE_H_
