#include "services/relay/policy/provider_table.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/headers.h"
#include "common/http/response_headers.h"

namespace byok::relay {
namespace {

using ::byok::providers::KeyAuth;

void SetKeyAuth(KeyAuth auth, ProviderSpec& p) {
  switch (auth) {
    case KeyAuth::kBearer:
      p.key_header = "authorization";
      p.key_prefix = "Bearer ";
      return;
    case KeyAuth::kToken:
      p.key_header = "authorization";
      p.key_prefix = "Token ";
      return;
    case KeyAuth::kXApiKey:
      p.key_header = "x-api-key";
      return;
    case KeyAuth::kXGoogApiKey:
      p.key_header = "x-goog-api-key";
      return;
    case KeyAuth::kXiApiKey:
      p.key_header = "xi-api-key";
      return;
  }
}

// The relay's part of each row (compat.md §4), by name.
void AddRelayPart(ProviderSpec& p) {
  const std::string& n = p.name;
  if (n == "anthropic") {
    p.allowed_prefixes = {"/v1/messages", "/v1/complete"};
    p.response_headers = {"anthropic-ratelimit-*", "anthropic-organization-id"};
  } else if (n == "openai") {
    p.allowed_prefixes = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"};
    p.response_headers = {"openai-*"};
  } else if (n == "google") {
    p.allowed_prefixes = {"/v1beta/models", "/v1/models"};
    // Listing models and reading one model's card are GETs.
    p.get_prefixes = {"/v1beta/models", "/v1/models"};
    p.model_source = ModelSource::kGeminiPath;
    p.response_headers = {"x-goog-request-id"};
  } else if (n == "groq") {
    p.allowed_prefixes = {"/openai/v1/chat/completions", "/openai/v1/completions",
                          "/openai/v1/embeddings"};
    p.response_headers = {"x-groq-*"};
  } else if (n == "openrouter") {
    p.allowed_prefixes = {"/api/v1/chat/completions", "/api/v1/completions", "/api/v1/embeddings"};
  } else if (n == "mistral") {
    p.allowed_prefixes = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                          "/v1/fim/completions"};
  } else if (n == "elevenlabs") {
    p.allowed_prefixes = {"/v1/text-to-speech",   "/v1/speech-to-speech",  "/v1/sound-generation",
                          "/v1/audio-isolation", "/v1/voice-generation", "/v1/voices"};
    // Listing voices is a GET.
    p.get_prefixes = {"/v1/voices"};
    p.client_content_type = true;
    p.binary_responses = true;
    p.response_headers = {"history-item-id", "character-cost", "x-character-count"};
  } else if (n == "huggingface") {
    p.allowed_prefixes = {"/models"};
    p.client_content_type = true;
    p.binary_responses = true;
    p.response_headers = {"x-compute-*", "x-inference-*"};
  } else if (n == "deepgram") {
    p.allowed_prefixes = {"/v1/listen", "/v1/speak", "/v1/read"};
    p.client_content_type = true;
    p.binary_responses = true;
    p.response_headers = {"dg-*"};
  } else if (n == "openai-compatible") {
    p.allowed_prefixes = {"/v1/chat/completions",        "/v1/completions",
                          "/v1/embeddings",              "/v1/messages",
                          "/v1/responses",               "/api/v1/chat/completions",
                          "/api/v1/completions",         "/api/v1/embeddings",
                          "/openai/v1/chat/completions", "/openai/v1/completions",
                          "/openai/v1/embeddings"};
    p.base_url_from_request = true;
  }
}

std::vector<ProviderSpec> BuildTable() {
  std::vector<ProviderSpec> table;
  for (const providers::ProviderInfo& info : providers::All()) {
    ProviderSpec p;
    p.name = std::string(info.name);
    p.default_base_url = std::string(info.base_url);
    SetKeyAuth(info.auth, p);
    AddRelayPart(p);
    table.push_back(std::move(p));
  }
  return table;
}

// Response headers every provider passes back (compat.md "How we use": a fix of the original, which
// dropped them).
constexpr std::array<absl::string_view, 6> kCommonResponseHeaders = {
    "retry-after", "x-ratelimit-*", "ratelimit-*", "request-id", "x-request-id", "openai-processing-ms"};

// Never copied, whatever a row says: the response mode sets them (besides the headers no provider
// passes to a browser, http::IsNeverPassedToBrowser).
constexpr std::array<absl::string_view, 3> kSetByResponseMode = {"content-type", "content-disposition",
                                                                 "cache-control"};

}  // namespace

absl::Span<const ProviderSpec> Providers() {
  static const std::vector<ProviderSpec>* const kTable = new std::vector<ProviderSpec>(BuildTable());
  return *kTable;
}

const ProviderSpec* FindProvider(absl::string_view name) {
  for (const ProviderSpec& p : Providers()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string BaseUrlEnvName(absl::string_view provider) {
  std::string upper = absl::AsciiStrToUpper(provider);
  for (char& c : upper) {
    if (c == '-') c = '_';
  }
  return absl::StrCat("BYOK_PROVIDER_", upper, "_BASE_URL");
}

bool PathHasPrefix(absl::string_view forward_path, absl::string_view prefix) {
  if (!absl::StartsWith(forward_path, prefix)) return false;
  if (forward_path.size() == prefix.size()) return true;
  char next = forward_path[prefix.size()];
  return next == '/' || next == '?';
}

bool PathAllowed(absl::Span<const std::string> prefixes, absl::string_view forward_path) {
  for (const std::string& prefix : prefixes) {
    if (PathHasPrefix(forward_path, prefix)) return true;
  }
  return false;
}

bool ForwardPathAllowed(const ProviderSpec& provider, absl::string_view forward_path) {
  for (size_t i = 0; i < forward_path.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(forward_path[i]);
    if (c == '\\' || c < 0x20 || c == 0x7f) return false;
    if (c == '%' && i + 2 < forward_path.size() && absl::ascii_isxdigit(forward_path[i + 1]) &&
        absl::ascii_isxdigit(forward_path[i + 2])) {
      return false;
    }
  }
  return PathAllowed(provider.allowed_prefixes, forward_path);
}

bool MethodAllowed(const ProviderSpec& provider, absl::string_view method, absl::string_view forward_path) {
  if (absl::EqualsIgnoreCase(method, "POST")) return true;
  return absl::EqualsIgnoreCase(method, "GET") && PathAllowed(provider.get_prefixes, forward_path);
}

bool IsReadClientHeader(absl::string_view lower_name) {
  static constexpr std::array<absl::string_view, 7> kRead = {
      "content-type", "anthropic-version",         "anthropic-beta", "http-referer", "x-relay-referer",
      "x-title",      "x-relay-e2e-base-url-token"};
  for (absl::string_view name : kRead) {
    if (lower_name == name) return true;
  }
  return false;
}

bool IsPassedResponseHeader(const ProviderSpec& provider, absl::string_view name) {
  if (http::IsNeverPassedToBrowser(name)) return false;
  for (absl::string_view set : kSetByResponseMode) {
    if (http::HeaderNameEquals(name, set)) return false;
  }
  for (absl::string_view common : kCommonResponseHeaders) {
    if (http::HeaderNameMatches(common, name)) return true;
  }
  for (const std::string& extra : provider.response_headers) {
    if (http::HeaderNameMatches(extra, name)) return true;
  }
  return false;
}

}  // namespace byok::relay
