// Checks on every input the vault stores: app ids, provider names, keys, base URLs, usage fields.
// Rejections a client sees carry the original byok-relay's phrases (compat.md §2, §3.6); messages name
// the field and the rule, never the value (a key or token may have been pasted anywhere).
#ifndef BYOK_SERVICES_VAULT_VALIDATION_H_
#define BYOK_SERVICES_VAULT_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/providers/key_rule.h"

namespace byok::vault {

inline constexpr size_t kMaxAppIdSize = 256;
inline constexpr size_t kMinKeyLength = providers::kMinKeyLength;
inline constexpr size_t kMaxKeySize = providers::kMaxKeyLength;
inline constexpr size_t kMaxBaseUrlSize = 2048;
inline constexpr size_t kMaxModelSize = 256;
inline constexpr size_t kMaxTokenSize = 1024;

// The phrases of the original's rejections.
inline constexpr char kInvalidTokenMessage[] = "Invalid or expired token";
inline constexpr char kInvalidKeyMessage[] = "A valid API key is required";
inline constexpr char kAppIdRequiredMessage[] = "app_id is required";

// App id: 1 to 256 bytes without control characters (the original takes any non-empty string).
// InvalidArgument "app_id is required" when empty.
absl::Status ValidateAppId(absl::string_view app_id);

// Provider: one of kProviders (exact, case-sensitive). InvalidArgument "Unsupported provider.
// Supported: <the providers, in order, joined by ', '>" otherwise.
absl::Status ValidateProvider(absl::string_view provider);

// Returns the key as stored (the key rule: providers::NormalizedKey): trimmed of surrounding whitespace,
// then at least 10 and at most 4096 characters, all printable ASCII. InvalidArgument "A valid API key
// is required" with reason KEY_INVALID otherwise (empty included).
absl::StatusOr<std::string> NormalizeKey(absl::string_view key);

// Base URL for a key: empty (unbound), or, for openai-compatible only, an absolute https URL (http too
// when `allow_http`) of at most 2048 characters with a host, no credentials, no fragment, and only
// printable ASCII without whitespace.
absl::Status ValidateBaseUrl(absl::string_view provider, absl::string_view base_url, bool allow_http);

// Returns the model name as usage records keep it: the client's raw string, with control characters
// replaced by '?' and cut to at most kMaxModelSize bytes (never inside a UTF-8 sequence). Never fails: a
// hostile model name must not cost the usage record, nor the batch it travels in.
std::string RecordedModel(absl::string_view model);

// Token: 1 to 1024 bytes (the original hashes any string). Unauthenticated "Invalid or expired token"
// otherwise, like an unknown token.
absl::Status ValidateTokenShape(absl::string_view token);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VALIDATION_H_
