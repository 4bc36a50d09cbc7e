// Token counts read from each provider's non-streaming JSON.
#include "services/relay/usage_parser.h"

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
