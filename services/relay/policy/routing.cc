#include "services/relay/policy/routing.h"

#include <array>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/providers/providers.h"

namespace byok::relay {
namespace {

// Longest model text echoed in an error.
constexpr size_t kMaxEchoedModel = 1024;

bool StartsCi(absl::string_view s, absl::string_view prefix) { return absl::StartsWithIgnoreCase(s, prefix); }

// JavaScript's \s, ASCII part.
bool IsJsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// ^(gpt-|o[1-9][-\s]|chatgpt-)
bool MatchesOpenAi(absl::string_view m) {
  if (StartsCi(m, "gpt-") || StartsCi(m, "chatgpt-")) return true;
  return m.size() >= 3 && (m[0] == 'o' || m[0] == 'O') && m[1] >= '1' && m[1] <= '9' &&
         (m[2] == '-' || IsJsSpace(m[2]));
}
bool MatchesEmbedding(absl::string_view m) { return StartsCi(m, "text-embedding-"); }
bool MatchesClaude(absl::string_view m) { return StartsCi(m, "claude-"); }
bool MatchesGemini(absl::string_view m) { return StartsCi(m, "gemini-"); }

// ^(llama-?[23]?[-_]|llama3?[-_]): the second alternative is a case of the first.
bool MatchesLlama(absl::string_view m) {
  if (!StartsCi(m, "llama")) return false;
  auto sep = [&](size_t i) { return i < m.size() && (m[i] == '-' || m[i] == '_'); };
  for (size_t after_dash : {size_t{5}, size_t{6}}) {
    if (after_dash == 6 && !(m.size() > 5 && m[5] == '-')) continue;
    if (sep(after_dash)) return true;
    if (after_dash < m.size() && (m[after_dash] == '2' || m[after_dash] == '3') && sep(after_dash + 1)) {
      return true;
    }
  }
  return false;
}
bool MatchesMixtral(absl::string_view m) { return StartsCi(m, "mixtral-"); }
bool MatchesGemma(absl::string_view m) { return StartsCi(m, "gemma-"); }
bool MatchesQwen(absl::string_view m) { return StartsCi(m, "qwen-"); }
bool MatchesMistral(absl::string_view m) {
  return StartsCi(m, "mistral-") || StartsCi(m, "codestral-") || StartsCi(m, "open-mistral");
}

constexpr absl::string_view kChat = "/v1/chat/completions";
constexpr absl::string_view kGroqChat = "/openai/v1/chat/completions";

constexpr std::array<ModelPattern, 9> kPatterns = {{
    {"^(gpt-|o[1-9][-\\s]|chatgpt-)", "openai", kChat, &MatchesOpenAi},
    {"^text-embedding-", "openai", "/v1/embeddings", &MatchesEmbedding},
    {"^claude-", "anthropic", "/v1/messages", &MatchesClaude},
    {"^gemini-", "google", "", &MatchesGemini},
    {"^(llama-?[23]?[-_]|llama3?[-_])", "groq", kGroqChat, &MatchesLlama},
    {"^mixtral-", "groq", kGroqChat, &MatchesMixtral},
    {"^gemma-", "groq", kGroqChat, &MatchesGemma},
    {"^qwen-", "groq", kGroqChat, &MatchesQwen},
    {"^(mistral-|codestral-|open-mistral)", "mistral", kChat, &MatchesMistral},
}};

// JavaScript truthiness of a JSON value.
bool Truthy(const nlohmann::json& v) {
  if (v.is_null() || v.is_discarded()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_number_unsigned()) return v.get<uint64_t>() != 0;
  if (v.is_number_float()) {
    double d = v.get<double>();
    return d == d && d != 0.0;
  }
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return true;  // objects and arrays, even empty
}

std::string JsScalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";  // inside an array, null renders as nothing
  if (v.is_object()) return "[object Object]";
  return v.dump();
}

absl::string_view JsTrim(absl::string_view s) {
  while (!s.empty() && IsJsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsJsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::Span<const ModelPattern> ModelPatterns() { return kPatterns; }

std::string GooglePath(absl::string_view name, bool stream) {
  return absl::StrCat("/v1beta/models/", name, stream ? ":streamGenerateContent" : ":generateContent");
}

std::string DefaultUnifiedPath(absl::string_view provider, absl::string_view name, bool stream) {
  if (provider == "anthropic") return "/v1/messages";
  if (provider == "google") return GooglePath(name, stream);
  if (provider == "groq") return std::string(kGroqChat);
  if (provider == "openrouter") return "/api/v1/chat/completions";
  return std::string(kChat);  // openai, mistral
}

std::string JsText(const nlohmann::json& value, size_t limit) {
  if (!value.is_array()) return JsScalar(value).substr(0, limit);
  // Depth-first over nested arrays with an explicit stack: [a,[b,c]] renders "a,b,c".
  std::string out;
  std::vector<std::pair<const nlohmann::json*, size_t>> stack = {{&value, 0}};
  while (!stack.empty() && out.size() < limit) {
    auto& [array, index] = stack.back();
    if (index >= array->size()) {
      stack.pop_back();
      continue;
    }
    const nlohmann::json& item = (*array)[index];
    if (index > 0) out.push_back(',');
    ++index;
    if (item.is_array()) {
      stack.emplace_back(&item, 0);
    } else {
      absl::StrAppend(&out, JsScalar(item));
    }
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::string CannotRouteMessage(const nlohmann::json& model) {
  return absl::StrCat("Cannot route model \"", JsText(model, kMaxEchoedModel),
                      "\". Use \"provider/model-name\" format or a recognised model name. Supported "
                      "providers: ",
                      providers::JoinedNames(), ". See GET /models for the full routing table.");
}

absl::StatusOr<UnifiedRoute> RouteUnified(const nlohmann::json& body) {
  static const nlohmann::json kAbsent;
  auto it = body.is_object() ? body.find("model") : body.end();
  const nlohmann::json& model = (body.is_object() && it != body.end()) ? *it : kAbsent;
  if (!Truthy(model)) return absl::InvalidArgumentError(std::string(kModelRequired));
  if (!model.is_string()) return absl::InvalidArgumentError(CannotRouteMessage(model));
  const std::string& text = model.get_ref<const std::string&>();

  UnifiedRoute route;
  auto stream = body.find("stream");
  route.stream = stream != body.end() && stream->is_boolean() && stream->get<bool>();

  if (size_t slash = text.find('/'); slash != std::string::npos) {
    std::string prefix = absl::AsciiStrToLower(absl::string_view(text).substr(0, slash));
    absl::string_view name = JsTrim(absl::string_view(text).substr(slash + 1));
    if (!providers::IsRoutablePrefix(prefix) || name.empty()) {
      return absl::InvalidArgumentError(CannotRouteMessage(model));
    }
    // A Gemini model name becomes a path segment: nothing that could leave it (a fix; the original
    // pasted it in unchecked).
    if (prefix == "google" && name.find_first_of("/?#%\\") != absl::string_view::npos) {
      return absl::InvalidArgumentError(CannotRouteMessage(model));
    }
    route.provider = std::move(prefix);
    route.name = std::string(name);
    route.path = DefaultUnifiedPath(route.provider, route.name, route.stream);
    return route;
  }
  for (const ModelPattern& p : kPatterns) {
    if (!p.matches(text)) continue;
    if (p.provider == "google" && text.find_first_of("?#%\\") != std::string::npos) break;
    route.provider = std::string(p.provider);
    route.name = text;
    route.path = p.path.empty() ? GooglePath(text, route.stream) : std::string(p.path);
    return route;
  }
  return absl::InvalidArgumentError(CannotRouteMessage(model));
}

}  // namespace byok::relay
