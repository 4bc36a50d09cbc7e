#include "services/gateway/gateway_config.h"

#include <gtest/gtest.h>

namespace byok::gateway {
namespace {

absl::StatusOr<GatewayConfig> Load(absl::flat_hash_map<std::string, std::string> vars) {
  return LoadGatewayConfig(Env(std::move(vars)));
}

TEST(GatewayConfigTest, DefaultsMatchTheDesign) {
  auto c = Load({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 3000);
  EXPECT_EQ(c->threads, 2);
  EXPECT_EQ(c->body_limit_bytes, 10u * 1024 * 1024);
  EXPECT_EQ(c->rate_limit_global, 100);
  EXPECT_EQ(c->rate_limit_relay, 20);
  EXPECT_EQ(c->rate_limit_register, 10);
  EXPECT_EQ(c->trust_proxy, 0);
  EXPECT_FALSE(c->app_secret.has_value());
  EXPECT_EQ(c->vault_addr, "127.0.0.1:50051");
  EXPECT_EQ(c->relay_addr, "127.0.0.1:50052");
  EXPECT_TRUE(c->cors.Allows("https://any.example"));
  EXPECT_EQ(c->relay_streams, 1);  // the default relay address is one address
  EXPECT_FALSE(c->end_after_usage);
}

// Streams spread over the relay replicas a target may name; one address has nothing to spread over.
TEST(GatewayConfigTest, RelayStreamsDefaultToOneForOneAddressElseFour) {
  for (const auto& [addr, streams] :
       {std::pair{"127.0.0.1:50052", 1}, {"[::1]:50052", 1}, {"ipv4:10.0.0.1:50052", 1}, {"relay:50052", 4},
        {"10.0.0.1:50052,10.0.0.2:50052", 4}, {"dns:///relay.byok:50052", 4}, {"ipv4:10.0.0.1:1,10.0.0.2:1", 4}}) {
    auto c = Load({{"BYOK_RELAY_ADDR", addr}});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->relay_streams, streams) << addr;
  }
  EXPECT_EQ(Load({{"BYOK_RELAY_ADDR", "127.0.0.1:50052"}, {"BYOK_RELAY_STREAMS", "4"}})->relay_streams, 4);
  EXPECT_EQ(Load({{"BYOK_RELAY_ADDR", "relay:50052"}, {"BYOK_RELAY_STREAMS", "1"}})->relay_streams, 1);
}

TEST(GatewayConfigTest, ReadsEveryVariable) {
  auto c = Load({{"PORT", "8080"},
                 {"BYOK_GATEWAY_THREADS", "4"},
                 {"ALLOWED_ORIGINS", "https://a.example"},
                 {"REQUEST_BODY_LIMIT_BYTES", "1024"},
                 {"APP_SECRET", "s3cret-app-secret"},
                 {"RATE_LIMIT_GLOBAL", "0"},
                 {"RATE_LIMIT_RELAY", "7"},
                 {"RATE_LIMIT_REGISTER", "3"},
                 {"TRUST_PROXY", "2"},
                 {"BYOK_VAULT_ADDR", "vault:1"},
                 {"BYOK_RELAY_ADDR", "relay:2"},
                 {"BYOK_HTTP_HEADER_TIMEOUT_MS", "250"},
                 {"BYOK_RELAY_STREAMS", "2"},
                 {"BYOK_GATEWAY_END_AFTER_USAGE", "1"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->threads, 4);
  EXPECT_FALSE(c->cors.Allows("https://b.example"));
  EXPECT_EQ(c->body_limit_bytes, 1024u);
  EXPECT_EQ(*c->app_secret, "s3cret-app-secret");
  EXPECT_EQ(c->rate_limit_global, 0);
  EXPECT_EQ(c->rate_limit_relay, 7);
  EXPECT_EQ(c->rate_limit_register, 3);
  EXPECT_EQ(c->trust_proxy, 2);
  EXPECT_EQ(c->vault_addr, "vault:1");
  EXPECT_EQ(c->header_timeout, absl::Milliseconds(250));
  EXPECT_EQ(c->relay_streams, 2);
  EXPECT_TRUE(c->end_after_usage);
  EXPECT_EQ(Load({{"TRUST_PROXY", "true"}})->trust_proxy, 1);
}

TEST(GatewayConfigTest, BadValuesNameTheVariableNotTheValue) {
  struct Case {
    const char* name;
    const char* value;
  };
  for (const Case& bad : {Case{"PORT", "70000"}, Case{"PORT", "abc"}, Case{"RATE_LIMIT_GLOBAL", "-1"},
                          Case{"TRUST_PROXY", "many"}, Case{"BYOK_VAULT_ADDR", "novaultport"},
                          Case{"BYOK_RELAY_ADDR", "relay-a:1,relay-b:2"},
                          Case{"REDIS_URL", "redis://:pw@redis:0"},
                          Case{"BYOK_GATEWAY_THREADS", "0"}, Case{"APP_SECRET", "has a space"},
                          Case{"BYOK_RELAY_STREAMS", "65"}, Case{"BYOK_GATEWAY_END_AFTER_USAGE", "maybe"}}) {
    auto c = Load({{bad.name, bad.value}});
    ASSERT_FALSE(c.ok()) << bad.name;
    EXPECT_NE(c.status().message().find(bad.name), absl::string_view::npos) << c.status();
    if (std::string(bad.name) == "APP_SECRET") {
      EXPECT_EQ(c.status().message().find(bad.value), absl::string_view::npos);
    }
  }
}

// The token cache's two settings, read by vault::LoadAnswerCacheOptions under the gateway's prefix.
TEST(GatewayConfigTest, TheTokenCacheIsReadUnderItsOwnPrefix) {
  auto c = Load({{"BYOK_GATEWAY_TOKEN_CACHE_ENTRIES", "12"},
                 {"BYOK_GATEWAY_TOKEN_CACHE_TTL_SECONDS", "3"},
                 {"BYOK_RELAY_KEY_CACHE_ENTRIES", "99"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->token_cache.max_entries, 12u);
  EXPECT_EQ(c->token_cache.ttl, absl::Seconds(3));
  auto bad = Load({{"BYOK_GATEWAY_TOKEN_CACHE_TTL_SECONDS", "0"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("BYOK_GATEWAY_TOKEN_CACHE_TTL_SECONDS"), absl::string_view::npos);
}

TEST(GatewayConfigTest, TargetsTakeOneAddressAListOrADnsName) {
  auto c = Load({{"BYOK_VAULT_ADDR", "10.0.0.1:50051,10.0.0.2:50051"},
                 {"BYOK_RELAY_ADDR", "dns:///byok-relay:50052"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vault_addr, "10.0.0.1:50051,10.0.0.2:50051");  // rewritten when the channel is made
  EXPECT_EQ(c->relay_addr, "dns:///byok-relay:50052");
}

TEST(GatewayConfigTest, EveryValueTheOriginalAcceptsStarts) {
  // REQUEST_BODY_LIMIT_BYTES: digits as the original; a unit with its evident meaning and a warning;
  // anything else the default with a warning (the original silently used the default).
  struct Case {
    const char* value;
    uint64_t bytes;
    bool warns;
  };
  for (const Case& c : {Case{"1024", 1024, false}, Case{" 2048 ", 2048, false},
                        Case{"10mb", 10u * 1024 * 1024, true}, Case{"512kb", 512u * 1024, true},
                        Case{"1e6", 10u * 1024 * 1024, true}, Case{"0", 10u * 1024 * 1024, true},
                        Case{"-5", 10u * 1024 * 1024, true}, Case{"lots", 10u * 1024 * 1024, true}}) {
    auto config = Load({{"REQUEST_BODY_LIMIT_BYTES", c.value}});
    ASSERT_TRUE(config.ok()) << c.value << ": " << config.status();
    EXPECT_EQ(config->body_limit_bytes, c.bytes) << c.value;
    EXPECT_EQ(!config->warnings.empty(), c.warns) << c.value;
  }
  // APP_SECRET: any string without a space, however short.
  auto short_secret = Load({{"APP_SECRET", "abc"}});
  ASSERT_TRUE(short_secret.ok());
  EXPECT_EQ(*short_secret->app_secret, "abc");
  // ALLOWED_ORIGINS: trimmed; an entry no browser can send is a warning, not a refusal.
  auto origins = Load({{"ALLOWED_ORIGINS", " https://a.example ,app.example"}});
  ASSERT_TRUE(origins.ok());
  EXPECT_TRUE(origins->cors.Allows("https://a.example"));
  ASSERT_EQ(origins->warnings.size(), 1u);
  EXPECT_NE(origins->warnings[0].find("app.example"), std::string::npos);
  // Build information.
  auto build = Load({{"COMMIT_SHA", "abc123"}, {"BUILD_TIME", "2026-01-01T00:00:00.000Z"}});
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(*build->commit_sha, "abc123");
  EXPECT_EQ(*build->build_time, "2026-01-01T00:00:00.000Z");
  EXPECT_FALSE(Load({})->commit_sha.has_value());
}

TEST(GatewayConfigTest, PortFlagOverridesAndIsChecked) {
  auto port_of = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return PortFromArgs(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_EQ(**port_of({"byok-gatewayd", "--port", "4000"}), 4000);
  EXPECT_EQ(**port_of({"byok-gatewayd", "--verbose", "--port=4001"}), 4001);
  EXPECT_FALSE(port_of({"byok-gatewayd"})->has_value());
  EXPECT_FALSE(port_of({"byok-gatewayd", "--port", "0"}).ok());
  EXPECT_FALSE(port_of({"byok-gatewayd", "--port", "70000"}).ok());
  EXPECT_FALSE(port_of({"byok-gatewayd", "--port"}).ok());
}

}  // namespace
}  // namespace byok::gateway
