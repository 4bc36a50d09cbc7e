// Token counts read from each provider's non-streaming JSON.
#include "services/relay/usage_parser.h"

#include <string>

#include "gtest/gtest.h"

namespace byok::relay {
namespace {

TEST(UsageParserTest, ReadsEachProvidersFormat) {
  TokenUsage openai = ParseTokenUsage(R"({"usage":{"prompt_tokens":9,"completion_tokens":3}})");
  EXPECT_EQ(openai.input, 9);
  EXPECT_EQ(openai.output, 3);
  TokenUsage anthropic = ParseTokenUsage(R"({"usage":{"input_tokens":12,"output_tokens":4}})");
  EXPECT_EQ(anthropic.input, 12);
  EXPECT_EQ(anthropic.output, 4);
  TokenUsage gemini =
      ParseTokenUsage(R"({"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":7}})");
  EXPECT_EQ(gemini.input, 5);
  EXPECT_EQ(gemini.output, 7);
}

TEST(UsageParserTest, AnythingElseGivesZeros) {
  for (const char* text : {"", "not json", "[]", R"({"usage":"x"})",
                           R"({"usage":{"prompt_tokens":-5,"completion_tokens":"3"}})",
                           "data: {\"usage\":{}}"}) {
    TokenUsage u = ParseTokenUsage(text);
    EXPECT_EQ(u.input, 0) << text;
    EXPECT_EQ(u.output, 0) << text;
  }
}

}  // namespace
}  // namespace byok::relay

namespace byok::relay {
namespace {

// Feeds `stream` to a scanner in pieces of `step` bytes (every split point must give the same counts).
TokenUsage Scan(absl::string_view stream, size_t step) {
  StreamUsageScanner scanner;
  for (size_t at = 0; at < stream.size(); at += step) scanner.Feed(stream.substr(at, step));
  return scanner.Finish();
}

void ExpectCounts(absl::string_view stream, int64_t input, int64_t output) {
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, stream.size() + 1}) {
    TokenUsage u = Scan(stream, step);
    EXPECT_EQ(u.input, input) << "step " << step << "\n" << stream;
    EXPECT_EQ(u.output, output) << "step " << step << "\n" << stream;
  }
}

TEST(StreamUsageScannerTest, OpenAiFinalUsageChunk) {
  ExpectCounts(
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi usage\"}}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
      "data: [DONE]\n\n",
      9, 3);
}

TEST(StreamUsageScannerTest, AnthropicMessageStartThenCumulativeMessageDelta) {
  ExpectCounts(
      "event: message_start\r\n"
      "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\r\n\r\n"
      "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"x\"}}\r\n\r\n"
      "event: message_delta\r\n"
      "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\r\n\r\n"
      "event: message_delta\r\n"
      "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\r\n\r\n"
      "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
      12, 5);
}

TEST(StreamUsageScannerTest, GeminiUsageMetadataInEveryChunkTheLastWins) {
  ExpectCounts(
      "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1}}\n\n"
      "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":4}}",
      5, 4);  // the last line has no newline: Finish reads it
}

TEST(StreamUsageScannerTest, AStreamWithoutCountsOrWithBrokenJsonGivesZeros) {
  ExpectCounts("data: {\"choices\":[]}\n\ndata: [DONE]\n\n", 0, 0);
  ExpectCounts("data: {\"usage\":{\"prompt_tokens\":9\n\n", 0, 0);
  ExpectCounts("data: {\"usage\":\"many\"}\n\n: usage comment {\"usage\":{\"prompt_tokens\":9}}\n\n", 0, 0);
  ExpectCounts(std::string("data: ") + std::string(1000, '[') + "\"usage\"\n\n", 0, 0);
}

TEST(StreamUsageScannerTest, ALineLongerThanTheLimitIsSkippedWholeAndTheNextLineStillCounts) {
  std::string padding(StreamUsageScanner::kMaxLineBytes, 'a');
  std::string stream = "data: {\"pad\":\"" + padding + "\",\"usage\":{\"prompt_tokens\":99}}\n" +
                       "data: {\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n";
  ExpectCounts(stream, 7, 2);
  // Skipped even when its end comes alone in a later piece, with nothing kept meanwhile.
  StreamUsageScanner scanner;
  scanner.Feed("data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n");
  scanner.Feed("data: {\"usage\":{\"prompt_tokens\":50,\"x\":\"");
  for (int i = 0; i < 4; ++i) scanner.Feed(padding);
  scanner.Feed("\"}}\n");
  TokenUsage u = scanner.Finish();
  EXPECT_EQ(u.input, 3);
  EXPECT_EQ(u.output, 1);
}

}  // namespace
}  // namespace byok::relay
