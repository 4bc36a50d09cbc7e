// The rate limits shared in Redis, against a real redis-server started by the test: two limiters with
// their own connection pools stand for two gateway replicas.
#include "services/gateway/limits/redis_rate_limiter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/redis_server.h"

namespace byok::gateway {
namespace {

using ::byok::testing::RedisServer;
using ::byok::testing::RedisServerOptions;

// The failure tests use the default timeout; the others a generous one, so that a loaded test machine
// cannot turn a slow answer into a fail-open decision.
constexpr absl::Duration kTimeout = absl::Milliseconds(50);
constexpr absl::Duration kGenerousTimeout = absl::Seconds(5);
// How long "within the timeout" may take on a loaded machine.
constexpr absl::Duration kSlack = absl::Milliseconds(500);

std::map<std::string, std::string> AsMap(const HeaderList& headers) {
  return std::map<std::string, std::string>(headers.begin(), headers.end());
}

RedisSettings SettingsFor(const std::string& url, RedisFailurePolicy policy, absl::Duration timeout) {
  RedisSettings settings;
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.ok()) << endpoint.status();
  if (endpoint.ok()) settings.endpoint = *endpoint;
  settings.timeout = timeout;
  settings.on_failure = policy;
  return settings;
}

// One gateway replica's limiter: its own pool to the shared Redis.
std::unique_ptr<RedisRateLimiter> Replica(const std::string& url, int64_t limit,
                                          absl::Duration window,
                                          RedisFailurePolicy policy = RedisFailurePolicy::kOpen,
                                          absl::Duration timeout = kGenerousTimeout) {
  return std::make_unique<RedisRateLimiter>(
      std::make_shared<RedisPool>(SettingsFor(url, policy, timeout), 2), "global", limit, window);
}

// Polls until `limiter` decides with Redis's counts again (limit reported), or `timeout` passes.
std::optional<RateDecision> WaitForCounts(Limiter& limiter, absl::string_view key,
                                          absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    RateDecision d = limiter.Acquire(key);
    if (d.limit > 0) return d;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisRateLimiterTest, TwoReplicasTripAtTheLimitSummedOverBoth) {
  auto a = Replica(redis_->url(), 5, absl::Minutes(1));
  auto b = Replica(redis_->url(), 5, absl::Minutes(1));
  for (int i = 0; i < 5; ++i) {
    RateDecision d = (i % 2 == 0 ? a : b)->Acquire("198.51.100.7");
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.window_seconds, 60);
    EXPECT_GE(d.reset_seconds, 59);
    EXPECT_LE(d.reset_seconds, 60);
  }
  for (Limiter* replica : {a.get(), b.get()}) {
    RateDecision refused = replica->Acquire("198.51.100.7");
    EXPECT_FALSE(refused.allowed);
    EXPECT_FALSE(refused.unavailable);
    auto h = AsMap(refused.Headers());
    EXPECT_EQ(h["RateLimit-Limit"], "5");
    EXPECT_EQ(h["RateLimit-Remaining"], "0");
    EXPECT_EQ(h["RateLimit-Policy"], "5;w=60");
    EXPECT_EQ(h["Retry-After"], h["RateLimit-Reset"]);
  }
  // Another client has its own window on both replicas.
  EXPECT_TRUE(a->Acquire("198.51.100.8").allowed);
  EXPECT_EQ(b->Acquire("198.51.100.8").remaining, 3);
}

TEST_F(RedisRateLimiterTest, KeysAreNamespacedAndHashedWithAnExpiry) {
  auto a = Replica(redis_->url(), 5, absl::Minutes(1));
  ASSERT_TRUE(a->Acquire("203.0.113.99").allowed);
  std::string key = a->RedisKey("203.0.113.99");
  EXPECT_TRUE(absl::StartsWith(key, "byok:rl:global:")) << key;
  EXPECT_FALSE(absl::StrContains(key, "203.0.113.99"));
  absl::StatusOr<std::string> keys = redis_->Command("KEYS *");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ::testing::HasSubstr(key));
  EXPECT_THAT(*keys, ::testing::Not(::testing::HasSubstr("203.0.113.99")));
  absl::StatusOr<std::string> ttl = redis_->Command(absl::StrCat("PTTL ", key));
  ASSERT_TRUE(ttl.ok());
  int64_t ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::string_view(*ttl).substr(1), &ms)) << *ttl;
  EXPECT_GT(ms, 55000);
  EXPECT_LE(ms, 60000);
}

TEST_F(RedisRateLimiterTest, TheWindowResets) {
  auto a = Replica(redis_->url(), 2, absl::Seconds(1));
  auto b = Replica(redis_->url(), 2, absl::Seconds(1));
  absl::Time start = absl::Now();
  ASSERT_TRUE(a->Acquire("k").allowed);
  ASSERT_TRUE(b->Acquire("k").allowed);
  RateDecision refused = a->Acquire("k");
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reset_seconds, 1);
  // The window ends one second after its first request: then both replicas count from zero.
  std::optional<RateDecision> fresh;
  while (absl::Now() - start < absl::Seconds(3)) {
    RateDecision d = b->Acquire("k");
    if (d.allowed) {
      fresh = d;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(fresh.has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900));
  EXPECT_EQ(fresh->remaining, 1);
  EXPECT_EQ(a->Acquire("k").remaining, 0);
  EXPECT_FALSE(b->Acquire("k").allowed);
}

