// End to end: two gateways on one Redis (REDIS_URL) share their rate limits, so a limit trips at the
// configured count summed over both; with Redis gone they fail open (default) or closed (503).
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"
#include "tests/testing/redis_server.h"

namespace byok::testing {
namespace {

// Generous: these tests are about sharing and policies, and a loaded test machine must not turn a slow
// answer into a fail-open decision (the timeout itself is tested in redis_rate_limiter_test).
constexpr char kTimeout[] = "5000";

class E2eRedisLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto suite = Suite::Start();
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
  }
  void TearDown() override {
    if (HasFailure() && suite_) std::cerr << suite_->Logs();
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<Suite> suite_;
};

TEST_F(E2eRedisLimitsTest, TheGlobalLimitTripsAtTheCountSummedOverTwoGateways) {
  std::map<std::string, std::string> env = {
      {"REDIS_URL", redis_->url()}, {"RATE_LIMIT_GLOBAL", "6"}, {"RATE_LIMIT_REDIS_TIMEOUT_MS", kTimeout}};
  auto first = suite_->StartExtraGateway(env);
  auto second = suite_->StartExtraGateway(env);
  ASSERT_TRUE(first.ok() && second.ok());
  for (int i = 0; i < 6; ++i) {
    auto r = Fetch(i % 2 == 0 ? *first : *second, "GET", "/models");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->Header("ratelimit-limit"), "6");
    EXPECT_EQ(r->Header("ratelimit-remaining"), std::to_string(5 - i));
  }
  for (int port : {*first, *second}) {
    auto r = Fetch(port, "GET", "/models");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 429) << r->body;
    EXPECT_EQ(r->Header("ratelimit-remaining"), "0");
    EXPECT_FALSE(r->Header("retry-after").empty());
  }
  // A gateway without REDIS_URL keeps its windows in memory: the same client starts afresh there.
  auto alone = suite_->StartExtraGateway({{"RATE_LIMIT_GLOBAL", "6"}});
  ASSERT_TRUE(alone.ok());
  auto r = Fetch(*alone, "GET", "/models");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("ratelimit-remaining"), "5");
}

TEST_F(E2eRedisLimitsTest, RedisGoneFailsOpenByDefaultAndClosedWhenAsked) {
  auto open = suite_->StartExtraGateway({{"REDIS_URL", redis_->url()},
                                         {"RATE_LIMIT_GLOBAL", "2"},
                                         {"RATE_LIMIT_REDIS_TIMEOUT_MS", kTimeout}});
  auto closed = suite_->StartExtraGateway({{"REDIS_URL", redis_->url()},
                                           {"RATE_LIMIT_GLOBAL", "2"},
                                           {"RATE_LIMIT_REDIS_TIMEOUT_MS", kTimeout},
                                           {"RATE_LIMIT_REDIS_FAILURE", "closed"}});
  ASSERT_TRUE(open.ok() && closed.ok());
  ASSERT_EQ(Fetch(*open, "GET", "/models")->status, 200);
  ASSERT_TRUE(redis_->Stop().ok());
  for (int i = 0; i < 4; ++i) {
    auto r = Fetch(*open, "GET", "/models");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << i;  // over the limit of 2, but uncounted while Redis is gone
    EXPECT_EQ(r->Header("ratelimit-limit"), "");
    auto c = Fetch(*closed, "GET", "/models");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->status, 503) << c->body;
    EXPECT_EQ(c->Header("retry-after"), "1");
  }
  // Back (empty): counting again, from zero.
  ASSERT_TRUE(redis_->Restart().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::string limit;
  while (limit.empty() && absl::Now() < deadline) {
    auto r = Fetch(*closed, "GET", "/models");
    ASSERT_TRUE(r.ok());
    limit = r->Header("ratelimit-limit");
    if (limit.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(limit, "2");
}

// The outage is logged once when it starts and once when it ends, never per request, and no log line
// carries Redis's password.
TEST(E2eRedisLogsTest, AnOutageIsLoggedOnceEachWayWithoutThePassword) {
  auto redis = RedisServer::Start(RedisServerOptions{.password = "redis-pw-never-logged"});
  ASSERT_TRUE(redis.ok()) << redis.status();
  SuiteOptions options;
  options.gateway_env = {{"REDIS_URL", (*redis)->url()},
                         {"RATE_LIMIT_GLOBAL", "100"},
                         {"RATE_LIMIT_REDIS_TIMEOUT_MS", kTimeout},
                         {"LOG_LEVEL", "info"}};
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  int port = (*suite)->port();
  ASSERT_EQ(Fetch(port, "GET", "/models")->Header("ratelimit-limit"), "100");
  ASSERT_TRUE((*redis)->Stop().ok());
  for (int i = 0; i < 30; ++i) ASSERT_EQ(Fetch(port, "GET", "/models")->status, 200);
  ASSERT_TRUE((*redis)->Restart().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (Fetch(port, "GET", "/models")->Header("ratelimit-limit").empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::string logs = (*suite)->GatewayLogs();
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (size_t at = logs.find(needle); at != std::string::npos; at = logs.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("rate limits in Redis at 127.0.0.1:"), 1) << logs;
  EXPECT_EQ(count("is unreachable"), 1) << logs;
  EXPECT_EQ(count("answers again; shared rate limits are back"), 1) << logs;
  EXPECT_EQ(logs.find("redis-pw-never-logged"), std::string::npos);
}

}  // namespace
}  // namespace byok::testing
