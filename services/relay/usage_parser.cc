#include "services/relay/usage_parser.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/json/json_nesting.h"

namespace byok::relay {
namespace {

// The count `field` of `object`, or nullopt when absent or not a whole number; negatives read as 0.
std::optional<int64_t> Count(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  int64_t v = it->get<int64_t>();
  return v > 0 ? v : 0;
}

// The usage object of `doc` in any provider's shape: top-level `usage` (OpenAI, Anthropic's
// message_delta and non-streamed replies), `message.usage` (Anthropic's message_start) or
// `usageMetadata` (Gemini); null when there is none.
const nlohmann::json* UsageObject(const nlohmann::json& doc) {
  if (!doc.is_object()) return nullptr;
  if (auto it = doc.find("usage"); it != doc.end() && it->is_object()) return &*it;
  if (auto it = doc.find("usageMetadata"); it != doc.end() && it->is_object()) return &*it;
  if (auto msg = doc.find("message"); msg != doc.end() && msg->is_object()) {
    if (auto it = msg->find("usage"); it != msg->end() && it->is_object()) return &*it;
  }
  return nullptr;
}

// Overwrites the counts `usage` carries, keeping the others (an Anthropic message_delta has only output).
void ReadCounts(const nlohmann::json& usage, TokenUsage* out) {
  for (const char* field : {"prompt_tokens", "input_tokens", "promptTokenCount"}) {
    if (std::optional<int64_t> v = Count(usage, field)) out->input = *v;
  }
  for (const char* field : {"completion_tokens", "output_tokens", "candidatesTokenCount"}) {
    if (std::optional<int64_t> v = Count(usage, field)) out->output = *v;
  }
}

}  // namespace

TokenUsage ParseTokenUsage(absl::string_view json) {
  TokenUsage out;
  std::optional<nlohmann::json> parsed = ::byok::json::ParseBounded(json);
  if (!parsed.has_value()) return out;
  if (const nlohmann::json* usage = UsageObject(*parsed)) ReadCounts(*usage, &out);
  return out;
}

void StreamUsageScanner::Feed(absl::string_view piece) {
  while (!piece.empty()) {
    size_t end = piece.find('\n');
    absl::string_view part = piece.substr(0, end);
    if (!skipping_) {
      if (line_.size() + part.size() > kMaxLineBytes) {
        skipping_ = true;
        std::string().swap(line_);
      } else if (end != absl::string_view::npos && line_.empty()) {
        OnLine(part);  // a whole line in this piece: no copy
      } else {
        line_.append(part.data(), part.size());
      }
    }
    if (end == absl::string_view::npos) return;
    if (!skipping_ && !line_.empty()) OnLine(line_);
    line_.clear();
    skipping_ = false;
    piece.remove_prefix(end + 1);
  }
}

TokenUsage StreamUsageScanner::Finish() {
  if (!skipping_ && !line_.empty()) OnLine(line_);
  line_.clear();
  return usage_;
}

void StreamUsageScanner::OnLine(absl::string_view line) {
  absl::ConsumeSuffix(&line, "\r");
  if (!absl::ConsumePrefix(&line, "data:") || !absl::StrContains(line, "sage")) return;
  std::optional<nlohmann::json> parsed = ::byok::json::ParseBounded(line);
  if (!parsed.has_value()) return;
  if (const nlohmann::json* usage = UsageObject(*parsed)) ReadCounts(*usage, &usage_);
}

}  // namespace byok::relay
