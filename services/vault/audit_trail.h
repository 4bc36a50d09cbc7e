// The key audit trail's writer: a KeyEventSink that appends each key event to the store's
// audit_events table (one row per event, never a key or a token). A failed append does not fail the
// call that made the event (the change already happened); it is logged, without secrets, and counted
// (byok_vault_audit_write_failures_total), so a trail with gaps never goes unnoticed.
#ifndef BYOK_SERVICES_VAULT_AUDIT_TRAIL_H_
#define BYOK_SERVICES_VAULT_AUDIT_TRAIL_H_

#include <atomic>
#include <cstdint>

#include "services/vault/key_events.h"
#include "services/vault/key_store.h"

namespace byok::vault {

// The row an event becomes.
AuditRecord ToAuditRecord(const KeyEvent& event);

// Thread-safe; `store` outlives it.
class AuditTrail final : public KeyEventSink {
 public:
  explicit AuditTrail(KeyStore& store) : store_(store) {}

  void OnKeyEvent(const KeyEvent& event) override;

  // Appends that failed since start (for tests; the metric counts the same).
  int64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  KeyStore& store_;
  std::atomic<int64_t> failures_{0};
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_AUDIT_TRAIL_H_
