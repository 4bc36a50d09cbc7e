// The providers the vault accepts keys for: the one list in the vault, kept in step with the relay's table.
#ifndef BYOK_SERVICES_VAULT_PROVIDERS_H_
#define BYOK_SERVICES_VAULT_PROVIDERS_H_

#include <array>

#include "absl/strings/string_view.h"

namespace byok::vault {

// Every provider name a key may be stored for.
inline constexpr std::array<absl::string_view, 10> kProviders = {
    "anthropic", "openai",     "google",      "groq",     "openrouter",
    "mistral",   "huggingface", "elevenlabs", "deepgram", "openai-compatible",
};

// The one provider whose keys may be bound to a caller-chosen base URL.
inline constexpr absl::string_view kOpenAiCompatible = "openai-compatible";

// Returns true when `name` is one of kProviders (exact, case-sensitive).
constexpr bool IsKnownProvider(absl::string_view name) {
  for (absl::string_view p : kProviders) {
    if (p == name) return true;
  }
  return false;
}

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PROVIDERS_H_
