#include "common/providers/providers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace byok::providers {
namespace {

constexpr std::pair<absl::string_view, absl::string_view> kNoHeader = {"", ""};

constexpr std::array<ProviderInfo, kProviders.size()> kTable = {{
    {"anthropic", "https://api.anthropic.com", KeyAuth::kXApiKey, "/v1/models", "/v1/models",
     {{{"anthropic-version", "2023-06-01"}}}},
    {"openai", "https://api.openai.com", KeyAuth::kBearer, "/v1/models", "/v1/models", {{kNoHeader}}},
    {"google", "https://generativelanguage.googleapis.com", KeyAuth::kXGoogApiKey, "/v1beta/models",
     "/v1/models", {{kNoHeader}}},
    {"groq", "https://api.groq.com", KeyAuth::kBearer, "/openai/v1/models", "/openai/v1/models",
     {{kNoHeader}}},
    {"openrouter", "https://openrouter.ai", KeyAuth::kBearer, "/api/v1/models", "/api/v1/models",
     {{{"http-referer", "https://github.com/avikalpg/byok-relay"}}}},
    {"mistral", "https://api.mistral.ai", KeyAuth::kBearer, "/v1/models", "/v1/models", {{kNoHeader}}},
    {"elevenlabs", "https://api.elevenlabs.io", KeyAuth::kXiApiKey, "/v1/models", "", {{kNoHeader}}},
    {"huggingface", "https://api-inference.huggingface.co", KeyAuth::kBearer, "/v1/models", "",
     {{kNoHeader}}},
    {"deepgram", "https://api.deepgram.com", KeyAuth::kToken, "/v1/models", "", {{kNoHeader}}},
    {"openai-compatible", "", KeyAuth::kBearer, "/v1/models", "", {{kNoHeader}}},
}};

bool IsGoogleKeyChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

}  // namespace

absl::Span<const ProviderInfo> All() { return kTable; }

const ProviderInfo* Find(absl::string_view name) {
  for (const ProviderInfo& p : kTable) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const std::string& JoinedNames() {
  static const std::string* const kJoined = new std::string(absl::StrJoin(kProviders, ", "));
  return *kJoined;
}

std::optional<absl::string_view> KeyFormatHint(absl::string_view provider, absl::string_view key) {
  if (provider == "openai") {
    if (absl::StartsWith(key, "sk-") && !absl::StartsWith(key, "sk-ant-")) return std::nullopt;
    return "OpenAI API keys start with sk- (e.g. sk-proj-... or sk-...); make sure you are not pasting an "
           "Anthropic key";
  }
  if (provider == "anthropic") {
    if (absl::StartsWith(key, "sk-ant-")) return std::nullopt;
    return "Anthropic API keys start with sk-ant-";
  }
  if (provider == "google") {
    bool classic = key.size() == 39 && absl::StartsWith(key, "AIza");
    for (size_t i = 4; classic && i < key.size(); ++i) classic = IsGoogleKeyChar(key[i]);
    if (classic || key.size() > 50) return std::nullopt;
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

}  // namespace byok::providers
