// End to end with the vault on PostgreSQL (BYOK_VAULT_DATABASE_URL): the whole suite as a browser app
// meets it, registering, storing a key, relaying, revoking; and the vault restarted keeps everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite.h"
#include "tests/testing/postgres_server.h"

namespace byok::testing {
namespace {

constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

absl::StatusOr<TestResponse> RelayChat(Suite& suite, const std::string& token) {
  TestRequest request;
  request.method = "POST";
  request.target = "/relay/openai/v1/chat/completions";
  request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
  request.body = kChat;
  return Fetch(suite.port(), request);
}

TEST(E2ePostgresTest, TheSuiteServesFromAVaultOnPostgres) {
  absl::StatusOr<std::string> url = FreshPostgresDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  SuiteOptions options;
  options.vault_env["BYOK_VAULT_DATABASE_URL"] = *url;
  absl::StatusOr<std::unique_ptr<Suite>> started = Suite::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  Suite& suite = **started;

  absl::StatusOr<std::string> token = suite.Register();
  ASSERT_TRUE(token.ok()) << token.status();
  auto stored = Fetch(suite.port(), "POST", "/keys/openai", {{"x-relay-token", *token}},
                      nlohmann::json({{"key", "key-for-openai-42"}}).dump());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->status, 200) << stored->body;
  auto relayed = RelayChat(suite, *token);
  ASSERT_TRUE(relayed.ok()) << relayed.status();
  EXPECT_EQ(relayed->status, 200) << relayed->body << suite.Logs();
  auto seen = suite.fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header("authorization").value_or(""), "Bearer key-for-openai-42");

  // The vault restarted: the user and the key are in PostgreSQL, not in the process.
  ASSERT_TRUE(suite.StopVault().ok());
  ASSERT_TRUE(suite.StartVault().ok());
  int status = 0;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(10);
       status != 200 && absl::Now() < deadline;) {
    auto again = RelayChat(suite, *token);
    status = again.ok() ? again->status : 0;
    if (status != 200) absl::SleepFor(absl::Milliseconds(50));  // the gateway reconnecting
  }
  EXPECT_EQ(status, 200) << suite.Logs();

  // Revoked: refused at once.
  auto revoked = Fetch(suite.port(), "POST", "/tokens/revoke", {{"x-relay-token", *token}}, "");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->status, 200) << revoked->body;
  auto refused = RelayChat(suite, *token);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401) << refused->body;
}

}  // namespace
}  // namespace byok::testing
