#include "services/vault/vault_metrics.h"

#include <prometheus/registry.h>

#include "common/metrics/metrics.h"

namespace byok::vault {
namespace {

// Store calls take microseconds to tens of milliseconds; a slow disk or database shows above that.
const prometheus::Histogram::BucketBoundaries& StoreBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  return *buckets;
}

// Waits for a store thread: nothing when idle, milliseconds when busy, a second is overload.
const prometheus::Histogram::BucketBoundaries& QueueBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1};
  return *buckets;
}

// RecordUsageBatch calls sharing one transaction: 1 when idle, a few per relay when busy.
const prometheus::Histogram::BucketBoundaries& CommitBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64};
  return *buckets;
}

}  // namespace

VaultMetrics* VaultMetrics::Get() {
  static VaultMetrics* metrics = metrics::Registry() == nullptr ? nullptr : new VaultMetrics();
  return metrics;
}

VaultMetrics::VaultMetrics()
    : store_(prometheus::BuildHistogram()
                 .Name("byok_vault_store_duration_seconds")
                 .Help("Duration of the vault's store calls, by operation")
                 .Register(*metrics::Registry())),
      decrypt_failures_(prometheus::BuildCounter()
                            .Name("byok_vault_decrypt_failures_total")
                            .Help("Stored keys that did not decrypt (tampered, or under a secret no longer configured)")
                            .Register(*metrics::Registry())
                            .Add({})),
      audit_write_failures_(prometheus::BuildCounter()
                                .Name("byok_vault_audit_write_failures_total")
                                .Help("Key events that could not be written to the audit trail")
                                .Register(*metrics::Registry())
                                .Add({})),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("byok_vault_store_queue_wait_seconds")
                      .Help("Time a call's store work waited for one of the vault's store threads")
                      .Register(*metrics::Registry())
                      .Add({}, QueueBuckets())),
      refused_(prometheus::BuildCounter()
                   .Name("byok_vault_store_refused_total")
                   .Help("Calls answered without store work: queue full, deadline passed or call "
                         "cancelled while queued, shutdown")
                   .Register(*metrics::Registry())),
      usage_commit_calls_(prometheus::BuildHistogram()
                              .Name("byok_vault_store_usage_commit_calls")
                              .Help("RecordUsageBatch calls whose records one transaction stored")
                              .Register(*metrics::Registry())
                              .Add({}, CommitBuckets())) {}

void VaultMetrics::StoreCall(const char* op, absl::Duration elapsed) {
  store_.Add({{"op", op}}, StoreBuckets()).Observe(absl::ToDoubleSeconds(elapsed));
}

void VaultMetrics::DecryptFailed() { decrypt_failures_.Increment(); }

void VaultMetrics::AuditWriteFailed() { audit_write_failures_.Increment(); }

void VaultMetrics::StoreQueued(absl::Duration wait) { queue_wait_.Observe(absl::ToDoubleSeconds(wait)); }

void VaultMetrics::StoreRefused(const char* why) { refused_.Add({{"why", why}}).Increment(); }

void VaultMetrics::UsageCommitted(int calls) { usage_commit_calls_.Observe(calls); }

}  // namespace byok::vault
