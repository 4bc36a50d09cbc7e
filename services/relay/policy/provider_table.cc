#include "services/relay/policy/provider_table.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/headers.h"

namespace byok::relay {
namespace {

// Paths of the OpenAI API shape, below a base URL that does not end in /v1.
const std::vector<std::string> kOpenAiPaths = {
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/moderations", "/v1/responses",
    "/v1/audio/speech",     "/v1/audio/transcriptions",  "/v1/audio/translations",
    "/v1/images/generations", "/v1/images/edits", "/v1/images/variations"};

// openai-compatible servers are addressed like OpenAI SDKs address them: the base URL usually ends in
// /v1 ("http://localhost:11434/v1") and paths are "/chat/completions"; a base URL without /v1 takes
// "/v1/chat/completions". Both forms are allowed.
std::vector<std::string> OpenAiCompatiblePaths() {
  std::vector<std::string> paths = kOpenAiPaths;
  for (const std::string& p : kOpenAiPaths) paths.push_back(p.substr(3));
  return paths;
}

// Methods used by inference endpoints; read-only GETs for listings are not inference and are refused.
const std::vector<std::string> kPostOnly = {"POST"};

// Client headers every provider accepts: body description and the response format wanted.
// (accept-encoding is not forwarded: the relay asks for identity so it can pass bytes through.)
std::vector<std::string> Forwarded(std::initializer_list<std::string> extra) {
  std::vector<std::string> headers = {"content-type", "accept"};
  headers.insert(headers.end(), extra);
  return headers;
}

std::vector<ProviderSpec> BuildTable() {
  std::vector<ProviderSpec> t;
  {
    ProviderSpec p;
    p.name = "anthropic";
    p.default_base_url = "https://api.anthropic.com";
    p.key_header = "x-api-key";
    p.allowed_paths = {"/v1/messages", "/v1/messages/count_tokens", "/v1/complete"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({"anthropic-version", "anthropic-beta"});
    p.default_headers = {{"anthropic-version", "2023-06-01"}};
    p.response_headers = {"anthropic-ratelimit-*", "anthropic-organization-id"};
    p.key_check_path = "/v1/models";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "openai";
    p.default_base_url = "https://api.openai.com";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = kOpenAiPaths;
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({"openai-organization", "openai-project", "openai-beta"});
    p.response_headers = {"openai-processing-ms", "openai-version", "openai-model"};
    p.binary_paths = {"/v1/audio/speech"};
    p.key_check_path = "/v1/models";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "google";
    p.default_base_url = "https://generativelanguage.googleapis.com";
    p.key_header = "x-goog-api-key";
    for (const char* version : {"/v1beta", "/v1"}) {
      for (const char* method : {"generateContent", "streamGenerateContent", "countTokens", "embedContent",
                                 "batchEmbedContents"}) {
        p.allowed_paths.push_back(absl::StrCat(version, "/models/*:", method));
      }
    }
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({});
    p.stripped_query_params = {"key"};
    p.response_headers = {"x-goog-request-id"};
    p.model_source = ModelSource::kGeminiPath;
    p.key_check_path = "/v1beta/models";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "groq";
    p.default_base_url = "https://api.groq.com/openai";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = {"/v1/chat/completions", "/v1/responses", "/v1/audio/transcriptions",
                       "/v1/audio/translations", "/v1/audio/speech"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({});
    p.response_headers = {"x-groq-*"};
    p.binary_paths = {"/v1/audio/speech"};
    p.key_check_path = "/v1/models";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "openrouter";
    p.default_base_url = "https://openrouter.ai/api";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"};
    p.methods = kPostOnly;
    // OpenRouter attributes requests to an app with these two.
    p.forwarded_headers = Forwarded({"http-referer", "x-title"});
    p.key_check_path = "/v1/key";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "mistral";
    p.default_base_url = "https://api.mistral.ai";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = {"/v1/chat/completions", "/v1/fim/completions", "/v1/embeddings",
                       "/v1/moderations",      "/v1/chat/moderations", "/v1/ocr",
                       "/v1/agents/completions", "/v1/audio/transcriptions"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({});
    p.key_check_path = "/v1/models";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "huggingface";
    p.default_base_url = "https://router.huggingface.co";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = {"/v1/chat/completions", "/hf-inference/models/**"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({"x-use-cache", "x-wait-for-model"});
    p.response_headers = {"x-compute-*", "x-inference-*"};
    p.model_source = ModelSource::kHfPath;
    // The router has no authenticated listing; the hub's whoami answers 401 for a bad token.
    p.key_check_path = "/api/whoami-v2";
    p.key_check_base_url = "https://huggingface.co";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "elevenlabs";
    p.default_base_url = "https://api.elevenlabs.io";
    p.key_header = "xi-api-key";
    p.allowed_paths = {"/v1/text-to-speech/*", "/v1/text-to-speech/*/**", "/v1/speech-to-speech/*",
                       "/v1/speech-to-speech/*/**", "/v1/speech-to-text", "/v1/sound-generation",
                       "/v1/text-to-dialogue", "/v1/text-to-dialogue/**"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({});
    p.response_headers = {"history-item-id", "character-cost", "x-character-count"};
    p.binary_paths = {"/v1/text-to-speech/*", "/v1/text-to-speech/*/stream", "/v1/speech-to-speech/*",
                      "/v1/speech-to-speech/*/stream", "/v1/sound-generation", "/v1/text-to-dialogue",
                      "/v1/text-to-dialogue/stream"};
    p.model_field = "model_id";
    p.key_check_path = "/v1/user";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "deepgram";
    p.default_base_url = "https://api.deepgram.com";
    p.key_header = "authorization";
    p.key_prefix = "Token ";
    p.allowed_paths = {"/v1/listen", "/v1/speak", "/v1/read"};
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({});
    p.response_headers = {"dg-*"};
    p.binary_paths = {"/v1/speak"};
    p.model_source = ModelSource::kQuery;
    p.key_check_path = "/v1/projects";
    t.push_back(std::move(p));
  }
  {
    ProviderSpec p;
    p.name = "openai-compatible";
    p.key_header = "authorization";
    p.key_prefix = "Bearer ";
    p.allowed_paths = OpenAiCompatiblePaths();
    p.methods = kPostOnly;
    p.forwarded_headers = Forwarded({"openai-organization", "openai-project"});
    p.binary_paths = {"/v1/audio/speech", "/audio/speech"};
    p.key_check_path = "/models";
    p.base_url_from_request = true;
    t.push_back(std::move(p));
  }
  return t;
}

// Headers that carry credentials or steer the relay itself: never forwarded, whatever a row says.
constexpr std::array<absl::string_view, 10> kNeverForwarded = {
    "authorization", "x-api-key", "x-goog-api-key", "xi-api-key", "cookie",
    "host", "content-length", "proxy-authorization", "x-relay-*", "forwarded"};

// Response headers every provider passes back.
constexpr std::array<absl::string_view, 8> kCommonResponseHeaders = {
    "content-type", "content-disposition", "retry-after", "x-ratelimit-*", "ratelimit-*",
    "request-id",   "x-request-id",        "openai-processing-ms"};

// Response headers never passed back: they would act on the browser's side of the gateway.
constexpr std::array<absl::string_view, 4> kNeverPassedBack = {"set-cookie", "set-cookie2",
                                                               "content-length", "access-control-*"};

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

bool PathMatches(absl::string_view glob, absl::string_view path) {
  std::vector<absl::string_view> g = absl::StrSplit(glob, '/');
  std::vector<absl::string_view> p = absl::StrSplit(path, '/');
  bool rest = !g.empty() && g.back() == "**";
  if (rest) {
    g.pop_back();
    // "/**" needs at least one more non-empty segment.
    if (p.size() <= g.size()) return false;
    for (size_t i = g.size(); i < p.size(); ++i) {
      if (p[i].empty()) return false;
    }
  } else if (p.size() != g.size()) {
    return false;
  }
  for (size_t i = 0; i < g.size(); ++i) {
    absl::string_view gs = g[i];
    absl::string_view ps = p[i];
    size_t star = gs.find('*');
    if (star == absl::string_view::npos) {
      if (gs != ps) return false;
      continue;
    }
    // One '*' per segment: prefix, a non-empty middle, suffix.
    absl::string_view prefix = gs.substr(0, star);
    absl::string_view suffix = gs.substr(star + 1);
    if (ps.size() <= prefix.size() + suffix.size()) return false;
    if (!absl::StartsWith(ps, prefix) || !absl::EndsWith(ps, suffix)) return false;
  }
  return true;
}

bool PathMatchesAny(absl::Span<const std::string> globs, absl::string_view path) {
  for (const std::string& g : globs) {
    if (PathMatches(g, path)) return true;
  }
  return false;
}

bool IsForwardedRequestHeader(const ProviderSpec& provider, absl::string_view name) {
  if (http::IsHopByHopHeader(name)) return false;
  for (absl::string_view never : kNeverForwarded) {
    if (http::HeaderNameMatches(never, name)) return false;
  }
  if (http::HeaderNameEquals(name, provider.key_header)) return false;
  for (const std::string& allowed : provider.forwarded_headers) {
    if (http::HeaderNameMatches(allowed, name)) return true;
  }
  return false;
}

bool IsPassedResponseHeader(const ProviderSpec& provider, absl::string_view name) {
  if (http::IsHopByHopHeader(name)) return false;
  for (absl::string_view never : kNeverPassedBack) {
    if (http::HeaderNameMatches(never, name)) return false;
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
