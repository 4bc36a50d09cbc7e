#include "services/gateway/limits/rate_limiter.h"

#include <gtest/gtest.h>

#include <map>

namespace byok::gateway {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  RateLimiter::Clock AsClock() {
    return [this] { return now_; };
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

std::map<std::string, std::string> AsMap(const HeaderList& headers) {
  return std::map<std::string, std::string>(headers.begin(), headers.end());
}

TEST(RateLimiterTest, AllowsTheLimitThenRefusesUntilTheWindowEnds) {
  FakeClock clock;
  RateLimiter limiter(3, absl::Minutes(1), 100, clock.AsClock());
  for (int i = 0; i < 3; ++i) {
    RateDecision d = limiter.Acquire("1.2.3.4");
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2 - i);
  }
  clock.Advance(absl::Seconds(20));
  RateDecision refused = limiter.Acquire("1.2.3.4");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.reset_seconds, 40);
  auto h = AsMap(refused.Headers());
  EXPECT_EQ(h["RateLimit-Limit"], "3");
  EXPECT_EQ(h["RateLimit-Remaining"], "0");
  EXPECT_EQ(h["RateLimit-Reset"], "40");
  EXPECT_EQ(h["Retry-After"], "40");

  // Another key has its own window.
  EXPECT_TRUE(limiter.Acquire("5.6.7.8").allowed);

  clock.Advance(absl::Seconds(40));
  RateDecision again = limiter.Acquire("1.2.3.4");
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.remaining, 2);
  EXPECT_EQ(AsMap(again.Headers()).count("Retry-After"), 0u);
}

TEST(RateLimiterTest, ResetRoundsUp) {
  FakeClock clock;
  RateLimiter limiter(1, absl::Minutes(1), 100, clock.AsClock());
  limiter.Acquire("k");
  clock.Advance(absl::Milliseconds(59500));
  EXPECT_EQ(limiter.Acquire("k").reset_seconds, 1);
}

TEST(RateLimiterTest, ZeroIsOff) {
  FakeClock clock;
  RateLimiter limiter(0, absl::Minutes(1), 100, clock.AsClock());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Acquire("k").allowed);
  EXPECT_TRUE(limiter.Acquire("k").Headers().empty());
  EXPECT_EQ(limiter.TrackedKeys(), 0u);
}

TEST(RateLimiterTest, MemoryIsBounded) {
  FakeClock clock;
  RateLimiter limiter(5, absl::Minutes(1), 50, clock.AsClock());
  for (int i = 0; i < 1000; ++i) limiter.Acquire("client-" + std::to_string(i));
  EXPECT_LE(limiter.TrackedKeys(), 50u);
  // Expired windows go first.
  clock.Advance(absl::Minutes(2));
  limiter.Acquire("fresh");
  EXPECT_EQ(limiter.TrackedKeys(), 1u);
}

TEST(RateLimiterTest, TokenKeyIsAHashNotTheToken) {
  std::string token(64, 'a');
  std::string key = TokenRateKey(token);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_NE(key, token);
  EXPECT_EQ(key, TokenRateKey(token));
  EXPECT_NE(key, TokenRateKey(std::string(64, 'b')));
  // SHA-256("abc"), a published test vector.
  EXPECT_EQ(TokenRateKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace byok::gateway
