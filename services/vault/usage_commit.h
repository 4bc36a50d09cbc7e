// Group commit of usage records. A relay ends each request only once its usage record is stored, so it
// sends small RecordUsageBatch calls often; a transaction per call would cost a WAL append (SQLite) or
// a commit round trip (PostgreSQL) each. Calls that arrive while the store thread is busy (several
// relays, or one relay's consecutive batches) wait here and are stored together by one flush task on
// the StoreExecutor: one transaction, each call answered with its own count.
#ifndef BYOK_SERVICES_VAULT_USAGE_COMMIT_H_
#define BYOK_SERVICES_VAULT_USAGE_COMMIT_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/vault/key_store.h"
#include "services/vault/store_executor.h"
#include "services/vault/vault_core.h"

namespace byok::vault {

struct UsageCommitOptions {
  // Records one transaction stores at most; more wait for the next one.
  int max_records = 5000;
  // Calls waiting at most; more are answered UNAVAILABLE (nothing stored: the relay retries).
  int max_waiting = 1024;
};

// Thread-safe. `core` and `executor` outlive it; the executor is shut down before it is destroyed.
class UsageCommit {
 public:
  // One RecordUsageBatch call: its checked records and how to answer it.
  struct Batch {
    std::vector<UsageRecord> records;
    // Past it, the call is answered DEADLINE_EXCEEDED and its records are not stored.
    absl::Time deadline = absl::InfiniteFuture();
    // When it says so at the flush, the call is answered CANCELLED and its records are not stored.
    std::function<bool()> cancelled;
    // Gets how many records were stored, or why none were. Runs once, on a store thread (or in Add
    // when the call is refused at once).
    absl::AnyInvocable<void(absl::StatusOr<int64_t> stored) &&> done;
  };

  UsageCommit(VaultCore& core, StoreExecutor& executor, UsageCommitOptions options = {})
      : core_(core), executor_(executor), options_(options) {}
  UsageCommit(const UsageCommit&) = delete;
  UsageCommit& operator=(const UsageCommit&) = delete;

  // Queues `batch` for the next shared transaction.
  void Add(Batch batch);

  // Transactions run and calls they stored (for tests; the metric byok_vault_store_usage_commit_calls
  // shows the same).
  int64_t transactions() const;
  // Calls waiting for the next flush (for tests).
  int waiting() const;

 private:
  // Runs on a store thread: takes what is waiting (up to max_records) and stores it.
  void Flush(absl::Status admitted);
  // Queues a flush task; with none possible, answers every waiting call with the refusal.
  void ScheduleFlush();
  // Stores `group` in one transaction; after a failure other than UNAVAILABLE, stores each call
  // alone, so that one bad call cannot fail the others.
  void Store(std::vector<Batch> group);

  VaultCore& core_;
  StoreExecutor& executor_;
  const UsageCommitOptions options_;
  mutable absl::Mutex mu_;
  std::vector<Batch> waiting_ ABSL_GUARDED_BY(mu_);
  bool flush_queued_ ABSL_GUARDED_BY(mu_) = false;
  int64_t transactions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_USAGE_COMMIT_H_
