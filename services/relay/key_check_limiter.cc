#include "services/relay/key_check_limiter.h"

#include <algorithm>
#include <utility>

namespace byok::relay {

KeyCheckLimiter::KeyCheckLimiter(int64_t per_minute, std::function<absl::Time()> now)
    : capacity_(static_cast<double>(per_minute)),
      per_second_(static_cast<double>(per_minute) / 60.0),
      now_(std::move(now)),
      tokens_(capacity_),
      last_(now_()) {}

bool KeyCheckLimiter::TryAcquire() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = now_();
  tokens_ = std::min(capacity_, tokens_ + absl::ToDoubleSeconds(now - last_) * per_second_);
  last_ = std::max(last_, now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace byok::relay
