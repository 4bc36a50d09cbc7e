// Reads token counts from a provider's non-streaming JSON response, for usage statistics.
#ifndef BYOK_SERVICES_RELAY_USAGE_PARSER_H_
#define BYOK_SERVICES_RELAY_USAGE_PARSER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace byok::relay {

// Input and output tokens a provider reported; 0 when unknown.
struct TokenUsage {
  int64_t input = 0;
  int64_t output = 0;
};

// Understands OpenAI-style `usage.{prompt,completion}_tokens`, Anthropic `usage.{input,output}_tokens`
// and Gemini `usageMetadata.{promptTokenCount,candidatesTokenCount}`. Anything else (or invalid JSON)
// gives zeros; never fails.
TokenUsage ParseTokenUsage(absl::string_view json);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_USAGE_PARSER_H_
