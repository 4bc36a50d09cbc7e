#include "services/relay/policy/routing.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/json/json_nesting.h"
#include "nlohmann/json.hpp"
#include "services/relay/policy/provider_table.h"

namespace byok::relay {
namespace {

constexpr absl::string_view kChatPath = "/v1/chat/completions";
constexpr absl::string_view kGeminiPath = "/v1beta/models/{model}:generateContent";
constexpr absl::string_view kGeminiStreamPath = "/v1beta/models/{model}:streamGenerateContent?alt=sse";

std::vector<ModelRouteRule> BuildRules() {
  std::vector<ModelRouteRule> rules;
  auto add = [&](std::string pattern, std::string provider, absl::string_view path,
                 absl::string_view stream_path = "") {
    rules.push_back({std::move(pattern), std::move(provider), std::string(path), std::string(stream_path)});
  };
  add("claude-*", "anthropic", "/v1/messages");
  for (const char* p : {"gpt-*", "o1*", "o3*", "o4*", "chatgpt-*"}) add(p, "openai", kChatPath);
  for (const char* p : {"gemini-*", "gemma-*"}) add(p, "google", kGeminiPath, kGeminiStreamPath);
  for (const char* p : {"mistral-*", "codestral-*", "open-mistral-*", "open-mixtral-*", "ministral-*",
                        "pixtral-*", "magistral-*", "devstral-*"}) {
    add(p, "mistral", kChatPath);
  }
  // Open-weight models (llama, mixtral, qwen, ...) are served by several providers; they need an
  // explicit prefix such as "groq/llama-3.3-70b-versatile".
  return rules;
}

}  // namespace

const std::vector<ModelRouteRule>& ModelRouteRules() {
  static const std::vector<ModelRouteRule>* const kRules = new std::vector<ModelRouteRule>(BuildRules());
  return *kRules;
}

std::string UnifiedPath(absl::string_view provider, absl::string_view model, bool stream) {
  if (provider == "anthropic") return "/v1/messages";
  if (provider == "google") {
    return absl::StrReplaceAll(stream ? kGeminiStreamPath : kGeminiPath, {{"{model}", model}});
  }
  if (provider == "openai" || provider == "groq" || provider == "openrouter" || provider == "mistral" ||
      provider == "huggingface") {
    return std::string(kChatPath);
  }
  // Base URLs of OpenAI-compatible servers end in /v1, as OpenAI SDKs expect them.
  if (provider == "openai-compatible") return "/chat/completions";
  return "";
}

absl::StatusOr<ResolvedRoute> ResolveRoute(absl::string_view body, const ModelAllowlist& allowed_models) {
  std::optional<nlohmann::ordered_json> parsed =
      ::byok::json::ParseBounded<nlohmann::ordered_json>(body);
  if (!parsed.has_value() || !parsed->is_object()) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
  nlohmann::ordered_json& doc = *parsed;
  auto model_it = doc.find("model");
  if (model_it == doc.end()) return absl::InvalidArgumentError("request body has no \"model\"");
  if (!model_it->is_string()) return absl::InvalidArgumentError("\"model\" must be a string");
  const std::string requested = model_it->get<std::string>();
  if (absl::Status s = ValidateModelName(requested); !s.ok()) return s;

  ResolvedRoute route;
  bool prefix_removed = false;
  if (size_t slash = requested.find('/'); slash != std::string::npos &&
                                          FindProvider(requested.substr(0, slash)) != nullptr) {
    route.provider = requested.substr(0, slash);
    route.model = requested.substr(slash + 1);
    prefix_removed = true;
  } else {
    for (const ModelRouteRule& rule : ModelRouteRules()) {
      if (WildcardMatch(rule.pattern, requested)) {
        route.provider = rule.provider;
        break;
      }
    }
    if (route.provider.empty()) {
      return absl::NotFoundError(
          "no route for this model; name the provider as \"provider/model\" (see GET /models)");
    }
    route.model = requested;
  }
  if (absl::Status s = ValidateModelName(route.model); !s.ok()) return s;

  auto stream_it = doc.find("stream");
  route.stream = stream_it != doc.end() && stream_it->is_boolean() && stream_it->get<bool>();

  const bool google = route.provider == "google";
  if (google) {
    // The model becomes a path segment: only a plain name may.
    if (absl::Status s = ValidatePathModelName(route.model); !s.ok()) return s;
  }
  route.path = UnifiedPath(route.provider, route.model, route.stream);
  if (route.path.empty()) {
    return absl::NotFoundError(absl::StrCat("provider ", route.provider,
                                            " has no unified route; call /relay/", route.provider,
                                            "/... instead"));
  }
  if (absl::Status s = allowed_models.Check(route.provider, route.model); !s.ok()) return s;

  if (google) {
    // Gemini refuses unknown fields; the model and stream choice travel in the path.
    doc.erase("model");
    doc.erase("stream");
    route.body = doc.dump();
  } else if (prefix_removed) {
    *model_it = route.model;
    route.body = doc.dump();
  } else {
    route.body = std::string(body);
  }
  return route;
}

}  // namespace byok::relay
