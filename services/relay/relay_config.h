// The relay's configuration, read once at start-up from the environment.
#ifndef BYOK_SERVICES_RELAY_RELAY_CONFIG_H_
#define BYOK_SERVICES_RELAY_RELAY_CONFIG_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/grpc_tls.h"
#include "common/logging.h"
#include "common/service_auth.h"
#include "services/relay/policy/policy_config.h"
#include "services/relay/upstream/upstream_client.h"
#include "services/relay/usage_batcher.h"
#include "services/vault/client/answer_cache_options.h"

namespace byok::relay {

// Everything byok-relayd (or the all-in-one byok-relay) needs to start the relay.
struct RelayConfig {
  // BYOK_RELAY_ADDR: where the Relay service listens (host:port; port 0 picks a free port).
  std::string listen_address = "127.0.0.1:50052";
  // BYOK_VAULT_ADDR: the vault the relay resolves keys from and records usage in.
  std::string vault_address = "127.0.0.1:50051";
  // How long one vault call may take before the relay answers UNAVAILABLE.
  absl::Duration vault_timeout = absl::Seconds(5);
  // BYOK_RELAY_USAGE_FLUSH_MS (200): how long usage records are batched before they go to the vault.
  UsageBatcherOptions usage;
  // BYOK_UPSTREAM_CONNECT_TIMEOUT_MS (10000), BYOK_UPSTREAM_HEADERS_TIMEOUT_MS (30000: the original's 30 s),
  // BYOK_UPSTREAM_IDLE_TIMEOUT_MS (120000), BYOK_UPSTREAM_CA_FILE, BYOK_RELAY_UPSTREAM_THREADS (one per
  // core: DefaultUpstreamThreads).
  UpstreamOptions upstream;
  // ALLOWED_MODELS, BYOK_PROVIDER_<NAME>_BASE_URL, BYOK_ALLOW_PRIVATE_UPSTREAMS.
  PolicyConfig policy;
  // LOG_LEVEL.
  log::Level log_level = log::Level::kInfo;
  // BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE, BYOK_TLS_CA_FILE: mutual TLS towards the vault and for the
  // gateways that call the relay (they must present a certificate of the same CA). Unset: plaintext.
  std::optional<MutualTls> tls;
  // BYOK_SERVICE_TOKEN (sent on every vault call; required of CheckKey callers) and
  // BYOK_TRUSTED_LOOPBACK (common/caller_policy.h).
  ServiceAuth service;
  // BYOK_RELAY_CHECK_KEY_CALLERS: certificate identities allowed to call CheckKey under mutual TLS.
  std::vector<std::string> check_key_callers = {"gateway"};
  // BYOK_RELAY_CHECK_KEY_PER_MINUTE: CheckKey calls the relay makes a minute, all callers together.
  int64_t check_key_per_minute = 300;
  // BYOK_RELAY_KEY_CACHE_ENTRIES (10000; 0: off) and BYOK_RELAY_KEY_CACHE_TTL_SECONDS (60): the
  // resolved keys kept in locked memory while the vault's change stream is live (key_cache.h).
  vault::AnswerCacheOptions key_cache;
  // BYOK_GRPC_REFLECTION: serve gRPC server reflection.
  bool reflection = true;
};

// The upstream I/O threads when BYOK_RELAY_UPSTREAM_THREADS is unset: one per core the process may use
// (its CPU affinity, lowered to its cgroup's CPU quota: UsableCores). byok-relay, where the gateway
// shares the process, gives them half of those instead.
int DefaultUpstreamThreads();

// Reads and validates the configuration. InvalidArgument naming the variable (never its value) when a
// value is bad.
absl::StatusOr<RelayConfig> LoadRelayConfig(const Env& env);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_CONFIG_H_
