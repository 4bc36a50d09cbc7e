#include "services/vault/client/answer_cache_options.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace byok::vault {
namespace {

constexpr int64_t kMaxEntries = 10'000'000;
constexpr int64_t kMaxTtlSeconds = 24 * 60 * 60;

}  // namespace

absl::StatusOr<AnswerCacheOptions> LoadAnswerCacheOptions(const Env& env, absl::string_view prefix) {
  AnswerCacheOptions options;
  BYOK_ASSIGN_OR_RETURN(int64_t entries,
                        env.GetInt(absl::StrCat(prefix, "_ENTRIES"),
                                   static_cast<int64_t>(options.max_entries), 0, kMaxEntries));
  options.max_entries = static_cast<size_t>(entries);
  BYOK_ASSIGN_OR_RETURN(int64_t ttl_s, env.GetInt(absl::StrCat(prefix, "_TTL_SECONDS"),
                                                  absl::ToInt64Seconds(options.ttl), 1, kMaxTtlSeconds));
  options.ttl = absl::Seconds(ttl_s);
  return options;
}

}  // namespace byok::vault
