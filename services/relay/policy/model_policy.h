// Model names: validation, extraction from requests, and the ALLOWED_MODELS allowlist.
#ifndef BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_
#define BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/headers.h"
#include "services/relay/policy/provider_table.h"

namespace byok::relay {

// Longest model name accepted.
inline constexpr size_t kMaxModelLength = 200;

// Checks a model name before it is used anywhere (paths, allowlist, logs): 1..kMaxModelLength
// characters from [A-Za-z0-9._:@+/-], no "..", no leading or trailing '/', no empty segment.
// InvalidArgument otherwise; the message does not repeat the name.
absl::Status ValidateModelName(absl::string_view model);

// Checks a model name that becomes one path segment (Gemini's /models/{model}:method): as
// ValidateModelName but only [A-Za-z0-9._-].
absl::Status ValidatePathModelName(absl::string_view model);

// Returns true when `text` matches `pattern`, where '*' matches any run of characters (case-sensitive).
bool WildcardMatch(absl::string_view pattern, absl::string_view text);

// The ALLOWED_MODELS allowlist. Empty means every model is allowed.
class ModelAllowlist {
 public:
  ModelAllowlist() = default;
  // Takes the patterns (already validated by ParseAllowedModels).
  explicit ModelAllowlist(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

  // Parses a comma list ("gpt-4o*, claude-*"); blanks are ignored. InvalidArgument for a pattern with
  // characters outside the model-name set plus '*'.
  static absl::StatusOr<ModelAllowlist> Parse(absl::string_view comma_list);

  // Returns true when no allowlist is set.
  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

  // Checks a request's model. `model` is what the provider sees; a pattern may also match
  // "provider/model". When the allowlist is set and `model` is nullopt (the model could not be
  // determined) the request is refused: letting unknown models through would let any body the relay
  // cannot read (a new content type, a malformed form) bypass the allowlist. PermissionDenied when
  // refused.
  absl::Status Check(absl::string_view provider, const std::optional<std::string>& model) const;

 private:
  std::vector<std::string> patterns_;
};

// Reads the model a request is for: from the path (Gemini, Hugging Face), the query (Deepgram) or the
// body (JSON, multipart/form-data, application/x-www-form-urlencoded; a body without a recognised
// content type is tried as JSON). Returns nullopt when the request names no model. InvalidArgument
// when the body names a model in an ambiguous way (the field twice, or not a string) or the name is
// invalid.
absl::StatusOr<std::optional<std::string>> ExtractModel(const ProviderSpec& provider,
                                                        absl::string_view decoded_path,
                                                        absl::string_view query,
                                                        const std::vector<http::HeaderField>& headers,
                                                        absl::string_view body);

// Lower-level extractors, exposed for tests. Each returns nullopt when the field is absent.
absl::StatusOr<std::optional<std::string>> ModelFromJson(absl::string_view body,
                                                         absl::string_view field);
absl::StatusOr<std::optional<std::string>> ModelFromMultipart(absl::string_view content_type,
                                                              absl::string_view body,
                                                              absl::string_view field);
absl::StatusOr<std::optional<std::string>> ModelFromUrlEncoded(absl::string_view body,
                                                               absl::string_view field);
// From "/v1beta/models/{model}:method" (any version segment).
std::optional<std::string> ModelFromGeminiPath(absl::string_view decoded_path);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_
