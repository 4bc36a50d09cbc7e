// Contract, compat.md §3.14-3.15 (the gateway's part: what runs before the relay routes' handlers) and
// §8: the token is checked first, by the vault, and rejected requests consume no relay quota; the relay
// limiter's headers are the ones a relayed answer and its 429 show.
#include <gmock/gmock.h>

#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
constexpr char kProviderPath[] = "/relay/openai/v1/chat/completions";

class ContractRelayTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }

  static std::string TokenWithKey() {
    std::string token = NewToken();
    EXPECT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-relay-contract-0123"})").status, 200);
    return token;
  }
};

TEST_F(ContractRelayTest, NoTokenIs401BeforeAnythingElse) {
  for (const char* target : {"/relay", kProviderPath, "/relay/not-a-provider/v1/x", "/relay/openai/"}) {
    TestResponse r = Call("POST", target, "", "{bad json}", {{"Content-Type", "text/plain"}});
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_EQ(Error(r), "x-relay-token header required") << target;
  }
  // An unknown token: 401 whatever else is wrong with the request.
  TestResponse r = Call("POST", "/relay/not-a-provider/v1/x", std::string(64, 'c'), "{}");
  EXPECT_EQ(r.status, 401);
  r = Call("POST", "/relay", std::string(64, 'c'), R"({"model":"no-such-model"})");
  EXPECT_EQ(r.status, 401);
}

TEST_F(ContractRelayTest, BearerCarriesTheTokenWhenXRelayTokenIsAbsent) {
  std::string token = TokenWithKey();
  TestResponse r = Call("POST", kProviderPath, "", kChat, {{"Authorization", absl::StrCat("Bearer ", token)}});
  EXPECT_EQ(r.status, 200) << r.body;
  // The provider gets the stored key, never the relay token.
  auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header("authorization"), "Bearer sk-relay-contract-0123");
  r = Call("POST", "/relay", "", kChat, {{"Authorization", absl::StrCat("Bearer ", token)}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ContractRelayTest, RejectedTokensConsumeNoRelayQuotaAnd429ShowsOnlyTheRelayLimiter) {
  auto port = suite_->StartExtraGateway({{"RATE_LIMIT_RELAY", "2"}, {"RATE_LIMIT_GLOBAL", "100"}});
  ASSERT_TRUE(port.ok()) << port.status();
  std::string token = TokenWithKey();
  // 401s on relay routes: only the global limiter ran (its numbers show), no relay quota used.
  for (int i = 0; i < 3; ++i) {
    TestResponse r = Call("POST", kProviderPath, std::string(64, 'd'), kChat, {}, *port);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.Header("ratelimit-policy"), "100;w=60");
    r = Call("POST", kProviderPath, "", kChat, {}, *port);
    EXPECT_EQ(r.status, 401);
  }
  // Two relayed requests for the token; the relay limiter's numbers win over the global one's.
  for (int i = 0; i < 2; ++i) {
    TestResponse r = Call("POST", i == 0 ? kProviderPath : "/relay", token, kChat, {}, *port);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("ratelimit-policy"), "2;w=60");
    EXPECT_EQ(r.Header("ratelimit-limit"), "2");
    EXPECT_EQ(r.Header("ratelimit-remaining"), std::to_string(1 - i));
  }
  TestResponse limited = Call("POST", kProviderPath, token, kChat, {}, *port);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Error(limited), "AI request rate limit exceeded (2/min).");
  EXPECT_EQ(limited.Header("ratelimit-policy"), "2;w=60");
  EXPECT_EQ(limited.Header("ratelimit-limit"), "2");
  EXPECT_EQ(limited.Header("ratelimit-remaining"), "0");
  int retry_after = std::stoi(limited.Header("retry-after"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 60);
  // Another token has its own quota.
  std::string other = TokenWithKey();
  EXPECT_EQ(Call("POST", kProviderPath, other, kChat, {}, *port).status, 200);
}

TEST_F(ContractRelayTest, OnlyPostAndGetReachTheProviderRoute) {
  std::string token = TokenWithKey();
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    TestResponse r = Call(method, kProviderPath, token, kChat);
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(Error(r), absl::StrCat("Cannot ", method, " ", kProviderPath));
  }
  TestResponse r = Call("GET", "/relay", token);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r), "Cannot GET /relay");
  // GET where the provider's path is not a GET endpoint is no route at all, as in the original: 404
  // before the token is looked at, with a token, a wrong one or none.
  for (const std::string& t : {token, std::string("not-a-token"), std::string()}) {
    r = Call("GET", kProviderPath, t);
    EXPECT_EQ(r.status, 404) << "token " << t;
    EXPECT_EQ(Error(r), absl::StrCat("Cannot GET ", kProviderPath));
    r = Call("HEAD", kProviderPath, t);
    EXPECT_EQ(r.status, 404) << "HEAD, token " << t;
  }
  // On a GET endpoint the token is checked first.
  EXPECT_EQ(Call("GET", "/relay/elevenlabs/v1/voices", "not-a-token").status, 401);
}

}  // namespace
}  // namespace byok::testing
