#include "services/relay/policy/policy_config.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "tests/relay/policy/test_env.h"
#include "tests/testing/status_matchers.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

TEST(PolicyConfig, DefaultsWhenUnset) {
  absl::StatusOr<PolicyConfig> c = PolicyConfig::Load(TestEnv({}));
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->allowed_models.empty());
  EXPECT_TRUE(c->base_url_overrides.empty());
  EXPECT_FALSE(c->allow_private_upstreams);
}

TEST(PolicyConfig, ReadsEveryVariable) {
  absl::StatusOr<PolicyConfig> c = PolicyConfig::Load(TestEnv({
      {"ALLOWED_MODELS", "gpt-4o*,claude-*"},
      {"BYOK_PROVIDER_OPENAI_BASE_URL", "http://127.0.0.1:9000"},
      {"BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL", "https://llm.internal/v1"},
      {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "true"},
  }));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->allowed_models.patterns().size(), 2u);
  ASSERT_TRUE(c->base_url_overrides.contains("openai"));
  EXPECT_EQ(c->base_url_overrides.at("openai").port, 9000);
  ASSERT_TRUE(c->base_url_overrides.contains("openai-compatible"));
  EXPECT_EQ(c->base_url_overrides.at("openai-compatible").base_path, "/v1");
  EXPECT_TRUE(c->allow_private_upstreams);
}

TEST(PolicyConfig, BadValuesNameTheVariableNotTheValue) {
  absl::StatusOr<PolicyConfig> c =
      PolicyConfig::Load(TestEnv({{"BYOK_PROVIDER_GROQ_BASE_URL", "https://user:s3cret@proxy.example"}}));
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(absl::StrContains(c.status().message(), "BYOK_PROVIDER_GROQ_BASE_URL"));
  EXPECT_FALSE(absl::StrContains(c.status().message(), "s3cret"));

  EXPECT_THAT(PolicyConfig::Load(TestEnv({{"BYOK_PROVIDER_OPENAI_BASE_URL", "ftp://x"}})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PolicyConfig::Load(TestEnv({{"BYOK_PROVIDER_OPENAI_BASE_URL", "https://x/?a=1"}})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PolicyConfig::Load(TestEnv({{"BYOK_ALLOW_PRIVATE_UPSTREAMS", "maybe"}})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PolicyConfig, AllowedModelsTakesAnyListTheOriginalTakes) {
  absl::StatusOr<PolicyConfig> c = PolicyConfig::Load(TestEnv({{"ALLOWED_MODELS", " gpt 4o , ,Claude-*,"}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->allowed_models.patterns(), (std::vector<std::string>{"gpt 4o", "Claude-*"}));
}

}  // namespace
}  // namespace byok::relay
