#include "services/vault/audit_trail.h"

#include "common/logging.h"
#include "services/vault/vault_metrics.h"

namespace byok::vault {
namespace {

// DeleteKey accepts any provider string (as the original); a row keeps at most this much of it.
constexpr size_t kMaxProviderBytes = 128;

}  // namespace

AuditRecord ToAuditRecord(const KeyEvent& event) {
  AuditRecord r;
  r.time = event.time;
  r.action = static_cast<int>(event.action);
  r.user_id = event.user_id;
  r.provider = event.provider.substr(0, kMaxProviderBytes);
  r.caller = event.caller;
  r.request_id = event.request_id;
  // absl names a code as gRPC does (OK, NOT_FOUND, ...), which is what AuditEvent.outcome holds.
  r.outcome = absl::StatusCodeToString(event.outcome);
  return r;
}

void AuditTrail::OnKeyEvent(const KeyEvent& event) {
  absl::StatusOr<int64_t> id =
      TimedStoreCall("append_audit_event", [&] { return store_.AppendAuditEvent(ToAuditRecord(event)); });
  if (id.ok()) return;
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (VaultMetrics* m = VaultMetrics::Get()) m->AuditWriteFailed();
  // The event's fields hold no secret; the store's message names no row value.
  log::Error("vault", "audit trail: the %s event of user %s (provider %s) was not recorded: %s",
             v1::AuditEvent::Action_Name(event.action), event.user_id,
             event.provider.substr(0, kMaxProviderBytes),
             id.status().ToString());
}

}  // namespace byok::vault
