// GET /stats counts every relayed request whose response ended before it (compat.md). A relayed
// request's response no longer waits for its usage record to be stored (the relay sends the end
// first, then says when the record is stored): the fence holds reads of the statistics in this
// gateway until the records of responses that ended before them are stored.
//
// Snapshot semantics: a read waits only for the records pending when it asked, never for later ones,
// so a busy gateway holds it about one usage write, however many requests keep ending.
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_USAGE_FENCE_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_USAGE_FENCE_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/synchronization/mutex.h"

namespace byok::gateway {

// Thread-safe.
class UsageFence {
 public:
  // A response ended before its usage record was stored; Stored(ticket) follows, exactly once.
  uint64_t Pending();
  // The record of `ticket` is stored (or was given up, or will never be heard of: its stream ended).
  void Stored(uint64_t ticket);
  // Runs `then` once every record pending now is stored: at once (on this thread) when none is,
  // else from the Stored call that releases it (never under the fence's lock).
  void AfterPending(std::function<void()> then);

  // Records pending now (for tests and metrics).
  size_t pending() const;

 private:
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  absl::btree_set<uint64_t> pending_ ABSL_GUARDED_BY(mu_);
  // Each waits for every ticket up to its number (the last one issued when it asked), oldest first.
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_USAGE_FENCE_H_
