#include "common/providers/key_rule.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace byok::providers {

std::optional<absl::string_view> NormalizedKey(absl::string_view key) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(key);
  if (trimmed.size() < kMinKeyLength || trimmed.size() > kMaxKeyLength) return std::nullopt;
  for (char c : trimmed) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return trimmed;
}

std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint) {
  return absl::StrCat("API key format looks wrong for provider \u201c", provider, "\u201d. ", hint);
}

}  // namespace byok::providers
