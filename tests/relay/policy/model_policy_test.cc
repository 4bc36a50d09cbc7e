// ALLOWED_MODELS matching (compat.md §9) and where a request names its model (§3.14, §3.15).
#include "services/relay/policy/model_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace byok::relay {
namespace {

TEST(WildcardMatch, WholeStringCaseInsensitiveStarIsAnyRun) {
  EXPECT_TRUE(WildcardMatch("gpt-4o", "GPT-4O"));
  EXPECT_TRUE(WildcardMatch("gpt-4o*", "gpt-4o"));
  EXPECT_TRUE(WildcardMatch("gpt-4o*", "gpt-4o-mini"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(WildcardMatch("gpt-4o", "gpt-4o-mini"));
  EXPECT_FALSE(WildcardMatch("gpt-4o", "xgpt-4o"));
  EXPECT_FALSE(WildcardMatch("gpt.4o", "gpt-4o"));  // everything but '*' is literal
  EXPECT_TRUE(WildcardMatch("a?c", "a?c"));
  EXPECT_FALSE(WildcardMatch("a?c", "abc"));
  // Linear: a long text against many stars ends quickly.
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*b", std::string(20000, 'a')));
}

TEST(ModelAllowlist, ProviderRouteRules) {
  ModelAllowlist none;
  EXPECT_TRUE(none.AllowsProviderModel("openai", std::string("anything")));
  ModelAllowlist list = ModelAllowlist::Parse("google/gemini-2.0-flash, anthropic/claude-3-5-haiku*,gpt-4o");
  EXPECT_TRUE(list.AllowsProviderModel("google", std::string("gemini-2.0-flash")));
  EXPECT_TRUE(list.AllowsProviderModel("anthropic", std::string("claude-3-5-haiku-x")));
  EXPECT_TRUE(list.AllowsProviderModel("openai", std::string("gpt-4o")));
  EXPECT_TRUE(list.AllowsProviderModel("openai", std::nullopt));  // no model: allowed, as the original
  EXPECT_FALSE(list.AllowsProviderModel("openai", std::string("gpt-4")));
  // "<provider>/<model>" is tried only for models without '/'.
  EXPECT_FALSE(list.AllowsProviderModel("openrouter", std::string("google/gemini-2.0-flash/x")));
  EXPECT_TRUE(list.AllowsProviderModel("openrouter", std::string("google/gemini-2.0-flash")));
}

TEST(ModelAllowlist, UnifiedRouteMatchesTheRawString) {
  ModelAllowlist list = ModelAllowlist::Parse("anthropic/claude-*");
  EXPECT_TRUE(list.AllowsUnifiedModel("anthropic/claude-x"));
  EXPECT_TRUE(list.AllowsUnifiedModel("Anthropic/Claude-x"));
  EXPECT_FALSE(list.AllowsUnifiedModel("claude-x"));  // not expanded with its provider
  EXPECT_TRUE(ModelAllowlist().AllowsUnifiedModel("x"));
}

TEST(NotPermittedMessage, IsTheOriginals) {
  EXPECT_EQ(NotPermittedMessage("gpt-4"), "Model \"gpt-4\" is not permitted on this relay.");
}

TEST(ReadJsonBody, ModelOnlyWhenStringStreamOnlyWhenTrue) {
  JsonBodyFacts f = ReadJsonBody(R"({"model":"gpt-4o","stream":true})");
  EXPECT_EQ(f.model, "gpt-4o");
  EXPECT_TRUE(f.stream);
  f = ReadJsonBody(R"({"model":["gpt-4o"],"stream":"true"})");
  EXPECT_EQ(f.model, std::nullopt);
  EXPECT_FALSE(f.stream);
  f = ReadJsonBody("not json");
  EXPECT_EQ(f.model, std::nullopt);
  f = ReadJsonBody(std::string(100000, '[') + std::string(100000, ']'));  // too deep: no facts, no crash
  EXPECT_EQ(f.model, std::nullopt);
}

TEST(ModelFromGeminiPath, OnlyGenerateActions) {
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/gemini-2.0-flash:generateContent"), "gemini-2.0-flash");
  EXPECT_EQ(ModelFromGeminiPath("/v1/models/gemini-pro:streamGenerateContent?alt=sse"), "gemini-pro");
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/gemini-pro"), "gemini-pro");
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/gemini-pro/x"), "gemini-pro");
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/gemini-pro:countTokens"), std::nullopt);
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/"), std::nullopt);
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models"), std::nullopt);
  EXPECT_EQ(ModelFromGeminiPath("/v2/models/x:generateContent"), std::nullopt);
}

}  // namespace
}  // namespace byok::relay
