// The rate limit on Relay.CheckKey: a token bucket shared by every caller, so the relay's egress cannot
// be turned into a key-testing service even by a compromised internal caller.
#ifndef BYOK_SERVICES_RELAY_KEY_CHECK_LIMITER_H_
#define BYOK_SERVICES_RELAY_KEY_CHECK_LIMITER_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace byok::relay {

// Allows `per_minute` checks a minute, in bursts of up to `per_minute`. Thread-safe.
class KeyCheckLimiter {
 public:
  explicit KeyCheckLimiter(int64_t per_minute, std::function<absl::Time()> now = absl::Now);

  // Takes one check from the bucket; false when it is empty.
  bool TryAcquire();

 private:
  const double capacity_;
  const double per_second_;
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_KEY_CHECK_LIMITER_H_
