// Contract tests for the relay routes' quota rules (compat.md §3.14, §3.15, §8): a path refused by the
// allowlist is checked before the relay limiter and costs no quota; every rejection after the limiter
// (unsupported provider, model required or unroutable, no key) does.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

constexpr int kRelayLimit = 20;  // the original's 20 per minute per token

class ContractRelayQuotaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.gateway_env["RATE_LIMIT_RELAY"] = std::to_string(kRelayLimit);
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite_, nullptr); }
  void TearDown() override {
    if (HasFailure()) std::cerr << suite_->Logs();
  }

  // A new user with an openai key: its own relay quota.
  static std::string NewUser() {
    auto token = suite_->Register();
    EXPECT_TRUE(token.ok()) << token.status();
    auto r = Fetch(suite_->port(), "POST", "/keys/openai", {{"x-relay-token", token.value_or("")}},
                   R"({"key":"key-for-openai-0123456789"})");
    EXPECT_TRUE(r.ok() && r->status == 200);
    return token.value_or("");
  }

  static int Status(const std::string& token, const std::string& target, const std::string& body) {
    TestRequest request;
    request.method = "POST";
    request.target = target;
    request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
    request.body = body;
    auto r = Fetch(suite_->port(), request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->status : 0;
  }

  static Suite* suite_;
};

Suite* ContractRelayQuotaTest::suite_ = nullptr;

constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[]})";

TEST_F(ContractRelayQuotaTest, APathRefusalCostsNoRelayQuota) {
  const std::string token = NewUser();
  for (int i = 0; i < kRelayLimit + 5; ++i) {
    ASSERT_EQ(Status(token, "/relay/anthropic/v1/models", kChat), 403) << i;
  }
  // The whole quota is still there.
  for (int i = 0; i < kRelayLimit; ++i) {
    ASSERT_EQ(Status(token, "/relay/openai/v1/chat/completions", kChat), 200) << i;
  }
  EXPECT_EQ(Status(token, "/relay/openai/v1/chat/completions", kChat), 429);
  // Even now a refused path is a 403, not a 429: the allowlist comes first.
  EXPECT_EQ(Status(token, "/relay/anthropic/v1/models", kChat), 403);
}

TEST_F(ContractRelayQuotaTest, RefusalsAfterTheLimiterCostQuota) {
  struct Case {
    const char* what;
    std::string target;
    std::string body;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"unsupported provider", "/relay/nope/v1/chat/completions", kChat, 400},
           {"no key stored", "/relay/anthropic/v1/messages", R"({"model":"claude-3-5-haiku"})", 400},
           {"model required", "/relay", R"({"messages":[]})", 400},
           {"unroutable model", "/relay", R"({"model":"o3"})", 400},
       }) {
    const std::string token = NewUser();
    for (int i = 0; i < kRelayLimit; ++i) {
      ASSERT_EQ(Status(token, c.target, c.body), c.status) << c.what << " " << i;
    }
    EXPECT_EQ(Status(token, c.target, c.body), 429) << c.what;
    EXPECT_EQ(Status(token, "/relay/openai/v1/chat/completions", kChat), 429) << c.what;
  }
}

}  // namespace
}  // namespace byok::testing
