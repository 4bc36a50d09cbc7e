#include "services/vault/usage_commit.h"

#include <utility>

#include "services/vault/vault_metrics.h"

namespace byok::vault {

void UsageCommit::Add(Batch batch) {
  bool accepted = false, schedule = false;
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(waiting_.size()) < options_.max_waiting) {
      waiting_.push_back(std::move(batch));
      accepted = true;
      schedule = !flush_queued_;
      flush_queued_ = true;
    }
  }
  if (!accepted) {
    if (VaultMetrics* m = VaultMetrics::Get()) m->StoreRefused("queue_full");
    std::move(batch.done)(absl::UnavailableError("the vault's store is busy; retry"));
    return;
  }
  if (schedule) ScheduleFlush();
}

void UsageCommit::ScheduleFlush() {
  absl::Status queued = executor_.Submit(
      absl::InfiniteFuture(), [this](absl::Status admitted) { Flush(std::move(admitted)); });
  if (queued.ok()) return;
  std::vector<Batch> refused;
  {
    absl::MutexLock lock(&mu_);
    refused.swap(waiting_);
    flush_queued_ = false;
  }
  for (Batch& b : refused) std::move(b.done)(queued);
}

void UsageCommit::Flush(absl::Status admitted) {
  std::vector<Batch> group;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    // At least one call, then as many as fit the transaction's bound.
    size_t records = 0, taken = 0;
    while (taken < waiting_.size() &&
           (taken == 0 || records + waiting_[taken].records.size() <=
                              static_cast<size_t>(options_.max_records))) {
      records += waiting_[taken].records.size();
      ++taken;
    }
    group.reserve(taken);
    for (size_t i = 0; i < taken; ++i) group.push_back(std::move(waiting_[i]));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(taken));
    more = !waiting_.empty();
    flush_queued_ = more;
  }
  if (more) ScheduleFlush();
  if (!admitted.ok()) {
    for (Batch& b : group) std::move(b.done)(admitted);
    return;
  }
  // Calls that can no longer be answered usefully store nothing.
  const absl::Time now = absl::Now();
  std::vector<Batch> live;
  live.reserve(group.size());
  for (Batch& b : group) {
    if (now > b.deadline) {
      if (VaultMetrics* m = VaultMetrics::Get()) m->StoreRefused("deadline");
      std::move(b.done)(absl::DeadlineExceededError("the call's deadline passed while it waited for the store"));
    } else if (b.cancelled && b.cancelled()) {
      if (VaultMetrics* m = VaultMetrics::Get()) m->StoreRefused("cancelled");
      std::move(b.done)(absl::CancelledError("the call was cancelled while it waited for the store"));
    } else {
      live.push_back(std::move(b));
    }
  }
  if (!live.empty()) Store(std::move(live));
}

void UsageCommit::Store(std::vector<Batch> group) {
  std::vector<absl::Span<const UsageRecord>> batches;
  batches.reserve(group.size());
  for (const Batch& b : group) batches.emplace_back(b.records);
  absl::StatusOr<std::vector<int64_t>> stored = core_.StoreUsageBatches(batches);
  if (!stored.ok() && group.size() > 1 && !absl::IsUnavailable(stored.status())) {
    for (Batch& b : group) {
      std::vector<Batch> alone;
      alone.push_back(std::move(b));
      Store(std::move(alone));
    }
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    ++transactions_;
  }
  if (VaultMetrics* m = VaultMetrics::Get()) m->UsageCommitted(static_cast<int>(group.size()));
  for (size_t i = 0; i < group.size(); ++i) {
    if (stored.ok()) {
      std::move(group[i].done)((*stored)[i]);
    } else {
      std::move(group[i].done)(stored.status());
    }
  }
}

int UsageCommit::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waiting_.size());
}

int64_t UsageCommit::transactions() const {
  absl::MutexLock lock(&mu_);
  return transactions_;
}

}  // namespace byok::vault
