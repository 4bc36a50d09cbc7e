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

void ToProto(const AuditRecord& record, v1::AuditEvent* out) {
  out->set_id(record.id);
  const int64_t ms = absl::ToUnixMillis(record.time);
  int64_t seconds = ms / 1000, millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  out->mutable_time()->set_seconds(seconds);
  out->mutable_time()->set_nanos(static_cast<int32_t>(millis * 1000000));
  out->set_action(v1::AuditEvent::Action_IsValid(record.action)
                      ? static_cast<v1::AuditEvent::Action>(record.action)
                      : v1::AuditEvent::ACTION_UNSPECIFIED);
  out->set_user_id(record.user_id);
  out->set_provider(record.provider);
  out->set_caller(record.caller);
  out->set_request_id(record.request_id);
  out->set_outcome(record.outcome);
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
