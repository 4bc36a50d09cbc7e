// End to end: two gateways on one Redis (REDIS_URL) share their rate limits, so a limit trips at the
// configured count summed over both; with Redis gone they fail open (default) or closed (503).
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"
#include "tests/testing/redis_server.h"

namespace byok::testing {
namespace {

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
  std::map<std::string, std::string> env = {{"REDIS_URL", redis_->url()}, {"RATE_LIMIT_GLOBAL", "6"}};
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
  // The suite's own gateway keeps its limits in memory: untouched by the other two.
  EXPECT_EQ(Fetch(suite_->port(), "GET", "/models")->status, 200);
}

TEST_F(E2eRedisLimitsTest, RedisGoneFailsOpenByDefaultAndClosedWhenAsked) {
  auto open = suite_->StartExtraGateway({{"REDIS_URL", redis_->url()}, {"RATE_LIMIT_GLOBAL", "2"}});
  auto closed = suite_->StartExtraGateway({{"REDIS_URL", redis_->url()},
                                           {"RATE_LIMIT_GLOBAL", "2"},
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

}  // namespace
}  // namespace byok::testing
