#include "services/gateway/limits/rate_limiter.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace byok::gateway {

HeaderList RateDecision::Headers() const {
  HeaderList headers;
  if (unavailable) {
    headers.emplace_back("Retry-After", "1");
    return headers;
  }
  if (limit <= 0) return headers;
  headers.emplace_back("RateLimit-Policy", absl::StrCat(limit, ";w=", window_seconds));
  headers.emplace_back("RateLimit-Limit", absl::StrCat(limit));
  headers.emplace_back("RateLimit-Remaining", absl::StrCat(remaining));
  headers.emplace_back("RateLimit-Reset", absl::StrCat(reset_seconds));
  if (!allowed) headers.emplace_back("Retry-After", absl::StrCat(reset_seconds));
  return headers;
}

RateLimiter::RateLimiter(int64_t limit, absl::Duration window, size_t max_keys, Clock clock)
    : limit_(limit), window_(window), max_keys_(std::max<size_t>(max_keys, 1)),
      clock_(std::move(clock)) {}

RateDecision RateLimiter::Acquire(absl::string_view key) {
  RateDecision decision;
  if (!enabled()) return decision;
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= max_keys_) EvictLocked(now);
    it = windows_.emplace(std::string(key), Window{now, 0}).first;
  } else if (now - it->second.start >= window_) {
    it->second = Window{now, 0};
  }
  Window& w = it->second;
  decision.limit = limit_;
  decision.window_seconds = absl::ToInt64Seconds(window_);
  // Whole seconds, rounded up, so a client waiting that long is never refused again by rounding.
  absl::Duration left = std::max(w.start + window_ - now, absl::ZeroDuration());
  decision.reset_seconds = absl::ToInt64Seconds(absl::Ceil(left, absl::Seconds(1)));
  if (w.count >= limit_) {
    decision.allowed = false;
    decision.remaining = 0;
    return decision;
  }
  ++w.count;
  decision.allowed = true;
  decision.remaining = limit_ - w.count;
  return decision;
}

void RateLimiter::EvictLocked(absl::Time now) {
  absl::erase_if(windows_, [&](const auto& entry) { return now - entry.second.start >= window_; });
  // Still full of live windows (many distinct clients at once): forget some rather than grow. Those
  // clients get a fresh window, which errs on the side of serving them.
  while (windows_.size() >= max_keys_) windows_.erase(windows_.begin());
}

size_t RateLimiter::TrackedKeys() const {
  absl::MutexLock lock(&mu_);
  return windows_.size();
}

std::string TokenRateKey(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace byok::gateway
