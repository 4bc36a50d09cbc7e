// Reads token counts from a provider's response, for usage statistics: a whole JSON response, or a
// server-sent event stream as it passes (StreamUsageScanner), without keeping the stream.
#ifndef BYOK_SERVICES_RELAY_USAGE_PARSER_H_
#define BYOK_SERVICES_RELAY_USAGE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>

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

// Scans an SSE stream piece by piece for the counts providers put in their events: OpenAI-shaped final
// chunks (`usage`, sent when the request asked for stream_options.include_usage), Anthropic's
// `message_start` (message.usage: input) and `message_delta` (usage: output, cumulative), Gemini's
// `usageMetadata` (cumulative, in every chunk). A later count replaces an earlier one. Only the current
// line is kept, up to kMaxLineBytes: a longer line is skipped whole. Only `data:` lines that mention
// "usage" are parsed. Not thread-safe; one per stream.
class StreamUsageScanner {
 public:
  static constexpr size_t kMaxLineBytes = 64 * 1024;

  void Feed(absl::string_view piece);
  // The counts seen so far (a last line without its newline is read too).
  TokenUsage Finish();

 private:
  void OnLine(absl::string_view line);

  std::string line_;
  bool skipping_ = false;  // the current line outgrew kMaxLineBytes
  TokenUsage usage_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_USAGE_PARSER_H_
