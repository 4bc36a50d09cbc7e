// The providers, as one table every service reads: the vault (which names take keys), the relay (base
// URLs, unified-route prefixes; its own table adds paths and headers), the gateway (rotate's format
// check, /health's ping, GET /models). Names and order are the original byok-relay's (compat.md §3.6).
#ifndef BYOK_COMMON_PROVIDERS_PROVIDERS_H_
#define BYOK_COMMON_PROVIDERS_PROVIDERS_H_

#include <array>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace byok::providers {

// Every provider a key may be stored for, in the original's order (GET /health, error texts).
inline constexpr std::array<absl::string_view, 10> kProviders = {
    "anthropic",  "openai",      "google",   "groq",   "openrouter", "mistral",
    "elevenlabs", "huggingface", "deepgram", "openai-compatible",
};

// The provider whose base URL comes from the request (x-relay-base-url) or the key's binding.
inline constexpr absl::string_view kOpenAiCompatible = "openai-compatible";

// Returns true when `name` is one of kProviders (exact, case-sensitive).
constexpr bool IsKnownProvider(absl::string_view name) {
  for (absl::string_view p : kProviders) {
    if (p == name) return true;
  }
  return false;
}

// The prefixes POST /relay accepts in "prefix/model" (GET /models `providerPrefixes`), in order.
// openai-compatible, elevenlabs, huggingface and deepgram are not routable (compat.md §3.14).
inline constexpr std::array<absl::string_view, 6> kRoutablePrefixes = {
    "openai", "anthropic", "google", "groq", "openrouter", "mistral",
};

// Returns true when `prefix` is one of kRoutablePrefixes (exact).
constexpr bool IsRoutablePrefix(absl::string_view prefix) {
  for (absl::string_view p : kRoutablePrefixes) {
    if (p == prefix) return true;
  }
  return false;
}

// How a key is presented to a provider.
enum class KeyAuth {
  kBearer,         // Authorization: Bearer <key>
  kToken,          // Authorization: Token <key>
  kXApiKey,        // x-api-key: <key>
  kXGoogApiKey,    // x-goog-api-key: <key> (the original put it in ?key=, which ends up in logs)
  kXiApiKey,       // xi-api-key: <key>
};

// What is known about one provider.
struct ProviderInfo {
  absl::string_view name;
  // The real provider's origin; "" for openai-compatible.
  absl::string_view base_url;
  KeyAuth auth;
  // GET /health?deep=1: unauthenticated GET of base_url + ping_path (compat.md §3.1).
  absl::string_view ping_path;
  // Rotation's live verification: an authenticated GET of base_url + verify_path ("" means skipped,
  // the key counts as accepted). compat.md §3.7.
  absl::string_view verify_path;
  // Headers the verification GET also sends (name, value); empty name means none.
  std::array<std::pair<absl::string_view, absl::string_view>, 1> verify_headers;
};

// Every provider, in kProviders order.
absl::Span<const ProviderInfo> All();

// Returns the provider named `name` (exact), or nullptr.
const ProviderInfo* Find(absl::string_view name);

// "anthropic, openai, google, …, openai-compatible": kProviders joined by ", ".
const std::string& JoinedNames();

// Rotation's format check on a trimmed key (compat.md §3.7). Returns the hint when the key's format
// looks wrong for `provider`, nullopt when it passes (or the provider has no rule).
std::optional<absl::string_view> KeyFormatHint(absl::string_view provider, absl::string_view trimmed_key);

}  // namespace byok::providers

#endif  // BYOK_COMMON_PROVIDERS_PROVIDERS_H_
