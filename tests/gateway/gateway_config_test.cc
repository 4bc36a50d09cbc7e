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
                 {"BYOK_HTTP_HEADER_TIMEOUT_MS", "250"}});
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
  EXPECT_EQ(Load({{"TRUST_PROXY", "true"}})->trust_proxy, 1);
}

TEST(GatewayConfigTest, BadValuesNameTheVariableNotTheValue) {
  struct Case {
    const char* name;
    const char* value;
  };
  for (const Case& bad : {Case{"PORT", "70000"}, Case{"PORT", "abc"},
                          Case{"REQUEST_BODY_LIMIT_BYTES", "0"}, Case{"RATE_LIMIT_GLOBAL", "-1"},
                          Case{"TRUST_PROXY", "many"}, Case{"ALLOWED_ORIGINS", "not an origin"},
                          Case{"BYOK_VAULT_ADDR", "novaultport"}, Case{"BYOK_GATEWAY_THREADS", "0"},
                          Case{"APP_SECRET", "short"}}) {
    auto c = Load({{bad.name, bad.value}});
    ASSERT_FALSE(c.ok()) << bad.name;
    EXPECT_NE(c.status().message().find(bad.name), absl::string_view::npos) << c.status();
    if (std::string(bad.name) == "APP_SECRET") {
      EXPECT_EQ(c.status().message().find(bad.value), absl::string_view::npos);
    }
  }
}

}  // namespace
}  // namespace byok::gateway
