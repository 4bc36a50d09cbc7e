// Runs a task on a background thread at a fixed interval, with a prompt, clean stop.
#ifndef BYOK_SERVICES_VAULT_PERIODIC_TASK_H_
#define BYOK_SERVICES_VAULT_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace byok::vault {

// Calls `task` once at start and then every `interval` on its own thread until Stop() or destruction.
// Stop wakes the thread at once (it never waits out the interval). Thread-safe.
class PeriodicTask {
 public:
  PeriodicTask(std::function<void()> task, absl::Duration interval);
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;
  ~PeriodicTask();

  // Stops the thread and waits for a running task to finish. Idempotent.
  void Stop();

  // Returns how many times the task has run (for tests).
  int runs() const;

 private:
  void Run();

  const std::function<void()> task_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PERIODIC_TASK_H_
