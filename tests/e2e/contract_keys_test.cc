// Contract, compat.md §3.6-3.9: storing, rotating, listing and deleting keys, with the check order.
#include <gmock/gmock.h>

#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ContractKeysTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }
};

TEST_F(ContractKeysTest, StoreAnswersOkAndProviderAndTakesTheApiKeyAlias) {
  std::string token = NewToken();
  TestResponse r = Call("POST", "/keys/openai", token, R"({"key":"  sk-contract-0123456789  "})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}, {"provider", "openai"}}));
  r = Call("POST", "/keys/anthropic", token, R"({"api_key":"sk-ant-contract-0123456789"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}, {"provider", "anthropic"}}));
}

TEST_F(ContractKeysTest, ListIsProviderNamesOnly) {
  std::string token = NewToken();
  TestResponse r = Call("GET", "/keys", token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), nlohmann::json({{"providers", nlohmann::json::array()}}));
  const std::string key = "sk-never-listed-0123456789";
  ASSERT_EQ(Call("POST", "/keys/openai", token, nlohmann::json({{"key", key}}).dump()).status, 200);
  ASSERT_EQ(Call("POST", "/keys/groq", token, R"({"key":"gsk_contract_0123456789"})").status, 200);
  r = Call("GET", "/keys", token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), nlohmann::json({{"providers", {"groq", "openai"}}}));
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr(key)));
}

TEST_F(ContractKeysTest, DeleteAlwaysAnswersOk) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-delete-0123456789"})").status, 200);
  TestResponse r = Call("DELETE", "/keys/openai", token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}}));
  // Nothing stored: still ok.
  r = Call("DELETE", "/keys/openai", token);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}}));
  EXPECT_EQ(Call("DELETE", "/keys/openai", "").status, 401);
}

TEST_F(ContractKeysTest, TheTokenIsCheckedBeforeProviderAndKey) {
  const std::string bad_token(64, 'b');
  EXPECT_EQ(Call("POST", "/keys/not-a-provider", bad_token, R"({"key":"x"})").status, 401);
  EXPECT_EQ(Call("POST", "/keys/not-a-provider", "", R"({"key":"x"})").status, 401);
  EXPECT_EQ(Call("POST", "/keys/not-a-provider/rotate", bad_token, R"({"key":"x"})").status, 401);
  EXPECT_EQ(Call("DELETE", "/keys/not-a-provider", bad_token).status, 401);
  std::string token = NewToken();
  // Then the provider, before the key.
  TestResponse r = Call("POST", "/keys/not-a-provider", token, R"({"key":"x"})");
  EXPECT_EQ(r.status, 400);
  r = Call("POST", "/keys/not-a-provider/rotate", token, R"({"key":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Error(r), StartsWith("Unsupported provider. Supported: "));
  EXPECT_THAT(Error(r), HasSubstr("anthropic"));
  EXPECT_THAT(Error(r), HasSubstr("openai-compatible"));
}

TEST_F(ContractKeysTest, RotationChecksInTheOriginalsOrder) {
  std::string token = NewToken();
  // Key length (after trimming).
  for (const char* body : {R"({"key":"sk-short"})", R"({"key":"   sk-short   "})", R"({"key":5})", "{}"}) {
    TestResponse r = Call("POST", "/keys/openai/rotate", token, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(Error(r), "A valid API key is required (minimum 10 characters)") << body;
  }
  // Format, with the hint beside the message.
  TestResponse r = Call("POST", "/keys/openai/rotate", token, R"({"key":"sk-ant-looks-like-anthropic"})");
  EXPECT_EQ(r.status, 400);
  const std::string hint =
      "OpenAI API keys start with sk- (e.g. sk-proj-... or sk-...); make sure you are not pasting an "
      "Anthropic key";
  EXPECT_EQ(Error(r), "API key format looks wrong for provider \u201copenai\u201d. " + hint);
  EXPECT_EQ(Json(r)["hint"], hint);
  r = Call("POST", "/keys/groq/rotate", token, R"({"api_key":"not-a-groq-key"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r)["hint"], "Groq API keys start with gsk_");
  r = Call("POST", "/keys/google/rotate", token, R"({"key":"AIza-too-short"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r)["hint"], "Google API keys start with AIza and are 39 characters long");
}

TEST_F(ContractKeysTest, RotationAsksTheProviderAndSaysWhetherAKeyWasReplaced) {
  std::string token = NewToken();
  suite_->fake().SetAcceptedKeys({"sk-accepted-new-key-0123"});
  TestResponse r = Call("POST", "/keys/openai/rotate", token, R"({"key":"sk-refused-new-key-0123"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_THAT(Error(r), StartsWith("New key was rejected by openai"));
  EXPECT_THAT(Error(r), ::testing::EndsWith(". Your existing key was not changed."));
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("sk-refused-new-key-0123")));

  // Nothing stored before: stored, not rotated.
  r = Call("POST", "/keys/openai/rotate", token, R"({"key":"sk-accepted-new-key-0123"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}, {"provider", "openai"}, {"rotated", false}}));
  // Again: a key existed, so it was rotated.
  r = Call("POST", "/keys/openai/rotate", token, R"({"api_key":"sk-accepted-new-key-0123"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["rotated"], true);
  suite_->fake().SetAcceptedKeys({});
}

// The vault's phrases and rules (its branch makes the store route say these).
TEST_F(ContractKeysTest, StorePhrasesAreTheOriginals) {
  std::string token = NewToken();
  TestResponse r = Call("POST", "/keys/OpenAI", token, R"({"key":"sk-contract-0123456789"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Error(r),
            "Unsupported provider. Supported: anthropic, openai, google, groq, openrouter, mistral, "
            "elevenlabs, huggingface, deepgram, openai-compatible");
  for (const char* body : {R"({"key":"12345"})", R"({"key":"   123456789   "})", R"({"key":5})", "{}"}) {
    r = Call("POST", "/keys/openai", token, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(Error(r), "A valid API key is required") << body;
  }
  r = Call("DELETE", "/keys/not-a-provider", token);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true}}));
}

}  // namespace
}  // namespace byok::testing