TEST_F(RedisRateLimiterTest, FailsOpenWithinTheTimeoutWhenRedisIsGone) {
  auto a = Replica(redis_->url(), 1, absl::Minutes(1), RedisFailurePolicy::kOpen, kTimeout);
  ASSERT_TRUE(a->Acquire("k").allowed);
  ASSERT_FALSE(a->Acquire("k").allowed);
  ASSERT_TRUE(redis_->Stop().ok());
  for (int i = 0; i < 20; ++i) {
    absl::Time before = absl::Now();
    RateDecision d = a->Acquire("k");
    EXPECT_LT(absl::Now() - before, kSlack) << i;
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_FALSE(d.unavailable);
    EXPECT_TRUE(d.Headers().empty());  // no counts to report
  }
}

TEST_F(RedisRateLimiterTest, FailsClosedWithinTheTimeoutWhenRedisIsGone) {
  auto a = Replica(redis_->url(), 100, absl::Minutes(1), RedisFailurePolicy::kClosed, kTimeout);
  ASSERT_TRUE(a->Acquire("k").allowed);
  ASSERT_TRUE(redis_->Stop().ok());
  for (int i = 0; i < 20; ++i) {
    absl::Time before = absl::Now();
    RateDecision d = a->Acquire("k");
    EXPECT_LT(absl::Now() - before, kSlack) << i;
    EXPECT_FALSE(d.allowed) << i;
    EXPECT_TRUE(d.unavailable);
    EXPECT_EQ(AsMap(d.Headers()), (std::map<std::string, std::string>{{"Retry-After", "1"}}));
  }
}

// A Redis that accepts connections but never answers (a hung server, a black hole): each request is
// held no longer than the timeout, and while it counts as down not at all.
TEST(RedisRateLimiterHungTest, ARedisThatNeverAnswersHoldsARequestOnlyForTheTimeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 64), 0);  // the kernel completes handshakes; nothing ever reads or replies
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = absl::StrCat("redis://127.0.0.1:", ntohs(addr.sin_port));

  for (RedisFailurePolicy policy : {RedisFailurePolicy::kOpen, RedisFailurePolicy::kClosed}) {
    auto a = Replica(url, 10, absl::Minutes(1), policy, kTimeout);
    absl::Time before = absl::Now();
    RateDecision first = a->Acquire("k");
    absl::Duration took = absl::Now() - before;
    EXPECT_GE(took, kTimeout * 0.8);
    EXPECT_LT(took, kSlack);
    EXPECT_EQ(first.allowed, policy == RedisFailurePolicy::kOpen);
    // Counted down now: the next requests are decided at once.
    before = absl::Now();
    for (int i = 0; i < 10; ++i) a->Acquire("k");
    EXPECT_LT(absl::Now() - before, kSlack);  // ten requests, less than the slack of one
  }
  ::close(fd);
}

TEST_F(RedisRateLimiterTest, LimitsWorkAgainAfterRedisRestarts) {
  auto a = Replica(redis_->url(), 3, absl::Minutes(1));
  auto b = Replica(redis_->url(), 3, absl::Minutes(1));
  ASSERT_TRUE(a->Acquire("k").allowed);
  ASSERT_TRUE(b->Acquire("k").allowed);
  ASSERT_TRUE(redis_->Restart().ok());  // same port, empty: the pools' connections are dead
  std::optional<RateDecision> d = WaitForCounts(*a, "k", absl::Seconds(3));
  ASSERT_TRUE(d.has_value()) << "replica a never used the restarted Redis";
  EXPECT_EQ(d->remaining, 2);  // a fresh window: the restarted Redis was empty
  std::optional<RateDecision> e = WaitForCounts(*b, "k", absl::Seconds(3));
  ASSERT_TRUE(e.has_value()) << "replica b never used the restarted Redis";
  EXPECT_EQ(e->remaining, 1);
  EXPECT_EQ(a->Acquire("k").remaining, 0);
  EXPECT_FALSE(b->Acquire("k").allowed);
}

TEST(RedisRateLimiterAuthTest, AuthenticatesWithThePasswordOfTheUrl) {
  auto redis = RedisServer::Start(RedisServerOptions{.password = "pa55-word"});
  ASSERT_TRUE(redis.ok()) << redis.status();
  auto good = Replica((*redis)->url(), 2, absl::Minutes(1), RedisFailurePolicy::kClosed);
  RateDecision d = good->Acquire("k");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  auto wrong = Replica(absl::StrCat("redis://:wrong@127.0.0.1:", (*redis)->port()), 2,
                       absl::Minutes(1), RedisFailurePolicy::kClosed);
  EXPECT_TRUE(wrong->Acquire("k").unavailable);
  // A database index keeps its windows apart from database 0's.
  auto other_db = Replica(absl::StrCat((*redis)->url(), "/3"), 2, absl::Minutes(1));
  EXPECT_EQ(other_db->Acquire("k").remaining, 1);
}

}  // namespace
}  // namespace byok::gateway
