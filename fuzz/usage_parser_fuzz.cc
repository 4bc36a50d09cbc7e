// Provider response bodies as the relay reads token usage from them (OpenAI, Anthropic, Gemini forms).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "services/relay/usage_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)byok::relay::ParseTokenUsage(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
