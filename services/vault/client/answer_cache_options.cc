#include "services/vault/client/answer_cache_options.h"

#include <cstdint>
#include <string>

#include "common/status.h"

namespace byok::vault {
namespace {

constexpr int64_t kMaxEntries = 10'000'000;
constexpr int64_t kMaxTtlSeconds = 24 * 60 * 60;

}  // namespace

absl::StatusOr<AnswerCacheOptions> LoadAnswerCacheOptions(const Env& env, const AnswerCacheVars& vars) {
  AnswerCacheOptions options;
  BYOK_ASSIGN_OR_RETURN(int64_t entries,
                        env.GetInt(vars.entries, static_cast<int64_t>(options.max_entries), 0, kMaxEntries));
  options.max_entries = static_cast<size_t>(entries);
  BYOK_ASSIGN_OR_RETURN(int64_t ttl_s,
                        env.GetInt(vars.ttl_seconds, absl::ToInt64Seconds(options.ttl), 1, kMaxTtlSeconds));
  options.ttl = absl::Seconds(ttl_s);
  return options;
}

}  // namespace byok::vault
