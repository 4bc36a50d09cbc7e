// The settings of an answer cache (answer_cache.h) and the one place they are read from the
// environment, for the relay's keys and the gateway's tokens alike. Callers spell out both variable
// names, so each setting the suite reads appears in the code as written (and is checked against the
// README's configuration table).
#ifndef BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_OPTIONS_H_
#define BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_OPTIONS_H_

#include <cstddef>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/env.h"

namespace byok::vault {

struct AnswerCacheOptions {
  size_t max_entries = 10000;  // 0: the cache is off
  absl::Duration ttl = absl::Seconds(60);
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// The two variables of one cache.
struct AnswerCacheVars {
  const char* entries;      // 0 to 10,000,000; 0 turns the cache off; default 10000
  const char* ttl_seconds;  // 1 to 86400; default 60
};

// Reads both. A bad value is an error naming its variable.
absl::StatusOr<AnswerCacheOptions> LoadAnswerCacheOptions(const Env& env, const AnswerCacheVars& vars);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_OPTIONS_H_
