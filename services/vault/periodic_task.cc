#include "services/vault/periodic_task.h"

#include <utility>

#include "common/thread_name.h"

namespace byok::vault {

PeriodicTask::PeriodicTask(std::function<void()> task, absl::Duration interval)
    : task_(std::move(task)),
      interval_(interval),
      thread_(StartNamedThread("vault-periodic", [this] { Run(); })) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int PeriodicTask::runs() const {
  absl::MutexLock lock(&mu_);
  return runs_;
}

void PeriodicTask::Run() {
  while (true) {
    task_();
    absl::MutexLock lock(&mu_);
    ++runs_;
    // Wakes early when stop_ is set; otherwise after the interval.
    mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
    if (stop_) return;
  }
}

}  // namespace byok::vault
