// The vault's own Prometheus metrics (its calls by method and code are counted for every server by
// common/metrics/grpc_observer.h): store latency by operation, the store threads' queue (wait, work
// refused, usage calls per shared transaction), keys that do not decrypt, audit rows that could not
// be written. The users and keys gauges are read from the store at scrape time
// (vault_server.cc).
#ifndef BYOK_SERVICES_VAULT_VAULT_METRICS_H_
#define BYOK_SERVICES_VAULT_VAULT_METRICS_H_

#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace byok::vault {

class VaultMetrics {
 public:
  // The process's vault metrics, or null when metrics are off (metrics.h).
  static VaultMetrics* Get();

  // `op` is one of a fixed set of names (the store method, snake_case).
  void StoreCall(const char* op, absl::Duration elapsed);
  void DecryptFailed();
  // A key event could not be appended to the audit trail.
  void AuditWriteFailed();
  // A call's store work waited `wait` for a store thread (store_executor.h).
  void StoreQueued(absl::Duration wait);
  // A call's store work was refused without touching the store; `why` is one of "queue_full",
  // "deadline", "cancelled", "shutdown".
  void StoreRefused(const char* why);
  // One transaction stored the records of `calls` RecordUsageBatch calls (usage_commit.h).
  void UsageCommitted(int calls);

 private:
  VaultMetrics();

  prometheus::Family<prometheus::Histogram>& store_;
  prometheus::Counter& decrypt_failures_;
  prometheus::Counter& audit_write_failures_;
  prometheus::Histogram& queue_wait_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Histogram& usage_commit_calls_;
};

// Runs `call` (a store method) and records how long it took under `op`.
template <typename Call>
auto TimedStoreCall(const char* op, Call&& call) {
  VaultMetrics* m = VaultMetrics::Get();
  if (m == nullptr) return std::forward<Call>(call)();
  const absl::Time start = absl::Now();
  auto result = std::forward<Call>(call)();
  m->StoreCall(op, absl::Now() - start);
  return result;
}

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_METRICS_H_
