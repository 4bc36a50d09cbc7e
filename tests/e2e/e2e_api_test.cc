// End to end, as a browser app: the account and key routes, statistics, every error route, CORS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json Json(const TestResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

class E2eApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.gateway_env["ALLOWED_ORIGINS"] = "https://app.example";
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

  static absl::StatusOr<TestResponse> Call(const std::string& method, const std::string& target,
                                           const std::string& token, std::string body = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Origin", "https://app.example"}};
    if (!token.empty()) headers.emplace_back("x-relay-token", token);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return Fetch(suite_->port(), method, target, headers, std::move(body));
  }

  static Suite* suite_;
};

Suite* E2eApiTest::suite_ = nullptr;

TEST_F(E2eApiTest, RegisterStoreListDeleteNeverShowsAKey) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->size(), 64u);

  const std::string key = "sk-e2e-never-shown-0123456789";
  auto put = Call("POST", "/keys/openai", *token, nlohmann::json({{"key", key}}).dump());
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(Json(*put), nlohmann::json({{"ok", true}, {"provider", "openai"}}));
  EXPECT_EQ(put->Header("access-control-allow-origin"), "https://app.example");

  auto put2 = Call("POST", "/keys/anthropic", *token, nlohmann::json({{"key", key + "-a"}}).dump());
  ASSERT_TRUE(put2.ok());
  EXPECT_EQ(put2->status, 200);

  auto list = Call("GET", "/keys", *token);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->status, 200);
  // Names only, as the original's clients read them (providers.includes(name)).
  EXPECT_EQ(Json(*list), nlohmann::json({{"providers", {"anthropic", "openai"}}})) << list->body;
  EXPECT_THAT(list->body, Not(HasSubstr(key)));
  EXPECT_THAT(put->body + put2->body, Not(HasSubstr(key)));

  auto del = Call("DELETE", "/keys/openai", *token);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(Json(*del), nlohmann::json({{"ok", true}}));
  list = Call("GET", "/keys", *token);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Json(*list)["providers"].size(), 1u);
}

TEST_F(E2eApiTest, RegistrationAnswersTokenAndExpiry) {
  auto r = Fetch(suite_->port(), "POST", "/users",
                 {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)}},
                 "{\"app_id\":\"shape-app\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  nlohmann::json body = Json(*r);
  EXPECT_TRUE(body["token"].is_string());
  // Milliseconds since the epoch, as the original.
  ASSERT_TRUE(body["expires_at"].is_number_integer()) << r->body;
  EXPECT_GT(body["expires_at"].get<int64_t>(), absl::ToUnixMillis(absl::Now()));

  r = Fetch(suite_->port(), "POST", "/users", {}, "{\"app_id\":\"shape-app\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(Json(*r).contains("error"));
}

TEST_F(E2eApiTest, RevokeMakesTheTokenUnusableAtOnce) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  auto r = Call("POST", "/tokens/revoke", *token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json(*r)["ok"], true);
  EXPECT_TRUE(Json(*r)["message"].is_string());
  r = Call("GET", "/keys", *token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(Json(*r)["error"].is_string());
}

TEST_F(E2eApiTest, DeleteUserErasesIt) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(Call("POST", "/keys/openai", *token, "{\"key\":\"sk-delete-me-123\"}")->status, 200);
  auto r = Call("DELETE", "/users", *token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json(*r), nlohmann::json({{"ok", true}, {"message", "Account and all stored keys deleted."}}));
  r = Call("GET", "/keys", *token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
}

TEST_F(E2eApiTest, RotationIsCheckedWithTheProvider) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(Call("POST", "/keys/openai", *token, "{\"key\":\"sk-old-key-1\"}")->status, 200);
  suite_->fake().SetAcceptedKeys({"sk-good-new-key"});

  auto rejected = Call("POST", "/keys/openai/rotate", *token, "{\"key\":\"sk-bad-new-key\"}");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->status, 422) << rejected->body;
  EXPECT_TRUE(Json(*rejected)["error"].is_string());
  EXPECT_THAT(rejected->body, Not(HasSubstr("sk-bad-new-key")));

  auto accepted = Call("POST", "/keys/openai/rotate", *token, "{\"key\":\"sk-good-new-key\"}");
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->status, 200) << accepted->body;
  EXPECT_EQ(Json(*accepted),
            nlohmann::json({{"ok", true}, {"provider", "openai"}, {"rotated", true}}));

  // The rotated key is the one the provider now receives.
  auto relayed = Call("POST", "/relay/openai/v1/chat/completions", *token,
                      "{\"model\":\"gpt-4o-mini\",\"messages\":[]}");
  ASSERT_TRUE(relayed.ok());
  EXPECT_EQ(relayed->status, 200) << relayed->body;
  suite_->fake().SetAcceptedKeys({});

  auto malformed = Call("POST", "/keys/openai/rotate", *token, "{\"key\":\"has space\"}");
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
}

