// A small pool of blocking hiredis connections to one Redis, for the gateway's shared rate limits.
//
// Every wait is bounded by the settings' timeout (connect, each command, waiting for a free connection).
// After a failure Redis counts as down: for kRetryInterval every call fails at once without touching the
// network, then one call probes it again. Going down and coming back are logged once each (never per
// request). Connections that were idle when Redis went down are dropped, so a restarted Redis is used
// again from the first successful probe.
#ifndef BYOK_SERVICES_GATEWAY_LIMITS_REDIS_POOL_H_
#define BYOK_SERVICES_GATEWAY_LIMITS_REDIS_POOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#include "services/gateway/limits/redis_settings.h"

struct redisContext;

namespace byok::gateway {

// A Lua script run with EVALSHA (EVAL when Redis does not know it yet, as after a restart).
class RedisScript {
 public:
  explicit RedisScript(std::string text);
  const std::string& text() const { return text_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string text_;
  std::string sha1_;  // lower-case hex
};

class RedisPool {
 public:
  // Holds at most `max_connections` connections (at least 1); none is opened before the first call.
  RedisPool(RedisSettings settings, size_t max_connections);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs `script` with one key and `args`; returns its reply, which must be an array of integers.
  // Unavailable when Redis cannot be reached or answer within the timeout, or is counted down.
  absl::StatusOr<std::vector<int64_t>> EvalIntegers(const RedisScript& script, const std::string& key,
                                                    const std::vector<std::string>& args);

  const RedisSettings& settings() const { return settings_; }

  static constexpr absl::Duration kRetryInterval = absl::Milliseconds(250);

 private:
  struct ContextFree {
    void operator()(redisContext* c) const;
  };
  using Connection = std::unique_ptr<redisContext, ContextFree>;

  enum class State { kUp, kDown };

  // Takes an idle connection or opens one; fails at once while Redis is counted down.
  absl::StatusOr<Connection> Checkout();
  // Opens, authenticates and selects the database.
  absl::StatusOr<Connection> Connect() const;
  // Gives back a connection that worked; or forgets a broken one (nullptr) and counts Redis down.
  void Release(Connection connection, const absl::Status& failure);
  void MarkDownLocked(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RedisSettings settings_;
  const size_t max_connections_;
  absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  State state_ ABSL_GUARDED_BY(mu_) = State::kUp;
  // While down: when the next probe may run, and how many calls failed fast (for the recovery log).
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_);
  int64_t failed_fast_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_LIMITS_REDIS_POOL_H_
