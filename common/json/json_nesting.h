// Bounded JSON parsing for hostile input. nlohmann's parser is iterative, but serialising (dump), comparing
// and walking a document recurse once per nesting level: a 200 KB body of `[` can overflow the stack. Every
// JSON text from the network is therefore measured, without recursion, before it is parsed.
#ifndef BYOK_COMMON_JSON_JSON_NESTING_H_
#define BYOK_COMMON_JSON_JSON_NESTING_H_

#include <optional>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace byok::json {

// Deeper than any provider request or response (tool schemas nest a few dozen levels at most), shallow
// enough that recursion over the parsed document stays far from the stack's limit.
inline constexpr int kMaxJsonDepth = 128;

// Returns InvalidArgument when arrays and objects in `text` nest deeper than `max_depth`, or when `text`
// holds a NUL byte (no JSON text may, inside a string or out; nlohmann's lexer would take it for the end
// of the input and accept `{"a":1}` followed by NUL and anything). Otherwise looks only at brackets
// outside strings; says nothing about whether `text` is otherwise valid JSON. O(n), no recursion.
absl::Status CheckJsonNesting(absl::string_view text, int max_depth = kMaxJsonDepth);

// Parses `text` when it is valid JSON nested at most `max_depth` deep; nullopt otherwise. Never throws.
template <typename Json = nlohmann::json>
std::optional<Json> ParseBounded(absl::string_view text, int max_depth = kMaxJsonDepth) {
  if (!CheckJsonNesting(text, max_depth).ok()) return std::nullopt;
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

}  // namespace byok::json

#endif  // BYOK_COMMON_JSON_JSON_NESTING_H_
