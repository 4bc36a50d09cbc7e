#include "services/gateway/limits/redis_settings.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/env.h"
#include "services/gateway/gateway_config.h"

namespace byok::gateway {
namespace {

absl::StatusOr<GatewayConfig> Load(absl::flat_hash_map<std::string, std::string> vars) {
  return LoadGatewayConfig(Env(std::move(vars)));
}

TEST(RedisUrlTest, ReadsHostPortDatabaseAndPassword) {
  absl::StatusOr<RedisEndpoint> e = ParseRedisUrl("redis://:s3cr%40t@redis.internal:6380/2");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->host, "redis.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_EQ(e->username, "");
  EXPECT_EQ(e->password, "s3cr@t");
  EXPECT_EQ(e->Describe(), "redis.internal:6380");
}

TEST(RedisUrlTest, DefaultsAndAclUserAndIpv6) {
  absl::StatusOr<RedisEndpoint> plain = ParseRedisUrl("redis://127.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->password.empty());

  absl::StatusOr<RedisEndpoint> acl = ParseRedisUrl("redis://gateway:pw@[::1]:7000/");
  ASSERT_TRUE(acl.ok()) << acl.status();
  EXPECT_EQ(acl->host, "::1");
  EXPECT_EQ(acl->port, 7000);
  EXPECT_EQ(acl->username, "gateway");
  EXPECT_EQ(acl->password, "pw");
  EXPECT_EQ(acl->Describe(), "[::1]:7000");
}

TEST(RedisUrlTest, RefusesWhatItCannotUseWithoutQuotingThePassword) {
  for (const char* bad :
       {"http://h:1", "rediss://:topsecret@h:1", "redis://", "redis://:topsecret@h:0",
        "redis://:topsecret@h:99999", "redis://:topsecret@h:1/x", "redis://:topsecret@h:1/0?tls=1",
        "redis://:topsecret@[::1", "redis://:topsecret@h/st:1", "redis://:topsecret@h o:1"}) {
    absl::StatusOr<RedisEndpoint> e = ParseRedisUrl(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().message().find("topsecret"), std::string::npos) << e.status();
  }
}

TEST(RedisFailurePolicyTest, OpenOrClosed) {
  EXPECT_EQ(*ParseRedisFailurePolicy("open"), RedisFailurePolicy::kOpen);
  EXPECT_EQ(*ParseRedisFailurePolicy("CLOSED"), RedisFailurePolicy::kClosed);
  EXPECT_FALSE(ParseRedisFailurePolicy("maybe").ok());
}

TEST(RedisConfigTest, RedisUrlTurnsSharedLimitsOnWithTheirSettings) {
  absl::StatusOr<GatewayConfig> off = Load({});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->redis.has_value());

  absl::StatusOr<GatewayConfig> on = Load({{"REDIS_URL", "redis://r:6379/1"}});
  ASSERT_TRUE(on.ok()) << on.status();
  ASSERT_TRUE(on->redis.has_value());
  EXPECT_EQ(on->redis->timeout, absl::Milliseconds(50));
  EXPECT_EQ(on->redis->on_failure, RedisFailurePolicy::kOpen);
  EXPECT_EQ(on->redis->endpoint.db, 1);

  absl::StatusOr<GatewayConfig> tuned =
      Load({{"REDIS_URL", "redis://r"}, {"RATE_LIMIT_REDIS_TIMEOUT_MS", "20"},
            {"RATE_LIMIT_REDIS_FAILURE", "closed"}});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  EXPECT_EQ(tuned->redis->timeout, absl::Milliseconds(20));
  EXPECT_EQ(tuned->redis->on_failure, RedisFailurePolicy::kClosed);

  EXPECT_FALSE(Load({{"REDIS_URL", "redis://:pw@r:0"}}).ok());
  EXPECT_FALSE(
      Load({{"REDIS_URL", "redis://r"}, {"RATE_LIMIT_REDIS_FAILURE", "x"}}).ok());
  EXPECT_FALSE(
      Load({{"REDIS_URL", "redis://r"}, {"RATE_LIMIT_REDIS_TIMEOUT_MS", "0"}}).ok());
}

}  // namespace
}  // namespace byok::gateway
