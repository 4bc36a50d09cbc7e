// Where the gateway's shared rate limits live (REDIS_URL) and how it treats Redis when it cannot reach it.
#ifndef BYOK_SERVICES_GATEWAY_LIMITS_REDIS_SETTINGS_H_
#define BYOK_SERVICES_GATEWAY_LIMITS_REDIS_SETTINGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace byok::gateway {

// A Redis server as REDIS_URL names it: redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  // Empty username with a password: the legacy AUTH (requirepass); both: an ACL user (Redis 6+).
  std::string username;
  std::string password;

  // host:port (bracketed when IPv6), for logs: never the password.
  std::string Describe() const;
};

// What a request meets when Redis cannot answer within the timeout (RATE_LIMIT_REDIS_FAILURE).
enum class RedisFailurePolicy {
  kOpen,    // let it through uncounted (the original's behaviour when its store fails)
  kClosed,  // refuse it with 503 and Retry-After
};

struct RedisSettings {
  RedisEndpoint endpoint;
  // Bound on connecting and on each command (RATE_LIMIT_REDIS_TIMEOUT_MS): the longest a request waits
  // on Redis.
  absl::Duration timeout = absl::Milliseconds(50);
  RedisFailurePolicy on_failure = RedisFailurePolicy::kOpen;
};

// Parses REDIS_URL. Errors never quote the URL (it may carry a password). rediss:// (TLS) is refused:
// Debian's hiredis is built without TLS.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

// Parses RATE_LIMIT_REDIS_FAILURE: "open" or "closed" (case-insensitive).
absl::StatusOr<RedisFailurePolicy> ParseRedisFailurePolicy(absl::string_view text);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_LIMITS_REDIS_SETTINGS_H_
