// The gateway's configuration, read from the environment and validated as a whole at start-up.
#ifndef BYOK_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
#define BYOK_SERVICES_GATEWAY_GATEWAY_CONFIG_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#include "common/env.h"
#include "common/grpc_tls.h"
#include "common/service_auth.h"
#include "services/gateway/api/cors.h"
#include "services/gateway/limits/redis_settings.h"
#include "services/vault/client/answer_cache_options.h"

namespace byok::gateway {

// Everything the gateway needs to start. Plain data; copyable.
struct GatewayConfig {
  // Listen address and port (PORT; 0 picks a free port, for tests).
  std::string host = "0.0.0.0";
  int port = 3000;
  // Threads running the HTTP side (BYOK_GATEWAY_THREADS).
  int threads = 2;
  // gRPC targets (BYOK_VAULT_ADDR, BYOK_RELAY_ADDR).
  std::string vault_addr = "127.0.0.1:50051";
  std::string relay_addr = "127.0.0.1:50052";
  // RelayMany streams relayed requests are spread over (BYOK_RELAY_STREAMS); 0 sends each request as a
  // Relay call of its own (as the streams do by themselves with a relay older than RelayMany). Unset:
  // kRelayStreamsToSpread, or one when BYOK_RELAY_ADDR names one address (every stream would ride
  // the same connection to the same relay, and one stream carries more replies per message).
  static constexpr int kRelayStreamsToSpread = 4;
  int relay_streams = kRelayStreamsToSpread;
  // BYOK_GATEWAY_END_AFTER_USAGE: a relayed response over the streams ends only once its usage record
  // is stored (as a Relay call's does), so GET /stats through any gateway replica counts it. Off: the
  // response ends first and GET /stats through this gateway waits for those records (usage_fence.h).
  bool end_after_usage = false;
  // BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE, BYOK_TLS_CA_FILE: mutual TLS to the vault and the relay.
  // Unset: plaintext gRPC.
  std::optional<MutualTls> tls;
  // BYOK_SERVICE_TOKEN (sent on every vault and relay call) and BYOK_TRUSTED_LOOPBACK
  // (common/service_auth.h).
  ServiceAuth service;
  // CORS (ALLOWED_ORIGINS, as written and parsed).
  std::string allowed_origins = "*";
  CorsPolicy cors = CorsPolicy::Parse("*");
  // REQUEST_BODY_LIMIT_BYTES: digits, or (beyond the original) a size such as "10mb".
  uint64_t body_limit_bytes = kDefaultBodyLimit;
  static constexpr uint64_t kDefaultBodyLimit = 10 * 1024 * 1024;
  // Largest request head (request line and headers).
  uint32_t header_limit_bytes = 16 * 1024;
  // APP_SECRET; unset means POST /users is open and GET /stats/{app_id} answers 503.
  std::optional<std::string> app_secret;
  // COMMIT_SHA, BUILD_TIME (unset: the time the process started), BYOK_REPO_URL: shown by /version
  // and /health.
  std::optional<std::string> commit_sha;
  std::optional<std::string> build_time;
  std::string repo_url = "https://github.com/avikalpg/byok-relay";
  // Requests per window; 0 is off.
  int64_t rate_limit_global = 100;    // per minute per client address
  int64_t rate_limit_relay = 20;      // per minute per token
  int64_t rate_limit_register = 10;   // per hour per client address
  int64_t rate_limit_deep_health = 10;  // GET /health?deep=1, per minute per client address (fixed)
  // REDIS_URL (with RATE_LIMIT_REDIS_TIMEOUT_MS, RATE_LIMIT_REDIS_FAILURE): the rate limits' windows
  // shared in Redis by every gateway replica. Unset: kept in this process.
  std::optional<RedisSettings> redis;
  // TRUST_PROXY: proxy hops whose X-Forwarded-For is believed.
  int trust_proxy = 0;
  // BYOK_DEMO=1: serve the demo page (clients/demo, embedded) at /demo/.
  bool demo = false;
  // A request head must arrive within this time (BYOK_HTTP_HEADER_TIMEOUT_MS).
  absl::Duration header_timeout = absl::Seconds(10);
  // A request body must arrive within this time (BYOK_HTTP_BODY_TIMEOUT_MS).
  absl::Duration body_timeout = absl::Seconds(60);
  // An idle keep-alive connection is closed after this (BYOK_HTTP_IDLE_TIMEOUT_MS).
  absl::Duration idle_timeout = absl::Seconds(30);
  // Writing one piece of a response may take this long before the client is given up on
  // (BYOK_HTTP_WRITE_TIMEOUT_MS).
  absl::Duration write_timeout = absl::Seconds(60);
  // Deadline of unary vault and relay calls (BYOK_GATEWAY_RPC_TIMEOUT_MS); key checks ask a provider
  // and get BYOK_GATEWAY_CHECK_KEY_TIMEOUT_MS.
  absl::Duration rpc_timeout = absl::Seconds(10);
  absl::Duration check_key_timeout = absl::Seconds(30);
  // Deadline of each readiness probe in /health (BYOK_HEALTH_TIMEOUT_MS).
  absl::Duration health_timeout = absl::Seconds(1);
  // BYOK_GATEWAY_TOKEN_CACHE_ENTRIES (10000; 0: off) and BYOK_GATEWAY_TOKEN_CACHE_TTL_SECONDS (60):
  // verified tokens kept while the vault's change stream is live (token_cache.h).
  vault::AnswerCacheOptions token_cache;
  // What start-up should log as warnings: values accepted with a meaning the operator may not expect.
  std::vector<std::string> warnings;
};

// Reads and validates the gateway's variables from `env`. A bad value is an error naming the variable
// (never echoing a secret).
absl::StatusOr<GatewayConfig> LoadGatewayConfig(const Env& env);

// Reads `--port N` (or `--port=N`, 1-65535) from the command line, as the original's CLI; nullopt when
// absent. Other arguments are added to `unknown` (as the original's CLI, callers warn and go on).
absl::StatusOr<std::optional<int>> PortFromArgs(int argc, char** argv,
                                                std::vector<std::string>* unknown = nullptr);

// Parses REQUEST_BODY_LIMIT_BYTES as the original does (decimal digits, a positive integer), and beyond
// it sizes with a unit ("10mb", "512kb", "1gb"; 1024-based). Anything else means the default (10 MiB),
// with a warning added to `warnings`; so does a unit (the original ignored it).
uint64_t ParseBodyLimit(absl::string_view value, std::vector<std::string>* warnings);

// One entry per variable, `NAME (default): meaning`, for --help; entries of the variables named in
// `except` are left out (byok-relay lists those itself: in one process they mean something else).
std::string GatewayConfigHelp(std::initializer_list<absl::string_view> except = {});

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
