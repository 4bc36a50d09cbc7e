#include "services/vault/store_executor.h"

#include <algorithm>
#include <utility>

#include "common/thread_name.h"
#include "services/vault/vault_metrics.h"

namespace byok::vault {
namespace {

thread_local bool on_worker = false;

}  // namespace

StoreExecutor::StoreExecutor(StoreExecutorOptions options) : options_(options) {
  const int threads = std::max(options_.threads, 1);
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) workers_.push_back(StartNamedThread("vault-store", [this] { Work(); }));
}

StoreExecutor::~StoreExecutor() { Shutdown(absl::ZeroDuration()); }

bool StoreExecutor::OnWorkerThread() { return on_worker; }

absl::Status StoreExecutor::Submit(absl::Time deadline, Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && static_cast<int>(queue_.size()) < options_.max_queued) {
      queue_.push_back(Queued{deadline, absl::Now(), std::move(task)});
      return absl::OkStatus();
    }
  }
  if (VaultMetrics* m = VaultMetrics::Get()) m->StoreRefused("queue_full");
  return absl::UnavailableError("the vault's store is busy; retry");
}

void StoreExecutor::Work() {
  on_worker = true;
  while (true) {
    Queued next;
    absl::Status admitted;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &StoreExecutor::HasWorkOrStops));
      if (queue_.empty()) return;  // stopping, and nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
      const absl::Time now = absl::Now();
      if (now > next.deadline) {
        admitted = absl::DeadlineExceededError("the call's deadline passed while it waited for the store");
      } else if (now > drain_until_) {
        admitted = absl::UnavailableError("the vault is shutting down");
      }
      if (VaultMetrics* m = VaultMetrics::Get()) m->StoreQueued(now - next.queued_at);
    }
    if (!admitted.ok()) {
      if (VaultMetrics* m = VaultMetrics::Get()) {
        m->StoreRefused(absl::IsDeadlineExceeded(admitted) ? "deadline" : "shutdown");
      }
    }
    std::move(next.task)(std::move(admitted));
  }
}

void StoreExecutor::Shutdown(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_until_ = absl::Now() + timeout;
    }
  }
  absl::MutexLock join(&join_mu_);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

int StoreExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

}  // namespace byok::vault
