#include "tests/testing/fake_provider/fake_responses.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace byok::testing::fake {
namespace {

constexpr int kAudioPieces = 4;
constexpr size_t kAudioPieceBytes = 16 * 1024;
constexpr const char* kWords[] = {"Hello", " from", " the", " fake", " provider", "."};

using Json = nlohmann::json;

bool WantsStream(absl::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto it = j.find("stream");
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string SseData(const Json& j) { return absl::StrCat("data: ", j.dump(), "\n\n"); }

std::string SseEvent(absl::string_view event, const Json& j) {
  return absl::StrCat("event: ", event, "\ndata: ", j.dump(), "\n\n");
}

ResponsePlan Json200(const Json& j) {
  ResponsePlan plan;
  plan.headers.push_back({"content-type", "application/json"});
  plan.body = j.dump();
  return plan;
}

ResponsePlan JsonError(int status, absl::string_view message) {
  ResponsePlan plan;
  plan.status = status;
  plan.headers.push_back({"content-type", "application/json"});
  plan.body = Json{{"error", {{"message", std::string(message)}, {"type", "fake_error"}}}}.dump();
  return plan;
}

// True when an OpenAI-style body asks for the usage chunk (stream_options.include_usage).
bool WantsUsageChunk(absl::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  auto options = j.find("stream_options");
  if (options == j.end() || !options->is_object()) return false;
  auto it = options->find("include_usage");
  return it != options->end() && it->is_boolean() && it->get<bool>();
}

// The pieces of a stream with `n` text deltas, in one provider's format. OpenAI's ends with a chunk of
// `usage` and no choices when `with_usage` (prompt 9, completion n, as the JSON reply counts).
std::vector<std::string> OpenAiEvents(const std::string& model, int n, bool with_usage) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(SseData({{"id", "chatcmpl-fake"},
                           {"object", "chat.completion.chunk"},
                           {"model", model},
                           {"choices",
                            {{{"index", 0},
                              {"delta", {{"content", kWords[i % std::size(kWords)]}}},
                              {"finish_reason", nullptr}}}}}));
  }
  out.push_back(SseData({{"id", "chatcmpl-fake"},
                         {"object", "chat.completion.chunk"},
                         {"model", model},
                         {"choices", {{{"index", 0}, {"delta", Json::object()}, {"finish_reason", "stop"}}}}}));
  if (with_usage) {
    out.push_back(SseData({{"id", "chatcmpl-fake"},
                           {"object", "chat.completion.chunk"},
                           {"model", model},
                           {"choices", Json::array()},
                           {"usage", {{"prompt_tokens", 9}, {"completion_tokens", n}, {"total_tokens", 9 + n}}}}));
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

std::vector<std::string> AnthropicEvents(const std::string& model, int n) {
  std::vector<std::string> out;
  out.push_back(SseEvent("message_start",
                         {{"type", "message_start"},
                          {"message",
                           {{"id", "msg_fake"},
                            {"type", "message"},
                            {"role", "assistant"},
                            {"model", model},
                            {"usage", {{"input_tokens", 12}, {"output_tokens", 1}}}}}}));
  out.push_back(SseEvent("content_block_start", {{"type", "content_block_start"},
                                                 {"index", 0},
                                                 {"content_block", {{"type", "text"}, {"text", ""}}}}));
  for (int i = 0; i < n; ++i) {
    out.push_back(SseEvent("content_block_delta",
                           {{"type", "content_block_delta"},
                            {"index", 0},
                            {"delta", {{"type", "text_delta"}, {"text", kWords[i % std::size(kWords)]}}}}));
  }
  out.push_back(SseEvent("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
  out.push_back(SseEvent("message_delta", {{"type", "message_delta"},
                                           {"delta", {{"stop_reason", "end_turn"}}},
                                           {"usage", {{"output_tokens", n}}}}));
  out.push_back(SseEvent("message_stop", {{"type", "message_stop"}}));
  return out;
}

std::vector<std::string> GeminiEvents(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    Json part = {{"text", kWords[i % std::size(kWords)]}};
    Json cand = {{"content", {{"parts", {part}}, {"role", "model"}}}, {"index", 0}};
    if (i == n - 1) cand["finishReason"] = "STOP";
    // Gemini counts in every chunk, cumulatively: prompt 5 and, at the end, n candidate tokens.
    out.push_back(SseData({{"candidates", {cand}},
                           {"usageMetadata", {{"promptTokenCount", 5}, {"candidatesTokenCount", i + 1}}}}));
  }
  return out;
}

std::string FullText(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) absl::StrAppend(&text, kWords[i % std::size(kWords)]);
  return text;
}

ResponsePlan Streaming(std::vector<std::string> pieces, absl::string_view content_type) {
  ResponsePlan plan;
  plan.streaming = true;
  plan.headers.push_back({"content-type", std::string(content_type)});
  plan.headers.push_back({"cache-control", "no-cache"});
  plan.pieces = std::move(pieces);
  return plan;
}

}  // namespace

std::string StripAuthScheme(absl::string_view value) {
  for (absl::string_view scheme : {"Bearer ", "Token "}) {
    if (absl::StartsWithIgnoreCase(value, scheme)) return std::string(value.substr(scheme.size()));
  }
  return std::string(value);
}

std::string ModelOf(absl::string_view target, absl::string_view body) {
  absl::string_view path = target.substr(0, target.find('?'));
  if (size_t at = path.find("/models/"); at != absl::string_view::npos) {
    absl::string_view rest = path.substr(at + 8);
    return std::string(rest.substr(0, rest.find(':')));
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("model");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

Scenario ScenarioFor(absl::string_view model) {
  Scenario s;
  using K = Scenario::Kind;
  if (model == "fake-429") s.kind = K::kRateLimited;
  if (model == "fake-break") s.kind = K::kBreak;
  if (model == "fake-stall-headers") s.kind = K::kStallHeaders;
  if (model == "fake-stall-body") s.kind = K::kStallBody;
  if (model == "fake-hold") s.kind = K::kHold;
  if (model == "fake-burst") s.kind = K::kBurst;
  if (absl::StartsWith(model, "fake-slow-")) {
    std::vector<absl::string_view> parts = absl::StrSplit(model.substr(10), '-');
    if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &s.events) &&
        absl::SimpleAtoi(parts[1], &s.interval_ms) && s.events > 0 && s.events <= 100000 &&
        s.interval_ms >= 0) {
      s.kind = K::kSlow;
    }
  }
  return s;
}

ResponsePlan PlanUnauthorized() {
  return JsonError(401, "Incorrect API key provided (fake provider).");
}

ResponsePlan PlanResponse(absl::string_view method, absl::string_view target,
                          absl::string_view body) {
  absl::string_view path = target.substr(0, target.find('?'));
  std::string model = ModelOf(target, body);
  Scenario scenario = ScenarioFor(model);
  if (scenario.kind == Scenario::Kind::kRateLimited) {
    ResponsePlan plan = JsonError(429, "Rate limit reached (fake provider).");
    plan.headers.push_back({"retry-after", "7"});
    plan.headers.push_back({"x-ratelimit-remaining-requests", "0"});
    return plan;
  }
  // Scenarios that stream always stream, whatever the body says.
  bool scenario_streams = scenario.kind != Scenario::Kind::kNormal;
  int n = scenario.kind == Scenario::Kind::kSlow ? scenario.events : 3;

  ResponsePlan plan;
  if (method == "GET") {
    plan = Json200({{"object", "list"}, {"data", {{{"id", "fake-model"}, {"object", "model"}}}}});
  } else if (absl::EndsWith(path, "/chat/completions")) {
    if (WantsStream(body) || scenario_streams) {
      plan = Streaming(OpenAiEvents(model, n, WantsUsageChunk(body)), "text/event-stream");
    } else {
      plan = Json200({{"id", "chatcmpl-fake"},
                      {"object", "chat.completion"},
                      {"model", model},
                      {"choices",
                       {{{"index", 0},
                         {"message", {{"role", "assistant"}, {"content", FullText(n)}}},
                         {"finish_reason", "stop"}}}},
                      {"usage", {{"prompt_tokens", 9}, {"completion_tokens", n}, {"total_tokens", 9 + n}}}});
    }
  } else if (absl::EndsWith(path, "/v1/messages")) {
    if (WantsStream(body) || scenario_streams) {
      plan = Streaming(AnthropicEvents(model, n), "text/event-stream; charset=utf-8");
    } else {
      plan = Json200({{"id", "msg_fake"},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", model},
                      {"content", {{{"type", "text"}, {"text", FullText(n)}}}},
                      {"stop_reason", "end_turn"},
                      {"usage", {{"input_tokens", 12}, {"output_tokens", n}}}});
    }
  } else if (absl::StrContains(path, ":streamGenerateContent")) {
    plan = Streaming(GeminiEvents(n), "text/event-stream");
  } else if (absl::StrContains(path, ":generateContent")) {
    plan = Json200(
        {{"candidates",
          {{{"content", {{"parts", {{{"text", FullText(n)}}}}, {"role", "model"}}},
            {"finishReason", "STOP"}}}},
         {"usageMetadata", {{"promptTokenCount", 5}, {"candidatesTokenCount", n}}}});
  } else if (absl::EndsWith(path, "/audio/speech") || absl::StrContains(path, "/v1/text-to-speech/") ||
             absl::EndsWith(path, "/v1/speak")) {
    std::vector<std::string> pieces;
    for (int p = 0; p < kAudioPieces; ++p) {
      std::string piece(kAudioPieceBytes, '\0');
      for (size_t i = 0; i < piece.size(); ++i) {
        piece[i] = static_cast<char>((p * kAudioPieceBytes + i) * 7 % 256);
      }
      pieces.push_back(std::move(piece));
    }
    plan = Streaming(std::move(pieces), "audio/mpeg");
  } else if (absl::EndsWith(path, "/v1/listen")) {
    plan = Json200({{"results",
                     {{"channels",
                       {{{"alternatives", {{{"transcript", FullText(n)}, {"confidence", 0.99}}}}}}}}}});
  } else {
    return JsonError(404, "Unknown path (fake provider).");
  }
  plan.headers.push_back({"x-request-id", "req_fake_123"});
  plan.headers.push_back({"x-ratelimit-remaining-requests", "99"});
  plan.scenario = scenario;
  return plan;
}

}  // namespace byok::testing::fake
