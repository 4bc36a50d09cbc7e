// The one provider list against compat.md §3.1, §3.6, §3.7, §3.14.
#include "common/providers/providers.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::providers {
namespace {

TEST(Providers, NamesInTheOriginalsOrder) {
  EXPECT_EQ(JoinedNames(),
            "anthropic, openai, google, groq, openrouter, mistral, elevenlabs, huggingface, deepgram, "
            "openai-compatible");
  ASSERT_EQ(All().size(), kProviders.size());
  for (size_t i = 0; i < kProviders.size(); ++i) EXPECT_EQ(All()[i].name, kProviders[i]);
  EXPECT_TRUE(IsKnownProvider("openai-compatible"));
  EXPECT_FALSE(IsKnownProvider("OpenAI"));
  EXPECT_FALSE(IsKnownProvider("my-ollama"));
  EXPECT_EQ(Find("nope"), nullptr);
}

TEST(Providers, RoutablePrefixes) {
  std::string joined;
  for (absl::string_view p : kRoutablePrefixes) joined += std::string(p) + ",";
  EXPECT_EQ(joined, "openai,anthropic,google,groq,openrouter,mistral,");
  for (const char* no : {"openai-compatible", "elevenlabs", "huggingface", "deepgram", "OpenAI"}) {
    EXPECT_FALSE(IsRoutablePrefix(no)) << no;
  }
}

TEST(Providers, PingPaths) {
  struct Row {
    const char* name;
    const char* ping;
  };
  for (const Row& r : {Row{"openai", "/v1/models"}, Row{"anthropic", "/v1/models"}, Row{"google", "/v1beta/models"},
                       Row{"mistral", "/v1/models"}, Row{"groq", "/openai/v1/models"},
                       Row{"openrouter", "/api/v1/models"}, Row{"elevenlabs", "/v1/models"},
                       Row{"huggingface", "/v1/models"}, Row{"deepgram", "/v1/models"}}) {
    EXPECT_EQ(Find(r.name)->ping_path, r.ping) << r.name;
  }
}

TEST(Providers, VerificationTargets) {
  EXPECT_EQ(std::string(Find("openai")->base_url) + std::string(Find("openai")->verify_path),
            "https://api.openai.com/v1/models");
  EXPECT_EQ(std::string(Find("groq")->base_url) + std::string(Find("groq")->verify_path),
            "https://api.groq.com/openai/v1/models");
  EXPECT_EQ(std::string(Find("openrouter")->base_url) + std::string(Find("openrouter")->verify_path),
            "https://openrouter.ai/api/v1/models");
  EXPECT_EQ(Find("openrouter")->verify_headers[0].second, "https://github.com/avikalpg/byok-relay");
  EXPECT_EQ(Find("anthropic")->verify_headers[0].first, "anthropic-version");
  EXPECT_EQ(Find("google")->verify_path, "/v1/models");
  EXPECT_EQ(Find("google")->auth, KeyAuth::kXGoogApiKey);
  for (const char* skipped : {"elevenlabs", "huggingface", "deepgram", "openai-compatible"}) {
    EXPECT_EQ(Find(skipped)->verify_path, "") << skipped;
  }
}

TEST(KeyFormatHint, RulesAndHintsAreTheOriginals) {
  EXPECT_EQ(KeyFormatHint("openai", "sk-proj-abc"), std::nullopt);
  EXPECT_EQ(KeyFormatHint("openai", "sk-ant-abc"),
            "OpenAI API keys start with sk- (e.g. sk-proj-... or sk-...); make sure you are not pasting an "
            "Anthropic key");
  EXPECT_EQ(KeyFormatHint("anthropic", "sk-ant-abc"), std::nullopt);
  EXPECT_EQ(KeyFormatHint("anthropic", "sk-abc"), "Anthropic API keys start with sk-ant-");
  const std::string google_ok = "AIza" + std::string(35, 'a');
  EXPECT_EQ(KeyFormatHint("google", google_ok), std::nullopt);
  EXPECT_EQ(KeyFormatHint("google", "AIza" + std::string(34, 'a') + "_"), std::nullopt);
  EXPECT_EQ(KeyFormatHint("google", "AIza" + std::string(34, 'a') + "!"),
            "Google API keys start with AIza and are 39 characters long");
  EXPECT_EQ(KeyFormatHint("google", "AIza" + std::string(36, 'a')),
            "Google API keys start with AIza and are 39 characters long");
  EXPECT_EQ(KeyFormatHint("google", std::string(51, 'x')), std::nullopt);  // long tokens pass
  EXPECT_EQ(KeyFormatHint("groq", "gsk_1234567890"), std::nullopt);
  EXPECT_EQ(KeyFormatHint("groq", "sk-1234567890"), "Groq API keys start with gsk_");
  EXPECT_EQ(KeyFormatHint("openrouter", "sk-or-v1-abc"), std::nullopt);
  EXPECT_EQ(KeyFormatHint("openrouter", "sk-abc"), "OpenRouter API keys start with sk-or-");
  EXPECT_EQ(KeyFormatHint("mistral", std::string(32, 'm')), std::nullopt);
  EXPECT_EQ(KeyFormatHint("mistral", std::string(31, 'm')), "Mistral API keys are at least 32 characters long");
  for (const char* any : {"elevenlabs", "huggingface", "deepgram", "openai-compatible"}) {
    EXPECT_EQ(KeyFormatHint(any, "anything-at-all"), std::nullopt) << any;
  }
}

}  // namespace
}  // namespace byok::providers
