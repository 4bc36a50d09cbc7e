// End to end: rate limits tripping with their headers, a body over the limit refused before it was read,
// and the vault going away and coming back under a running gateway.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

nlohmann::json Json(const TestResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

class E2eLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = Suite::Start();
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
  }
  void TearDown() override {
    if (HasFailure() && suite_) std::cerr << suite_->Logs();
  }

  std::unique_ptr<Suite> suite_;
};

void ExpectLimited(const TestResponse& r, const std::string& limit) {
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Header("ratelimit-limit"), limit);
  EXPECT_EQ(r.Header("ratelimit-remaining"), "0");
  EXPECT_FALSE(r.Header("ratelimit-reset").empty());
  EXPECT_FALSE(r.Header("retry-after").empty());
  EXPECT_TRUE(Json(r)["error"].is_string());
}

TEST_F(E2eLimitsTest, EachRateLimitTripsWithItsHeaders) {
  auto global_port = suite_->StartExtraGateway({{"RATE_LIMIT_GLOBAL", "3"}});
  ASSERT_TRUE(global_port.ok()) << global_port.status();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Fetch(*global_port, "GET", "/models")->status, 200);
  ExpectLimited(*Fetch(*global_port, "GET", "/models"), "3");

  auto register_port = suite_->StartExtraGateway({{"RATE_LIMIT_REGISTER", "2"}});
  ASSERT_TRUE(register_port.ok());
  std::vector<std::pair<std::string, std::string>> app = {
      {"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)}};
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Fetch(*register_port, "POST", "/users", app, "{\"app_id\":\"rl\"}")->status, 200);
  }
  ExpectLimited(*Fetch(*register_port, "POST", "/users", app, "{\"app_id\":\"rl\"}"), "2");

  auto relay_port = suite_->StartExtraGateway({{"RATE_LIMIT_RELAY", "2"}});
  ASSERT_TRUE(relay_port.ok());
  auto token = suite_->Register();
  auto other = suite_->Register();
  ASSERT_TRUE(token.ok() && other.ok());
  for (const std::string* t : {&*token, &*other}) {
    ASSERT_EQ(Fetch(suite_->port(), "POST", "/keys/openai", {{"x-relay-token", *t}},
                    "{\"key\":\"sk-rate-limit\"}")
                  ->status,
              200);
  }
  const std::string chat = R"({"model":"gpt-4o-mini","messages":[]})";
  for (int i = 0; i < 2; ++i) {
    auto r = Fetch(*relay_port, "POST", "/relay/openai/v1/chat/completions",
                   {{"x-relay-token", *token}}, chat);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->Header("ratelimit-limit"), "2");
  }
  ExpectLimited(*Fetch(*relay_port, "POST", "/relay/openai/v1/chat/completions",
                       {{"x-relay-token", *token}}, chat),
                "2");
  // Per token: another user is not limited by the first one's use.
  EXPECT_EQ(Fetch(*relay_port, "POST", "/relay/openai/v1/chat/completions",
                  {{"x-relay-token", *other}}, chat)
                ->status,
            200);
}

TEST_F(E2eLimitsTest, OversizedBodyIsRefusedBeforeItWasReadWhole) {
  auto port = suite_->StartExtraGateway({{"REQUEST_BODY_LIMIT_BYTES", "65536"}});
  ASSERT_TRUE(port.ok());
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  auto client = TestHttpClient::Connect(*port);
  ASSERT_TRUE(client.ok());
  // Announce 50 MB, send 1 KB of it, and wait for the answer: it must come anyway.
  ASSERT_TRUE((*client)
                  ->WriteRaw(absl::StrCat("POST /relay/openai/v1/chat/completions HTTP/1.1\r\n"
                                          "Host: x\r\nx-relay-token: ",
                                          *token,
                                          "\r\nContent-Type: application/json\r\n"
                                          "Content-Length: 50000000\r\n\r\n",
                                          std::string(1024, ' ')))
                  .ok());
  auto r = (*client)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json(*r)["error"], "request body too large");
  EXPECT_FALSE(suite_->fake().WaitForRequest(absl::Milliseconds(100)).has_value());
}

TEST_F(E2eLimitsTest, VaultDownIs503ThenRecoversWithoutRestartingTheGateway) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(Fetch(suite_->port(), "GET", "/keys", {{"x-relay-token", *token}})->status, 200);

  ASSERT_TRUE(suite_->StopVault().ok());
  auto r = Fetch(suite_->port(), "GET", "/keys", {{"x-relay-token", *token}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "vault unavailable");
  r = Fetch(suite_->port(), "POST", "/relay/openai/v1/chat/completions", {{"x-relay-token", *token}},
            R"({"model":"gpt-4o-mini","messages":[]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  r = Fetch(suite_->port(), "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["checks"]["vault"], "unavailable");
  EXPECT_EQ(Json(*r)["checks"]["relay"], "ok");

  ASSERT_TRUE(suite_->StartVault().ok());
  // The gateway reconnects by itself (short reconnect backoff): bounded wait for readiness.
  int status = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    status = Fetch(suite_->port(), "GET", "/health")->status;
    if (status == 200) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status, 200);
  r = Fetch(suite_->port(), "GET", "/keys", {{"x-relay-token", *token}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace byok::testing
