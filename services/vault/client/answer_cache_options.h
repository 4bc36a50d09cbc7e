// The settings of an answer cache (answer_cache.h) and the one place they are read from the
// environment: <prefix>_ENTRIES and <prefix>_TTL_SECONDS, for the relay's keys and the gateway's
// tokens alike.
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

// Reads <prefix>_ENTRIES (0 to 10,000,000; 0 turns the cache off; default 10000) and
// <prefix>_TTL_SECONDS (1 to 86400; default 60). A bad value is an error naming the variable.
absl::StatusOr<AnswerCacheOptions> LoadAnswerCacheOptions(const Env& env, absl::string_view prefix);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CLIENT_ANSWER_CACHE_OPTIONS_H_