TEST_F(E2eApiTest, StatsCountRelayedRequests) {
  auto token = suite_->Register("stats-app");
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(Call("POST", "/keys/openai", *token, "{\"key\":\"sk-stats-key\"}")->status, 200);
  for (int i = 0; i < 3; ++i) {
    auto r = Call("POST", "/relay/openai/v1/chat/completions", *token,
                  "{\"model\":\"gpt-4o-mini\",\"messages\":[]}");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // Usage is recorded off the request path: wait (bounded) for it to land.
  nlohmann::json stats;
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  do {
    auto r = Call("GET", "/stats", *token);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
    stats = Json(*r);
    if (stats["total"] == 3) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  EXPECT_EQ(stats["total"], 3) << stats.dump();
  EXPECT_EQ(stats["error_count"], 0);
  EXPECT_EQ(stats["last_7d"], 3);
  EXPECT_EQ(stats["last_30d"], 3);
  ASSERT_EQ(stats["providers"].size(), 1u);
  EXPECT_EQ(stats["providers"]["openai"]["total"], 3);
  ASSERT_FALSE(stats["top_models"].empty());
  EXPECT_EQ(stats["top_models"][0]["model"], "gpt-4o-mini");
  EXPECT_EQ(stats["top_models"][0]["total"], 3);

  auto app = Fetch(suite_->port(), "GET", "/stats/stats-app",
                   {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)}});
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->status, 200) << app->body;
  EXPECT_EQ(Json(*app)["total"], 3);
  EXPECT_EQ(Json(*app)["user_count"], 1);
  app = Fetch(suite_->port(), "GET", "/stats/stats-app");
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->status, 401);
}

TEST_F(E2eApiTest, EveryErrorRouteAnswersJson) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  // With a key stored, path and model checks are what refuse the requests below.
  ASSERT_EQ(Call("POST", "/keys/openai", *token, "{\"key\":\"sk-errors-1\"}")->status, 200);
  struct Case {
    std::string method;
    std::string target;
    std::string token;
    std::string body;
    int status;
  };
  const std::string unknown(64, 'f');
  const std::vector<Case> cases = {
      {"GET", "/nowhere", "", "", 404},
      {"PATCH", "/keys", *token, "", 404},
      {"GET", "/keys", "", "", 401},
      {"GET", "/keys", unknown, "", 401},
      {"POST", "/keys/openai", *token, "{oops", 400},
      {"POST", "/keys/openai", *token, "{}", 400},
      {"POST", "/keys/not-a-provider", *token, "{\"key\":\"sk-x\"}", 400},
      {"POST", "/keys/openai", *token, "{\"key\":\"\"}", 400},
      // No key stored for the provider.
      {"POST", "/relay/mistral/v1/chat/completions", *token, "{\"model\":\"mistral-small\"}", 400},
      // Outside the provider's allowed paths.
      {"POST", "/relay/openai/v1/organization/users", *token, "{}", 403},
      {"POST", "/relay/openai/v1/chat/..%2F..%2Fadmin", *token, "{}", 403},
      // The original's 400s: "Unsupported provider: nosuch", "Cannot route model ..." (compat.md §3.14-15).
      {"POST", "/relay/nosuch/v1/chat/completions", *token, "{}", 400},
      {"POST", "/relay", *token, "{\"model\":\"no-route-model-xyz\"}", 400},
      {"GET", "/stats/x", "", "", 401},
  };
  for (const Case& c : cases) {
    auto r = Call(c.method, c.target, c.token, c.body);
    ASSERT_TRUE(r.ok()) << c.method << " " << c.target;
    EXPECT_EQ(r->status, c.status) << c.method << " " << c.target << ": " << r->body;
    EXPECT_THAT(r->Header("content-type"), HasSubstr("application/json")) << c.target;
    nlohmann::json body = Json(*r);
    EXPECT_TRUE(body.is_object() && body["error"].is_string() && !body["error"].empty())
        << c.target << ": " << r->body;
  }
}

TEST_F(E2eApiTest, CorsPreflightAllowedAndRefused) {
  std::vector<std::pair<std::string, std::string>> preflight = {
      {"Origin", "https://app.example"},
      {"Access-Control-Request-Method", "POST"},
      {"Access-Control-Request-Headers", "x-relay-token, content-type, anthropic-version"}};
  auto r = Fetch(suite_->port(), "OPTIONS", "/relay/anthropic/v1/messages", preflight);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example");
  EXPECT_THAT(r->Header("access-control-allow-headers"), HasSubstr("anthropic-version"));
  preflight[0].second = "https://other.example";
  r = Fetch(suite_->port(), "OPTIONS", "/relay/anthropic/v1/messages", preflight);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->Has("access-control-allow-origin"));
}

TEST_F(E2eApiTest, ModelsHealthVersionOpenApi) {
  auto r = Fetch(suite_->port(), "GET", "/models");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  nlohmann::json models = Json(*r);
  EXPECT_FALSE(models["providers"].empty());
  EXPECT_FALSE(models["patterns"].empty());

  r = Fetch(suite_->port(), "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  nlohmann::json health = Json(*r);
  EXPECT_EQ(health["ok"], true);
  EXPECT_EQ(health["checks"]["vault"], "ok");
  EXPECT_EQ(health["checks"]["relay"], "ok");
  EXPECT_THAT(health["providers"].dump(), HasSubstr("anthropic"));

  r = Fetch(suite_->port(), "GET", "/openapi.json");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Json(*r)["paths"].contains("/relay/{provider}/{path}"));
}

}  // namespace
}  // namespace byok::testing
