// LoadRelayConfig: documented defaults, overrides, and bad values named in the error.
#include "services/relay/relay_config.h"

#include <algorithm>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/usable_cores.h"
#include "tests/testing/one_cpu.h"

namespace byok::relay {
namespace {

using ::testing::HasSubstr;
using Vars = absl::flat_hash_map<std::string, std::string>;

TEST(RelayConfigTest, DefaultsMatchTheDocumentation) {
  absl::StatusOr<RelayConfig> config = LoadRelayConfig(Env(Vars{}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:50052");
  EXPECT_EQ(config->vault_address, "127.0.0.1:50051");
  EXPECT_EQ(config->upstream.connect_timeout, absl::Seconds(10));
  EXPECT_EQ(config->upstream.headers_timeout, absl::Seconds(30));  // the original's 30 s
  EXPECT_EQ(config->upstream.idle_timeout, absl::Seconds(120));
  EXPECT_TRUE(config->upstream.ca_file.empty());
  EXPECT_EQ(config->upstream.threads, DefaultUpstreamThreads());
  EXPECT_EQ(config->usage.flush_interval, absl::Milliseconds(200));
}

TEST(RelayConfigTest, ReadsEachVariable) {
  absl::StatusOr<RelayConfig> config = LoadRelayConfig(Env(Vars{
      {"BYOK_RELAY_ADDR", "0.0.0.0:6000"},
      {"BYOK_VAULT_ADDR", "vault:7000"},
      {"BYOK_UPSTREAM_CONNECT_TIMEOUT_MS", "250"},
      {"BYOK_UPSTREAM_HEADERS_TIMEOUT_MS", "5000"},
      {"BYOK_UPSTREAM_IDLE_TIMEOUT_MS", "60000"},
      {"BYOK_UPSTREAM_CA_FILE", "/dev/null"},
      {"LOG_LEVEL", "debug"},
      {"BYOK_RELAY_USAGE_FLUSH_MS", "1500"},
      {"BYOK_RELAY_UPSTREAM_THREADS", "3"},
  }));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "0.0.0.0:6000");
  EXPECT_EQ(config->vault_address, "vault:7000");
  EXPECT_EQ(config->upstream.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(config->upstream.headers_timeout, absl::Seconds(5));
  EXPECT_EQ(config->upstream.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(config->upstream.ca_file, "/dev/null");
  EXPECT_EQ(config->log_level, log::Level::kDebug);
  EXPECT_EQ(config->usage.flush_interval, absl::Milliseconds(1500));
  EXPECT_EQ(config->upstream.threads, 3);
}

TEST(RelayConfigTest, UpstreamThreadsDefaultToOnePerUsableCore) {
  EXPECT_EQ(DefaultUpstreamThreads(), UsableCores());
  EXPECT_LE(DefaultUpstreamThreads(), std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  // A relay allowed one CPU (a cpuset, taskset) starts one upstream thread, whatever the host has.
  testing::PinnedToOneCpu one;
  ASSERT_TRUE(one.pinned());
  EXPECT_EQ(DefaultUpstreamThreads(), 1);
}

// The key cache's two settings, read by vault::LoadAnswerCacheOptions under the relay's prefix.
TEST(RelayConfigTest, TheKeyCacheIsReadUnderItsOwnPrefix) {
  absl::StatusOr<RelayConfig> config = LoadRelayConfig(Env(Vars{{"BYOK_RELAY_KEY_CACHE_ENTRIES", "0"},
                                                                {"BYOK_RELAY_KEY_CACHE_TTL_SECONDS", "7"},
                                                                {"BYOK_GATEWAY_TOKEN_CACHE_ENTRIES", "99"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->key_cache.max_entries, 0u);
  EXPECT_EQ(config->key_cache.ttl, absl::Seconds(7));
  config = LoadRelayConfig(Env(Vars{{"BYOK_RELAY_KEY_CACHE_ENTRIES", "-1"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("BYOK_RELAY_KEY_CACHE_ENTRIES"));
}

TEST(RelayConfigTest, BadValuesNameTheVariable) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"BYOK_UPSTREAM_CONNECT_TIMEOUT_MS", "0"},
           {"BYOK_UPSTREAM_HEADERS_TIMEOUT_MS", "-5"},
           {"BYOK_UPSTREAM_IDLE_TIMEOUT_MS", "ten"},
           {"BYOK_UPSTREAM_CA_FILE", "/nonexistent/ca.pem"},
           {"BYOK_RELAY_USAGE_FLUSH_MS", "0"},
           {"BYOK_RELAY_USAGE_FLUSH_MS", "600000"},
           {"BYOK_RELAY_UPSTREAM_THREADS", "0"},
           {"BYOK_RELAY_UPSTREAM_THREADS", "257"},
           {"LOG_LEVEL", "loud"}}) {
    absl::StatusOr<RelayConfig> config = LoadRelayConfig(Env(Vars{{name, value}}));
    ASSERT_FALSE(config.ok()) << name;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << name;
    if (name != "LOG_LEVEL") {
      EXPECT_THAT(config.status().message(), HasSubstr(name));
      // Values may be secrets elsewhere; messages never repeat them.
      if (value.size() > 2) {
        EXPECT_THAT(config.status().message(), ::testing::Not(HasSubstr(value)));
      }
    }
  }
}

}  // namespace
}  // namespace byok::relay
