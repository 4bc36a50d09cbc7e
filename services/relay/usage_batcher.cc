#include "services/relay/usage_batcher.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/logging.h"
#include "common/thread_name.h"

namespace byok::relay {

namespace v1 = vault::v1;

UsageBatcher::UsageBatcher(SendFn send, UsageBatcherOptions options)
    : send_(std::move(send)),
      options_(options),
      thread_(StartNamedThread("relay-usage", [this] { Run(); })) {}

UsageBatcher::~UsageBatcher() { Drain(absl::ZeroDuration()); }

void UsageBatcher::Add(v1::RecordUsageRequest record, std::function<void()> settled, Due due) {
  std::optional<Outgoing> batch;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_ || static_cast<int>(pending_.size()) >= options_.max_pending) {
      if (dropped_++ == 0) {
        log::Warn("relay", "usage records are being dropped: the vault is not taking them");
      }
    } else {
      const absl::Time now = absl::Now();
      if (pending_.empty()) {
        oldest_at_ = now;
        if (MayTake() && !settled) changed_.SignalAll();  // the thread now has a deadline to keep
      }
      pending_.push_back(std::move(record));
      if (settled) {
        waiting_.push_back(std::move(settled));
        const absl::Time was_due = waiting_due_;
        waiting_due_ = std::min(
            waiting_due_, due == Due::kAtOnce ? absl::InfinitePast() : now + options_.soon);
        // Due at once: sent from this thread when the way is free (no hop through the batcher's
        // thread); else it rides the next batch, sent when the one in flight is answered. Due soon:
        // the thread keeps the time, told only when it came closer (once per batch).
        batch = TakeDueBatch(now);
        if (!batch.has_value() && MayTake() && (due == Due::kAtOnce || waiting_due_ < was_due)) {
          changed_.SignalAll();  // a retry's or a due record's time to keep
        }
      } else if (static_cast<int>(pending_.size()) == options_.max_batch) {
        changed_.SignalAll();
      }
      settled = nullptr;
    }
  }
  if (batch.has_value()) Send(*std::move(batch));
  if (settled) settled();
}

void UsageBatcher::Settle(std::vector<std::function<void()>> waiters) {
  for (auto& w : waiters) w();
}

std::optional<UsageBatcher::Outgoing> UsageBatcher::TakeDueBatch(absl::Time now) {
  if (!MayTake() || pending_.empty() || waiting_.empty() || stopped_) return std::nullopt;
  if (now < retry_at_ || now < waiting_due_) return std::nullopt;
  return TakeBatch(now);
}

UsageBatcher::Outgoing UsageBatcher::TakeBatch(absl::Time now) {
  Outgoing out;
  v1::RecordUsageBatchRequest& batch = out.batch;
  const int n = std::min<int>(static_cast<int>(pending_.size()), options_.max_batch);
  batch.mutable_records()->Reserve(n);
  for (int i = 0; i < n; ++i) {
    *batch.add_records() = std::move(pending_.front());
    pending_.pop_front();
  }
  // What is left waits at most one more interval. Waiters all ride this batch: a waiter's record is
  // never behind more than one full batch, and they are released together when it is answered.
  oldest_at_ = now;
  ++in_flight_;
  out.waiters = std::move(waiting_);
  waiting_.clear();
  waiting_due_ = absl::InfiniteFuture();
  return out;
}

void UsageBatcher::Send(Outgoing out) {
  send_(std::move(out.batch), [this, waiters = std::move(out.waiters)](
                                  v1::RecordUsageBatchRequest sent, const absl::Status& status) mutable {
    OnSent(std::move(sent), status, std::move(waiters));
  });
}

void UsageBatcher::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopped_) {
    if (!MayTake() || pending_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    const bool now_due = draining_ || static_cast<int>(pending_.size()) >= options_.max_batch;
    const absl::Time due =
        now_due ? retry_at_
                : std::max(std::min(oldest_at_ + options_.flush_interval, waiting_due_), retry_at_);
    const absl::Time now = absl::Now();
    if (now < due) {
      changed_.WaitWithDeadline(&mu_, due);
      continue;
    }
    Outgoing batch = TakeBatch(now);
    mu_.Unlock();
    Send(std::move(batch));
    mu_.Lock();
  }
}

void UsageBatcher::OnSent(v1::RecordUsageBatchRequest batch, const absl::Status& status,
                          std::vector<std::function<void()>> waiters) {
  std::optional<Outgoing> next;
  {
    absl::MutexLock lock(&mu_);
    Requeue(std::move(batch), status);
    // Records whose requests wait go now, from this thread (the batcher's thread would be one more
    // hop); the others are the thread's, on their interval.
    next = TakeDueBatch(absl::Now());
    if (!next.has_value() && (!pending_.empty() || draining_)) changed_.SignalAll();
  }
  // A retried record is recorded later; its request has waited long enough.
  Settle(std::move(waiters));
  if (next.has_value()) Send(*std::move(next));
}

void UsageBatcher::Requeue(v1::RecordUsageBatchRequest batch, const absl::Status& status) {
  --in_flight_;
  if (status.ok()) return;
  if (absl::IsUnavailable(status) && !stopped_) {
    // Nothing was stored: queue the batch again, ahead of newer records, within the bound.
    const int room = options_.max_pending - static_cast<int>(pending_.size());
    const int keep = std::clamp(batch.records_size(), 0, std::max(room, 0));
    for (int i = keep - 1; i >= 0; --i) pending_.push_front(std::move(*batch.mutable_records(i)));
    dropped_ += batch.records_size() - keep;
    oldest_at_ = absl::Now();
    retry_at_ = absl::Now() + options_.flush_interval;
    log::Warn("relay", "recording usage failed (will retry): %s", status.message());
    return;
  }
  dropped_ += batch.records_size();
  log::Warn("relay", "recording usage failed: %s", status.message());
}

void UsageBatcher::Drain(absl::Duration timeout) {
  std::vector<std::function<void()>> dropped_waiters;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    draining_ = true;
    changed_.SignalAll();
    const absl::Time deadline = absl::Now() + timeout;
    while ((!pending_.empty() || in_flight_ > 0) && absl::Now() < deadline) {
      changed_.WaitWithDeadline(&mu_, deadline);
    }
    stopped_ = true;
    dropped_ += static_cast<int64_t>(pending_.size());
    pending_.clear();
    dropped_waiters = std::move(waiting_);
    waiting_.clear();
    waiting_due_ = absl::InfiniteFuture();
    changed_.SignalAll();
  }
  Settle(std::move(dropped_waiters));
  thread_.join();
  // A batch still in flight refers to this object until its `done`: bounded by the call's deadline.
  absl::MutexLock lock(&mu_);
  while (in_flight_ > 0) changed_.Wait(&mu_);
}

int64_t UsageBatcher::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace byok::relay
