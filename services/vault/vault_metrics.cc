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
                                .Add({})) {}

void VaultMetrics::StoreCall(const char* op, absl::Duration elapsed) {
  store_.Add({{"op", op}}, StoreBuckets()).Observe(absl::ToDoubleSeconds(elapsed));
}

void VaultMetrics::DecryptFailed() { decrypt_failures_.Increment(); }

void VaultMetrics::AuditWriteFailed() { audit_write_failures_.Increment(); }

}  // namespace byok::vault
