// Checks on every input the vault stores: app ids, provider names, keys, base URLs, usage fields.
// Messages name the field and the rule, never the value (a key or token may have been pasted anywhere).
#ifndef BYOK_SERVICES_VAULT_VALIDATION_H_
#define BYOK_SERVICES_VAULT_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace byok::vault {

inline constexpr size_t kMaxAppIdSize = 128;
inline constexpr size_t kMaxKeySize = 4096;
inline constexpr size_t kMaxBaseUrlSize = 2048;
inline constexpr size_t kMaxModelSize = 256;

// App id: 1 to 128 characters of [A-Za-z0-9._-].
absl::Status ValidateAppId(absl::string_view app_id);

// Provider: one of kProviders.
absl::Status ValidateProvider(absl::string_view provider);

// Provider key: 1 to 4096 printable ASCII characters, no whitespace.
absl::Status ValidateKey(absl::string_view key);

// Base URL for a key: empty (unbound), or, for openai-compatible only, an absolute https URL (http too
// when `allow_http`) of at most 2048 characters with a host, no credentials, no fragment, and only
// printable ASCII without whitespace.
absl::Status ValidateBaseUrl(absl::string_view provider, absl::string_view base_url, bool allow_http);

// Model name as recorded in usage: at most 256 printable ASCII characters (may be empty).
absl::Status ValidateModel(absl::string_view model);

// Token shape: 64 hex characters. Fails with Unauthenticated, like an unknown token.
absl::Status ValidateTokenShape(absl::string_view token);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VALIDATION_H_
