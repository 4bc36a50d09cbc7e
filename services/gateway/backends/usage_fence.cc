#include "services/gateway/backends/usage_fence.h"

namespace byok::gateway {

uint64_t UsageFence::Pending() {
  absl::MutexLock lock(&mu_);
  const uint64_t ticket = next_++;
  pending_.insert(ticket);
  return ticket;
}

void UsageFence::Stored(uint64_t ticket) {
  std::vector<std::function<void()>> released;
  {
    absl::MutexLock lock(&mu_);
    if (pending_.erase(ticket) == 0) return;
    // Every ticket below the oldest still pending is stored.
    const uint64_t oldest = pending_.empty() ? next_ : *pending_.begin();
    size_t n = 0;
    while (n < waiters_.size() && waiters_[n].first < oldest) ++n;
    for (size_t i = 0; i < n; ++i) released.push_back(std::move(waiters_[i].second));
    waiters_.erase(waiters_.begin(), waiters_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  for (auto& then : released) then();
}

void UsageFence::AfterPending(std::function<void()> then) {
  {
    absl::MutexLock lock(&mu_);
    if (!pending_.empty()) {
      // Waiters are added in ticket order, so the vector stays sorted by what each waits for.
      waiters_.emplace_back(next_ - 1, std::move(then));
      return;
    }
  }
  then();
}

size_t UsageFence::pending() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

}  // namespace byok::gateway
