// Collects the relay's usage records and hands them to the vault in batches: one RPC and one database
// transaction per batch instead of one per relayed request. A record whose request waits for it (a
// response ends only once its record is stored, so a later GET /stats counts it) is sent at once, with
// every record that arrived meanwhile, from the caller's thread when fewer than `max_in_flight` batches
// are in flight; else it rides the next batch, which the answer to one in flight sends (from gRPC's
// thread): requests that end together share one call (a group commit). A record whose response has
// already ended (only a later read of the statistics waits for it) is due soon instead: it waits a few
// ms for the records that end after it, to share their call. The batcher's own thread sends records
// no request waits for (on their interval), records due soon whose time came first, retries and the
// drain.
#ifndef BYOK_SERVICES_RELAY_USAGE_BATCHER_H_
#define BYOK_SERVICES_RELAY_USAGE_BATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.pb.h"

namespace byok::relay {

struct UsageBatcherOptions {
  // Longest a record waits before it is sent (BYOK_RELAY_USAGE_FLUSH_MS).
  absl::Duration flush_interval = absl::Milliseconds(200);
  // A batch this large is sent at once. At most the vault's limit per call (1000).
  int max_batch = 500;
  // Records kept while the vault cannot be reached; newer ones beyond it are dropped and counted, so
  // an outage costs statistics, never the relay's memory.
  int max_pending = 100'000;
  // Batches handed to `send` and not yet answered, at most. 1: the next batch leaves when the one in
  // flight is answered, carrying every record that arrived meanwhile. More: a waited-for record is
  // handed over at once and the usage stream pipelines the batches (usage_stream.h; at most 64, the
  // vault's read-ahead). Measured on the small-request bench, 1 costs the vault the least CPU per
  // request at no cost in latency (docs/usage-stream.md), so it is the default.
  int max_in_flight = 1;
  // Longest a record whose request no longer waits for it, but a later read of the statistics may
  // (UsageBatcher::Due::kSoon), stays queued. Its records share a batch with the others that end
  // within it: at one connection, one vault write per several requests instead of one per request.
  absl::Duration soon = absl::Milliseconds(5);
};

// Thread-safe. Owns one thread; `send` is called from it, from Add's caller or from a `done`, with at
// most `max_in_flight` batches unanswered, never under the batcher's lock, and must call its `done` exactly once (from any thread,
// possibly before `send` returns), in bounded time (the vault call's deadline). A batch that fails with UNAVAILABLE (the vault could not
// be reached, so nothing was stored) is queued again; other failures are logged and the batch dropped.
class UsageBatcher {
 public:
  // Hands the batch back with the call's status (the batch is queued again after UNAVAILABLE).
  using Done = std::function<void(vault::v1::RecordUsageBatchRequest batch, absl::Status status)>;
  using SendFn = std::function<void(vault::v1::RecordUsageBatchRequest batch, Done done)>;

  // When a record with `settled` is sent. kAtOnce: its request waits for it (sent from Add's caller
  // when a batch may go). kSoon: only a later read waits for it, so it may wait up to `options.soon`
  // for others to share its batch.
  enum class Due { kAtOnce, kSoon };

  UsageBatcher(SendFn send, UsageBatcherOptions options);
  UsageBatcher(const UsageBatcher&) = delete;
  UsageBatcher& operator=(const UsageBatcher&) = delete;
  // Drain(0): what is still queued is dropped (and counted); a batch in flight is waited for.
  ~UsageBatcher();

  // Queues one record; never blocks on the vault. `settled`, when given, makes the record due (`due`:
  // at once, sent from this thread when a batch may be; or soon) and runs, never under the batcher's
  // lock, when the vault has answered the call that carried it, whatever the answer, or when the
  // record is dropped; when `send` answers at once, that is before Add returns.
  void Add(vault::v1::RecordUsageRequest record, std::function<void()> settled = nullptr,
           Due due = Due::kAtOnce);

  // Sends everything queued and waits up to `timeout` for the vault to answer; then stops the thread.
  // Add after Drain drops the record. Idempotent.
  void Drain(absl::Duration timeout);

  // Records dropped because the queue was full or the vault refused them.
  int64_t dropped() const;

 private:
  void Run();
  // A batch and the waiters of its records.
  struct Outgoing {
    vault::v1::RecordUsageBatchRequest batch;
    std::vector<std::function<void()>> waiters;
  };
  // The next batch when a waited-for record is due at `now` and a batch may go (fewer than
  // max_in_flight out, no retry due later); counts it in flight.
  std::optional<Outgoing> TakeDueBatch(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes up to max_batch pending records, and every waiter, into a batch in flight from `now`.
  Outgoing TakeBatch(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MayTake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ < options_.max_in_flight; }
  // Calls send_ (never under the lock).
  void Send(Outgoing out) ABSL_LOCKS_EXCLUDED(mu_);
  void OnSent(vault::v1::RecordUsageBatchRequest batch, const absl::Status& status,
              std::vector<std::function<void()>> waiters);
  // After a send: queues the batch again after UNAVAILABLE, counts it dropped after other failures.
  void Requeue(vault::v1::RecordUsageBatchRequest batch, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `waiters` (outside the lock).
  static void Settle(std::vector<std::function<void()>> waiters);

  const SendFn send_;
  const UsageBatcherOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // signalled whenever the state below changes in a way a waiter cares for
  std::deque<vault::v1::RecordUsageRequest> pending_ ABSL_GUARDED_BY(mu_);
  // Waiters of the pending records (those of a batch in flight travel with it).
  std::vector<std::function<void()>> waiting_ ABSL_GUARDED_BY(mu_);
  // When the first of them is due (InfiniteFuture while there is none).
  absl::Time waiting_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time oldest_at_ ABSL_GUARDED_BY(mu_);  // when the oldest pending record was queued
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // after a failed send
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // batches handed to send_, not yet answered
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_USAGE_BATCHER_H_
