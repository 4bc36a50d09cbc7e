#include "services/gateway/gateway_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc_channel.h"
#include "common/status.h"

namespace byok::gateway {
namespace {

constexpr int64_t kMaxRate = 1000000000;
constexpr int64_t kMaxMs = 24LL * 3600 * 1000;

absl::StatusOr<absl::Duration> GetMillis(const Env& env, const char* name, absl::Duration fallback,
                                         int64_t min_ms) {
  BYOK_ASSIGN_OR_RETURN(int64_t ms,
                        env.GetInt(name, absl::ToInt64Milliseconds(fallback), min_ms, kMaxMs));
  return absl::Milliseconds(ms);
}

}  // namespace

absl::StatusOr<GatewayConfig> LoadGatewayConfig(const Env& env) {
  GatewayConfig c;
  c.host = env.GetString("BYOK_GATEWAY_HOST", c.host);
  BYOK_ASSIGN_OR_RETURN(int64_t port, env.GetInt("PORT", c.port, 0, 65535));
  c.port = static_cast<int>(port);
  BYOK_ASSIGN_OR_RETURN(int64_t threads, env.GetInt("BYOK_GATEWAY_THREADS", c.threads, 1, 256));
  c.threads = static_cast<int>(threads);
  BYOK_ASSIGN_OR_RETURN(c.token_cache, vault::LoadAnswerCacheOptions(
                                    env, {"BYOK_GATEWAY_TOKEN_CACHE_ENTRIES", "BYOK_GATEWAY_TOKEN_CACHE_TTL_SECONDS"}));
  c.vault_addr = env.GetString("BYOK_VAULT_ADDR", c.vault_addr);
  c.relay_addr = env.GetString("BYOK_RELAY_ADDR", c.relay_addr);
  BYOK_RETURN_IF_ERROR(GrpcTarget("BYOK_VAULT_ADDR", c.vault_addr).status());
  BYOK_RETURN_IF_ERROR(GrpcTarget("BYOK_RELAY_ADDR", c.relay_addr).status());
  c.relay_streams = NamesOneAddress(c.relay_addr) ? 1 : GatewayConfig::kRelayStreamsToSpread;
  BYOK_ASSIGN_OR_RETURN(int64_t relay_streams, env.GetInt("BYOK_RELAY_STREAMS", c.relay_streams, 0, 64));
  c.relay_streams = static_cast<int>(relay_streams);
  BYOK_ASSIGN_OR_RETURN(c.end_after_usage, env.GetBool("BYOK_GATEWAY_END_AFTER_USAGE", c.end_after_usage));

  c.allowed_origins = env.GetString("ALLOWED_ORIGINS", "*");
  c.cors = CorsPolicy::Parse(c.allowed_origins);
  for (const std::string& entry : c.cors.NonOrigins()) {
    c.warnings.push_back(absl::StrCat("ALLOWED_ORIGINS: \"", entry,
                                      "\" is not an origin (scheme://host[:port]); no browser will match it"));
  }

  // Present but empty counts as set for the original; here it means the default, as unset.
  if (std::optional<std::string> limit = env.Get("REQUEST_BODY_LIMIT_BYTES")) {
    c.body_limit_bytes = ParseBodyLimit(*limit, &c.warnings);
  }
  BYOK_ASSIGN_OR_RETURN(int64_t header_limit,
                        env.GetInt("BYOK_HTTP_HEADER_LIMIT_BYTES", c.header_limit_bytes, 1024,
                                   1024 * 1024));
  c.header_limit_bytes = static_cast<uint32_t>(header_limit);

  if (std::optional<std::string> secret = env.Get("APP_SECRET"); secret.has_value()) {
    // The secret travels as the second space-separated part of the Authorization header: with a space
    // in it no request could ever match (the original refuses it too).
    if (absl::StrContains(*secret, ' ')) {
      return absl::InvalidArgumentError("APP_SECRET must not contain spaces");
    }
    c.app_secret = std::move(secret);
  }
  c.commit_sha = env.Get("COMMIT_SHA");
  c.build_time = env.Get("BUILD_TIME");
  c.repo_url = env.GetString("BYOK_REPO_URL", c.repo_url);

  BYOK_ASSIGN_OR_RETURN(c.rate_limit_global,
                        env.GetInt("RATE_LIMIT_GLOBAL", c.rate_limit_global, 0, kMaxRate));
  BYOK_ASSIGN_OR_RETURN(c.rate_limit_relay,
                        env.GetInt("RATE_LIMIT_RELAY", c.rate_limit_relay, 0, kMaxRate));
  BYOK_ASSIGN_OR_RETURN(c.rate_limit_register,
                        env.GetInt("RATE_LIMIT_REGISTER", c.rate_limit_register, 0, kMaxRate));

  if (std::string url = env.GetString("REDIS_URL", ""); !url.empty()) {
    RedisSettings redis;
    BYOK_ASSIGN_OR_RETURN(redis.endpoint, ParseRedisUrl(url));
    BYOK_ASSIGN_OR_RETURN(redis.timeout,
                          GetMillis(env, "RATE_LIMIT_REDIS_TIMEOUT_MS", redis.timeout, 1));
    BYOK_ASSIGN_OR_RETURN(redis.on_failure,
                          ParseRedisFailurePolicy(env.GetString("RATE_LIMIT_REDIS_FAILURE", "open")));
    c.redis = std::move(redis);
  }

  BYOK_ASSIGN_OR_RETURN(c.demo, env.GetBool("BYOK_DEMO", false));

  // The original (Express) also took true/false here; true meant one hop.
  std::string trust = absl::AsciiStrToLower(env.GetString("TRUST_PROXY", "0"));
  if (trust == "true") {
    c.trust_proxy = 1;
  } else if (trust == "false") {
    c.trust_proxy = 0;
  } else {
    BYOK_ASSIGN_OR_RETURN(int64_t hops, env.GetInt("TRUST_PROXY", 0, 0, 32));
    c.trust_proxy = static_cast<int>(hops);
  }

  BYOK_ASSIGN_OR_RETURN(c.header_timeout,
                        GetMillis(env, "BYOK_HTTP_HEADER_TIMEOUT_MS", c.header_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.body_timeout,
                        GetMillis(env, "BYOK_HTTP_BODY_TIMEOUT_MS", c.body_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.idle_timeout,
                        GetMillis(env, "BYOK_HTTP_IDLE_TIMEOUT_MS", c.idle_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.write_timeout,
                        GetMillis(env, "BYOK_HTTP_WRITE_TIMEOUT_MS", c.write_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.rpc_timeout,
                        GetMillis(env, "BYOK_GATEWAY_RPC_TIMEOUT_MS", c.rpc_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.check_key_timeout, GetMillis(env, "BYOK_GATEWAY_CHECK_KEY_TIMEOUT_MS",
                                                       c.check_key_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.health_timeout,
                        GetMillis(env, "BYOK_HEALTH_TIMEOUT_MS", c.health_timeout, 10));
  BYOK_ASSIGN_OR_RETURN(c.tls, LoadMutualTls(env));
  BYOK_ASSIGN_OR_RETURN(c.service, LoadServiceAuth(env));
  return c;
}

absl::StatusOr<std::optional<int>> PortFromArgs(int argc, char** argv,
                                                std::vector<std::string>* unknown) {
  std::optional<int> port;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    absl::string_view value;
    if (arg == "--port") {
      if (i + 1 >= argc) return absl::InvalidArgumentError("--port needs a number (1-65535)");
      value = argv[++i];
    } else if (absl::StartsWith(arg, "--port=")) {
      value = arg.substr(7);
    } else {
      if (unknown != nullptr) unknown->emplace_back(arg);
      continue;
    }
    int parsed = 0;
    if (!absl::SimpleAtoi(value, &parsed) || parsed < 1 || parsed > 65535) {
      return absl::InvalidArgumentError("--port needs a number (1-65535)");
    }
    port = parsed;
  }
  return port;
}

uint64_t ParseBodyLimit(absl::string_view value, std::vector<std::string>* warnings) {
  constexpr uint64_t kMax = uint64_t{1} << 30;
  absl::string_view v = absl::StripAsciiWhitespace(value);
  size_t digits = 0;
  while (digits < v.size() && absl::ascii_isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
  uint64_t number = 0;
  const bool has_number = digits > 0 && digits <= 12 && absl::SimpleAtoi(v.substr(0, digits), &number);
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(v.substr(digits)));
  uint64_t scale = 0;
  if (unit.empty()) {
    scale = 1;
  } else if (unit == "b") {
    scale = 1;
  } else if (unit == "kb" || unit == "k") {
    scale = 1024;
  } else if (unit == "mb" || unit == "m") {
    scale = 1024 * 1024;
  } else if (unit == "gb" || unit == "g") {
    scale = 1024 * 1024 * 1024;
  }
  if (!has_number || number == 0 || scale == 0) {
    warnings->push_back(absl::StrCat("REQUEST_BODY_LIMIT_BYTES=\"", v,
                                     "\" is not a size; using the default, 10485760 bytes (10 MiB)"));
    return GatewayConfig::kDefaultBodyLimit;
  }
  uint64_t bytes = number > kMax / scale ? kMax + 1 : number * scale;
  if (bytes > kMax) {
    warnings->push_back("REQUEST_BODY_LIMIT_BYTES is above 1 GiB; using 1 GiB");
    return kMax;
  }
  if (scale != 1) {
    warnings->push_back(absl::StrCat("REQUEST_BODY_LIMIT_BYTES=\"", v, "\" read as ", bytes,
                                     " bytes (the original server ignored units and used 10 MiB)"));
  }
  return bytes;
}

std::string GatewayConfigHelp(std::initializer_list<absl::string_view> except) {
  static constexpr absl::string_view kHelp =
         "  PORT (3000)                      HTTP port of the REST API\n"
         "  BYOK_GATEWAY_HOST (0.0.0.0)      address the REST API listens on\n"
         "  BYOK_GATEWAY_THREADS (2)         threads serving HTTP\n"
         "  BYOK_VAULT_ADDR (127.0.0.1:50051) the vault: host:port, ip:port,ip:port,... or\n"
         "                                   dns:///name:port (round-robin over every address)\n"
         "  BYOK_RELAY_ADDR (127.0.0.1:50052) the relay, in the same forms\n"
         "  BYOK_RELAY_STREAMS (4; 1 when BYOK_RELAY_ADDR is one IP address) RelayMany streams\n"
         "                                   relayed requests share (0-64); 0: a Relay call per request\n"
         "  BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE, BYOK_TLS_CA_FILE (unset: plaintext)\n"
         "                                   mutual TLS to the vault and relay (PEM, all three)\n"
         "  BYOK_SERVICE_TOKEN (unset)       shared secret (32+ characters) sent on every vault and\n"
         "                                   relay call: the service identity without mutual TLS\n"
         "  BYOK_TRUSTED_LOOPBACK (0)        byok-gatewayd: 1 lets it run with neither when the vault\n"
         "                                   and relay are on loopback\n"
         "  ALLOWED_ORIGINS (*)              CORS origins, comma-separated\n"
         "  APP_SECRET (unset)               Bearer secret for POST /users and GET /stats/{app_id}\n"
         "  REQUEST_BODY_LIMIT_BYTES (10485760) largest request body (413 above it); 10mb and the like\n"
         "  COMMIT_SHA, BUILD_TIME (unset)   build information shown by /version and /health\n"
         "  BYOK_REPO_URL                    repoUrl of /version (attestationUrl adds /tree/<commit>)\n"
         "  RATE_LIMIT_GLOBAL (100)          requests per minute per client address; 0 off\n"
         "  RATE_LIMIT_RELAY (20)            relayed requests per minute per token; 0 off\n"
         "  RATE_LIMIT_REGISTER (10)         registrations per hour per client address; 0 off\n"
         "  REDIS_URL (unset)                redis://[[user]:password@]host[:port][/db]: rate limits\n"
         "                                   shared by every gateway in Redis (unset: in memory)\n"
         "  RATE_LIMIT_REDIS_TIMEOUT_MS (50) bound on a Redis connect or command\n"
         "  RATE_LIMIT_REDIS_FAILURE (open)  Redis unreachable: open (pass uncounted) or closed (503)\n"
         "  TRUST_PROXY (0)                  proxy hops whose X-Forwarded-For is believed\n"
         "  BYOK_HTTP_HEADER_LIMIT_BYTES (16384) largest request head (431 above it)\n"
         "  BYOK_HTTP_HEADER_TIMEOUT_MS (10000) time allowed for a request head to arrive\n"
         "  BYOK_HTTP_BODY_TIMEOUT_MS (60000) time allowed for a request body to arrive\n"
         "  BYOK_HTTP_IDLE_TIMEOUT_MS (30000) idle keep-alive connections are closed after this\n"
         "  BYOK_HTTP_WRITE_TIMEOUT_MS (60000) a client that reads nothing for this long is dropped\n"
         "  BYOK_GATEWAY_RPC_TIMEOUT_MS (10000) deadline of vault and relay calls\n"
         "  BYOK_GATEWAY_CHECK_KEY_TIMEOUT_MS (30000) deadline of a key check at the provider\n"
         "  BYOK_HEALTH_TIMEOUT_MS (1000)    deadline of each readiness probe in /health\n"
         "  LOG_LEVEL (info)                 trace, debug, info, warn, error, fatal, silent\n"
         "  LOG_FORMAT (text)                text, or json: one JSON object per line\n"
         "  BYOK_METRICS_ADDR (off)          host:port of the Prometheus /metrics listener\n"
         "  .env in the working directory is read first; the environment wins.\n";
  // An entry is a line that starts with two spaces and a name, and the more indented lines after it.
  std::string help;
  bool skipping = false;
  for (absl::string_view line : absl::StrSplit(kHelp, absl::ByChar('\n'), absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "   ")) {
      absl::string_view name = line.substr(2, line.find_first_of(" ,", 2) - 2);
      skipping = std::find(except.begin(), except.end(), name) != except.end();
    }
    if (!skipping) absl::StrAppend(&help, line, "\n");
  }
  return help;
}

}  // namespace byok::gateway
