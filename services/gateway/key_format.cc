#include "services/gateway/key_format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace byok::gateway {
namespace {

// "AIza" and 35 characters of [A-Za-z0-9_-].
bool LooksLikeGoogleKey(absl::string_view key) {
  if (!absl::StartsWith(key, "AIza") || key.size() != 4 + 35) return false;
  return std::all_of(key.begin() + 4, key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

std::optional<std::string> KeyFormatHint(absl::string_view provider, absl::string_view key) {
  if (provider == "openai") {
    if (absl::StartsWith(key, "sk-") && !absl::StartsWith(key, "sk-ant-")) return std::nullopt;
    return "OpenAI API keys start with sk- (e.g. sk-proj-... or sk-...); make sure you are not pasting "
           "an Anthropic key";
  }
  if (provider == "anthropic") {
    if (absl::StartsWith(key, "sk-ant-")) return std::nullopt;
    return "Anthropic API keys start with sk-ant-";
  }
  if (provider == "google") {
    // Longer keys (service tokens) are let through to the live check.
    if (LooksLikeGoogleKey(key) || key.size() > 50) return std::nullopt;
    return "Google API keys start with AIza and are 39 characters long";
  }
  if (provider == "groq") {
    if (absl::StartsWith(key, "gsk_")) return std::nullopt;
    return "Groq API keys start with gsk_";
  }
  if (provider == "openrouter") {
    if (absl::StartsWith(key, "sk-or-")) return std::nullopt;
    return "OpenRouter API keys start with sk-or-";
  }
  if (provider == "mistral") {
    if (key.size() >= 32) return std::nullopt;
    return "Mistral API keys are at least 32 characters long";
  }
  return std::nullopt;
}

std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint) {
  return absl::StrCat("API key format looks wrong for provider \u201c", provider, "\u201d. ", hint);
}

}  // namespace byok::gateway
