#include "services/relay/relay_config.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/grpc_reflection.h"
#include "common/status.h"
#include "common/usable_cores.h"

namespace byok::relay {
namespace {

constexpr int64_t kMaxTimeoutMs = 24 * 60 * 60 * 1000;

absl::StatusOr<absl::Duration> TimeoutMs(const Env& env, absl::string_view name,
                                         int64_t fallback_ms) {
  BYOK_ASSIGN_OR_RETURN(int64_t ms, env.GetInt(name, fallback_ms, 1, kMaxTimeoutMs));
  return absl::Milliseconds(ms);
}

}  // namespace

int DefaultUpstreamThreads() { return UsableCores(); }

absl::StatusOr<RelayConfig> LoadRelayConfig(const Env& env) {
  RelayConfig config;
  if (std::optional<std::string> level = env.Get("LOG_LEVEL"); level.has_value()) {
    BYOK_RETURN_IF_ERROR(log::ParseLevel(*level, &config.log_level));
  }
  config.listen_address = env.GetString("BYOK_RELAY_ADDR", config.listen_address);
  config.vault_address = env.GetString("BYOK_VAULT_ADDR", config.vault_address);
  BYOK_ASSIGN_OR_RETURN(config.upstream.connect_timeout,
                        TimeoutMs(env, "BYOK_UPSTREAM_CONNECT_TIMEOUT_MS", 10'000));
  BYOK_ASSIGN_OR_RETURN(config.upstream.headers_timeout,
                        TimeoutMs(env, "BYOK_UPSTREAM_HEADERS_TIMEOUT_MS", 30'000));
  BYOK_ASSIGN_OR_RETURN(config.upstream.idle_timeout,
                        TimeoutMs(env, "BYOK_UPSTREAM_IDLE_TIMEOUT_MS", 120'000));
  if (std::optional<std::string> ca = env.Get("BYOK_UPSTREAM_CA_FILE"); ca.has_value()) {
    if (!std::ifstream(*ca).good()) {
      return absl::InvalidArgumentError("BYOK_UPSTREAM_CA_FILE: the file cannot be read");
    }
    config.upstream.ca_file = *std::move(ca);
  }
  BYOK_ASSIGN_OR_RETURN(int64_t upstream_threads,
                        env.GetInt("BYOK_RELAY_UPSTREAM_THREADS", DefaultUpstreamThreads(), 1, 256));
  config.upstream.threads = static_cast<int>(upstream_threads);
  BYOK_ASSIGN_OR_RETURN(int64_t flush_ms, env.GetInt("BYOK_RELAY_USAGE_FLUSH_MS", 200, 1, 60'000));
  config.usage.flush_interval = absl::Milliseconds(flush_ms);
  BYOK_ASSIGN_OR_RETURN(config.key_cache, vault::LoadAnswerCacheOptions(
                                    env, {"BYOK_RELAY_KEY_CACHE_ENTRIES", "BYOK_RELAY_KEY_CACHE_TTL_SECONDS"}));
  BYOK_ASSIGN_OR_RETURN(config.policy, PolicyConfig::Load(env));
  BYOK_ASSIGN_OR_RETURN(config.tls, LoadMutualTls(env));
  BYOK_ASSIGN_OR_RETURN(config.service, LoadServiceAuth(env));
  BYOK_ASSIGN_OR_RETURN(config.reflection, LoadReflectionSetting(env));
  BYOK_ASSIGN_OR_RETURN(config.check_key_per_minute,
                        env.GetInt("BYOK_RELAY_CHECK_KEY_PER_MINUTE", 300, 1, 1'000'000));
  if (std::optional<std::string> v = env.Get("BYOK_RELAY_CHECK_KEY_CALLERS"); v.has_value()) {
    config.check_key_callers.clear();
    for (absl::string_view part : absl::StrSplit(*v, ',', absl::SkipWhitespace())) {
      config.check_key_callers.emplace_back(absl::StripAsciiWhitespace(part));
    }
  }
  return config;
}

}  // namespace byok::relay
