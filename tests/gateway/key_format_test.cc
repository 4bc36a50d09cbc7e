#include "services/gateway/key_format.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::gateway {
namespace {

TEST(KeyFormatTest, EachProvidersRuleAndHint) {
  EXPECT_FALSE(KeyFormatHint("openai", "sk-proj-abcdefghij").has_value());
  EXPECT_EQ(*KeyFormatHint("openai", "sk-ant-abcdefghij"),
            "OpenAI API keys start with sk- (e.g. sk-proj-... or sk-...); make sure you are not pasting an "
            "Anthropic key");
  EXPECT_FALSE(KeyFormatHint("anthropic", "sk-ant-api03-abcdef").has_value());
  EXPECT_EQ(*KeyFormatHint("anthropic", "sk-proj-abcdefghij"), "Anthropic API keys start with sk-ant-");
  EXPECT_FALSE(KeyFormatHint("google", "AIza" + std::string(35, 'a')).has_value());
  EXPECT_FALSE(KeyFormatHint("google", "AIza" + std::string(30, '_') + "-a9Z_").has_value());
  EXPECT_FALSE(KeyFormatHint("google", std::string(51, 'x')).has_value());  // long tokens pass
  EXPECT_EQ(*KeyFormatHint("google", "AIza" + std::string(34, 'a')),
            "Google API keys start with AIza and are 39 characters long");
  EXPECT_TRUE(KeyFormatHint("google", "AIza" + std::string(34, 'a') + "!").has_value());
  EXPECT_FALSE(KeyFormatHint("groq", "gsk_abcdefghij").has_value());
  EXPECT_EQ(*KeyFormatHint("groq", "sk-abcdefghij"), "Groq API keys start with gsk_");
  EXPECT_FALSE(KeyFormatHint("openrouter", "sk-or-v1-abcdef").has_value());
  EXPECT_EQ(*KeyFormatHint("openrouter", "sk-abcdefghij"), "OpenRouter API keys start with sk-or-");
  EXPECT_FALSE(KeyFormatHint("mistral", std::string(32, 'm')).has_value());
  EXPECT_EQ(*KeyFormatHint("mistral", std::string(31, 'm')),
            "Mistral API keys are at least 32 characters long");
  for (const char* free_form : {"elevenlabs", "huggingface", "deepgram", "openai-compatible"}) {
    EXPECT_FALSE(KeyFormatHint(free_form, "anything-at-all").has_value()) << free_form;
  }
}

TEST(KeyFormatTest, MessageUsesCurlyQuotes) {
  EXPECT_EQ(KeyFormatMessage("groq", "Groq API keys start with gsk_"),
            "API key format looks wrong for provider \u201cgroq\u201d. Groq API keys start with gsk_");
}

}  // namespace
}  // namespace byok::gateway
