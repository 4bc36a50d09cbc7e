// Contract, compat.md §2 (APP_SECRET, token check) and §3.5, §3.10, §3.11: registration, revocation and
// account deletion.
#include <gmock/gmock.h>

#include "absl/time/clock.h"
#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

constexpr char kAppSecretRefused[] =
    "Unauthorized: valid Authorization: Bearer <APP_SECRET> header required to register.";

class ContractUsersTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }
};

TEST_F(ContractUsersTest, RegistrationAnswersTokenAndExpiryInMilliseconds) {
  int64_t before = absl::ToUnixMillis(absl::Now());
  TestResponse r = Call("POST", "/users", "", R"({"app_id":"my-app"})", AppSecret());
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json body = Json(r);
  ASSERT_TRUE(body["token"].is_string());
  EXPECT_THAT(body["token"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f]{64}"));
  ASSERT_TRUE(body["expires_at"].is_number_integer()) << r.body;
  // TOKEN_EXPIRY_DAYS defaults to 90.
  int64_t expires = body["expires_at"].get<int64_t>();
  int64_t ninety_days = int64_t{90} * 86400000;
  EXPECT_GE(expires, before + ninety_days);
  EXPECT_LE(expires, absl::ToUnixMillis(absl::Now()) + ninety_days);
  EXPECT_EQ(body.size(), 2u) << r.body;
}

TEST_F(ContractUsersTest, AppIdMustBeTruthyAndNumbersAreKeptAsText) {
  for (const char* bad : {"{}", R"({"app_id":""})", R"({"app_id":null})", R"({"app_id":0})",
                          R"({"app_id":false})"}) {
    TestResponse r = Call("POST", "/users", "", bad, AppSecret());
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(Error(r), "app_id is required") << bad;
  }
  // A body that is not JSON is {}.
  TestResponse r = Call("POST", "/users", "", R"({"app_id":"x"})",
                        {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)},
                         {"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Error(r), "app_id is required");
  r = Call("POST", "/users", "", R"({"app_id":42})", AppSecret());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json(r)["token"].is_string());
}

TEST_F(ContractUsersTest, AppSecretCheckIsExactAndComesFirst) {
  for (const char* auth : {"", "Bearer wrong", "bearer e2e-app-secret-value", "Basic e2e-app-secret-value",
                           "Bearer  e2e-app-secret-value"}) {
    Headers headers;
    if (*auth) headers.emplace_back("Authorization", auth);
    // Even with no app_id: the secret is checked before anything else.
    TestResponse r = Call("POST", "/users", "", "{}", headers);
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_EQ(Error(r), kAppSecretRefused) << auth;
  }
  // Parts after the secret are ignored.
  TestResponse r = Call("POST", "/users", "", R"({"app_id":"a"})",
                        {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret, " trailing")}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ContractUsersTest, RefusedSecretsConsumeNoRegistrationQuota) {
  auto port = suite_->StartExtraGateway({{"RATE_LIMIT_REGISTER", "1"}, {"RATE_LIMIT_GLOBAL", "100"}});
  ASSERT_TRUE(port.ok()) << port.status();
  for (int i = 0; i < 3; ++i) {
    TestResponse r = Call("POST", "/users", "", R"({"app_id":"q"})", {{"Authorization", "Bearer no"}},
                          *port);
    EXPECT_EQ(r.status, 401);
    // Only the global limiter ran.
    EXPECT_EQ(r.Header("ratelimit-policy"), "100;w=60");
  }
  TestResponse ok = Call("POST", "/users", "", R"({"app_id":"q"})", AppSecret(), *port);
  EXPECT_EQ(ok.status, 200) << ok.body;
  // The registration limiter ran last: its numbers are the ones shown.
  EXPECT_EQ(ok.Header("ratelimit-policy"), "1;w=3600");
  EXPECT_EQ(ok.Header("ratelimit-remaining"), "0");
  TestResponse limited = Call("POST", "/users", "", R"({"app_id":"q"})", AppSecret(), *port);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Error(limited), "Too many registrations from this IP, please try again later.");
  EXPECT_EQ(limited.Header("ratelimit-policy"), "1;w=3600");
  EXPECT_EQ(limited.Header("ratelimit-limit"), "1");
  EXPECT_FALSE(limited.Header("retry-after").empty());
}

TEST_F(ContractUsersTest, TokenCheckWantsATokenInEitherHeader) {
  TestResponse r = Call("GET", "/keys", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Error(r), "x-relay-token header required");
  r = Call("GET", "/keys", "", "", {{"x-relay-token", ""}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Error(r), "x-relay-token header required");
  r = Call("GET", "/keys", std::string(64, 'a'));
  EXPECT_EQ(r.status, 401);
  // When x-relay-token is absent, Authorization: Bearer carries the token (the original's framework
  // packages send it there).
  std::string token = NewToken();
  r = Call("GET", "/keys", "", "", {{"Authorization", absl::StrCat("Bearer ", token)}});
  EXPECT_EQ(r.status, 200) << r.body;
  // x-relay-token wins when both are there.
  r = Call("GET", "/keys", token, "", {{"Authorization", "Bearer not-a-token"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ContractUsersTest, RevokeAnswersItsMessageAndTheTokenStopsAtOnce) {
  std::string token = NewToken();
  TestResponse r = Call("POST", "/tokens/revoke", token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json({{"ok", true},
                                     {"message",
                                      "Token revoked. Stored keys remain but are no longer accessible. "
                                      "Register a new token (POST /users) to re-enter your keys."}}));
  EXPECT_EQ(Call("GET", "/keys", token).status, 401);
  EXPECT_EQ(Call("POST", "/tokens/revoke", token).status, 401);
  EXPECT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o"})").status, 401);
}

TEST_F(ContractUsersTest, DeleteUserAnswersItsMessage) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-delete-me-0123"})").status, 200);
  TestResponse r = Call("DELETE", "/users", token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r),
            nlohmann::json({{"ok", true}, {"message", "Account and all stored keys deleted."}}));
  EXPECT_EQ(Call("GET", "/keys", token).status, 401);
  EXPECT_EQ(Call("DELETE", "/users", token).status, 401);
}

// The vault's phrases (its branch makes every 401 after the presence check say this).
TEST_F(ContractUsersTest, UnknownRevokedAndExpiredTokensSayInvalidOrExpired) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/tokens/revoke", token).status, 200);
  for (const std::string& t : {token, std::string(64, 'a'), std::string("short")}) {
    for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/keys"}, {"POST", "/tokens/revoke"}, {"DELETE", "/users"}, {"GET", "/stats"},
             {"POST", "/relay"}, {"POST", "/relay/openai/v1/chat/completions"}}) {
      TestResponse r = Call(method, target, t, method == "POST" ? "{}" : "");
      EXPECT_EQ(r.status, 401) << method << " " << target;
      EXPECT_EQ(Error(r), "Invalid or expired token") << method << " " << target;
    }
  }
}

TEST(ContractUsersExpiryTest, ZeroExpiryDaysMeansNull) {
  SuiteOptions options;
  options.vault_env["TOKEN_EXPIRY_DAYS"] = "0";
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto r = Fetch((*suite)->port(), "POST", "/users",
                 {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)}}, R"({"app_id":"z"})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(Json(*r)["expires_at"].is_null()) << r->body;
}

}  // namespace
}  // namespace byok::testing
