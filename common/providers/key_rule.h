// The rule for a provider key, in one place for every service: the vault stores only keys that pass
// NormalizedKey (and the gateway's rotate learns the outcome from it, with validate_only), and the
// gateway's rotate also checks the key's format for its provider (KeyFormatHint, providers.h) and words
// the refusal with KeyFormatMessage.
#ifndef BYOK_COMMON_PROVIDERS_KEY_RULE_H_
#define BYOK_COMMON_PROVIDERS_KEY_RULE_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace byok::providers {

// Bounds of a key, after trimming (the original's minimum is 10; its REST phrase names it).
inline constexpr size_t kMinKeyLength = 10;
inline constexpr size_t kMaxKeyLength = 4096;

// Returns the key as stored: `key` trimmed of surrounding whitespace, when that is kMinKeyLength to
// kMaxKeyLength characters, all printable ASCII (a key travels in an HTTP header); nullopt otherwise
// (empty included). The view points into `key`.
std::optional<absl::string_view> NormalizedKey(absl::string_view key);

// The text of rotate's 400 for a key whose format looks wrong for `provider` (compat.md §3.7):
// `API key format looks wrong for provider “<provider>”. <hint>`.
std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint);

}  // namespace byok::providers

#endif  // BYOK_COMMON_PROVIDERS_KEY_RULE_H_
