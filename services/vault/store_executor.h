// The vault's own threads for store work. gRPC's callback threads are a small shared pool whose
// reactions must not block; a store call may wait on a disk, a lock or a database server. So the
// handlers only check the caller and queue the work here; a worker runs it and finishes the call.
// SQLite gets one thread (its writes are serial anyway); PostgreSQL as many as its connection pool.
#ifndef BYOK_SERVICES_VAULT_STORE_EXECUTOR_H_
#define BYOK_SERVICES_VAULT_STORE_EXECUTOR_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace byok::vault {

struct StoreExecutorOptions {
  // Worker threads: 1 for SQLite, the connection pool's size for PostgreSQL.
  int threads = 1;
  // Tasks waiting for a worker at most; Submit refuses more.
  int max_queued = 1024;
};

// Thread-safe. Runs queued tasks in arrival order on its workers.
class StoreExecutor {
 public:
  // Called once with the task's admission: OK, then it does its work; DEADLINE_EXCEEDED (its
  // deadline passed while it was queued) or UNAVAILABLE (shut down before its turn), then it must not
  // touch the store, only answer its caller with that status.
  using Task = absl::AnyInvocable<void(absl::Status admitted) &&>;

  explicit StoreExecutor(StoreExecutorOptions options);
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;
  // Shutdown(zero).
  ~StoreExecutor();

  // Queues `task` to run before `deadline` (absl::InfiniteFuture() for none). UNAVAILABLE, with the
  // task dropped unrun, when the queue is full or the executor is shut down: the caller answers its
  // call itself (nothing was stored, so a retry is safe).
  absl::Status Submit(absl::Time deadline, Task task);

  // Refuses new tasks, lets the workers run what is queued until `timeout` has passed, then admits
  // the rest with UNAVAILABLE (answered at once, no store work), and joins the workers. A task running
  // when the time is up finishes first (a store call is bounded by the store's own timeouts).
  // Idempotent.
  void Shutdown(absl::Duration timeout);

  // True on a worker thread of any StoreExecutor (for tests and assertions).
  static bool OnWorkerThread();

  // Tasks queued now, not counting those running (for tests and metrics).
  int queued() const;

 private:
  struct Queued {
    absl::Time deadline;
    absl::Time queued_at;
    Task task;
  };

  void Work();
  bool HasWorkOrStops() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); }

  const StoreExecutorOptions options_;
  mutable absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // After Shutdown: tasks still queued past this time are admitted with UNAVAILABLE.
  absl::Time drain_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::vector<std::thread> workers_;
  absl::Mutex join_mu_;  // one Shutdown joins the workers; a concurrent one waits for it
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_STORE_EXECUTOR_H_
