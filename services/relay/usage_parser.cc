#include "services/relay/usage_parser.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "common/json/json_nesting.h"

namespace byok::relay {
namespace {

int64_t Count(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_integer()) return 0;
  int64_t v = it->get<int64_t>();
  return v > 0 ? v : 0;
}

}  // namespace

TokenUsage ParseTokenUsage(absl::string_view json) {
  TokenUsage out;
  std::optional<nlohmann::json> parsed = ::byok::json::ParseBounded(json);
  if (!parsed.has_value() || !parsed->is_object()) return out;
  const nlohmann::json& doc = *parsed;
  if (auto it = doc.find("usage"); it != doc.end() && it->is_object()) {
    out.input = Count(*it, "prompt_tokens") + Count(*it, "input_tokens");
    out.output = Count(*it, "completion_tokens") + Count(*it, "output_tokens");
  } else if (auto meta = doc.find("usageMetadata"); meta != doc.end() && meta->is_object()) {
    out.input = Count(*meta, "promptTokenCount");
    out.output = Count(*meta, "candidatesTokenCount");
  }
  return out;
}

}  // namespace byok::relay
