// Scale-out end to end: two vaults on one PostgreSQL, two relays, two gateways sharing their rate
// limits in one Redis, every hop addressed by a list that the callers balance over. A browser app
// alternating between the gateways registers at one, stores at the other and relays through either;
// the per-token limit trips at the count summed over both gateways; one vault stopped mid-run leaves
// every request working through the other; a deleted user is refused through every gateway at once.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/redis_server.h"

namespace byok::testing {
namespace {

constexpr int kRelayLimit = 4;
constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

int Relay(int gateway, const std::string& token) {
  TestRequest request;
  request.method = "POST";
  request.target = "/relay/openai/v1/chat/completions";
  request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
  request.body = kChat;
  absl::StatusOr<TestResponse> r = Fetch(gateway, request);
  return r.ok() ? r->status : 0;
}

int StoreKey(int gateway, const std::string& token, const std::string& key) {
  auto r = Fetch(gateway, "POST", "/keys/openai", {{"x-relay-token", token}},
                 nlohmann::json({{"key", key}}).dump());
  return r.ok() ? r->status : 0;
}

std::string List(int a, int b) { return absl::StrCat("127.0.0.1:", a, ",127.0.0.1:", b); }

TEST(E2eReplicasTest, TwoOfEverythingOnSharedPostgresAndRedis) {
  absl::StatusOr<std::string> database = FreshPostgresDatabase();
  ASSERT_TRUE(database.ok()) << database.status();
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();

  const int vault1 = PickUnusedPort(), vault2 = PickUnusedPort();
  const int relay1 = PickUnusedPort(), relay2 = PickUnusedPort();
  SuiteOptions options;
  options.vault_port = vault1;
  options.relay_port = relay1;
  options.vault_env["BYOK_VAULT_DATABASE_URL"] = *database;
  options.relay_env["BYOK_VAULT_ADDR"] = List(vault1, vault2);
  options.gateway_env = {{"BYOK_VAULT_ADDR", List(vault1, vault2)},
                         {"BYOK_RELAY_ADDR", List(relay1, relay2)},
                         {"REDIS_URL", (*redis)->url()},
                         {"RATE_LIMIT_RELAY", std::to_string(kRelayLimit)}};
  absl::StatusOr<std::unique_ptr<Suite>> started = Suite::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  Suite& suite = **started;
  ASSERT_TRUE(suite.StartExtraVault(vault2, {}).ok());
  ASSERT_TRUE(suite.StartExtraRelay(relay2, {}).ok());
  absl::StatusOr<int> second = suite.StartExtraGateway({});
  ASSERT_TRUE(second.ok()) << second.status();
  const std::vector<int> gateways = {suite.port(), *second};

  // Registered at one gateway, the key stored at the other, relayed through both.
  absl::StatusOr<std::string> token = suite.Register();
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_EQ(StoreKey(gateways[1], *token, "key-for-openai-replicas"), 200);
  for (int gateway : gateways) {
    EXPECT_EQ(Relay(gateway, *token), 200) << suite.Logs();
    std::optional<RecordedRequest> seen = suite.fake().WaitForRequest(absl::Seconds(5));
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->Header("authorization").value_or(""), "Bearer key-for-openai-replicas");
  }

  // The per-token limit is shared: alternating gateways, exactly kRelayLimit requests pass in all.
  absl::StatusOr<std::string> limited = suite.Register();
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(StoreKey(gateways[0], *limited, "key-for-openai-limited"), 200);
  int passed = 0, refused = 0;
  for (int i = 0; i < kRelayLimit + 2; ++i) {
    int status = Relay(gateways[i % 2], *limited);
    passed += status == 200;
    refused += status == 429;
  }
  EXPECT_EQ(passed, kRelayLimit);
  EXPECT_EQ(refused, 2);

  // One vault stopped (as in a rolling restart): every request keeps working through the other.
  absl::StatusOr<std::string> steady = suite.Register();
  ASSERT_TRUE(steady.ok());
  ASSERT_EQ(StoreKey(gateways[1], *steady, "key-for-openai-steady"), 200);
  ASSERT_TRUE(suite.StopVault().ok());
  for (int i = 0; i < kRelayLimit; ++i) {
    EXPECT_EQ(Relay(gateways[i % 2], *steady), 200) << "request " << i << "\n" << suite.Logs();
  }
  absl::StatusOr<std::string> after = suite.Register();  // registration works too
  ASSERT_TRUE(after.ok()) << after.status();

  // The user deleted through one gateway is refused through both at once.
  auto deleted = Fetch(gateways[1], "DELETE", "/users", {{"x-relay-token", *token}});
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->status, 200) << deleted->body;
  for (int gateway : gateways) EXPECT_EQ(Relay(gateway, *token), 401);
}

}  // namespace
}  // namespace byok::testing
