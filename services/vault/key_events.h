// What happened to a user's key or token, reported once per event by VaultCore to every sink it was
// given: the audit trail records each event, the change feed (WatchKeyChanges) tells relays and
// gateways which cached keys and tokens are stale. One place emits; each consumer decides what it needs.
#ifndef BYOK_SERVICES_VAULT_KEY_EVENTS_H_
#define BYOK_SERVICES_VAULT_KEY_EVENTS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.pb.h"

namespace byok::vault {

using KeyAction = v1::AuditEvent::Action;

struct KeyEvent {
  KeyAction action = v1::AuditEvent::ACTION_UNSPECIFIED;
  absl::Time time;
  std::string user_id;   // empty when the call named no known user (an unknown token)
  std::string provider;  // key events only
  std::string caller;    // who asked (see AuditEvent.caller); filled by the service layer
  std::string request_id;
  absl::StatusCode outcome = absl::StatusCode::kOk;
};

// Receives events on the thread that made the change, after the store has it. Implementations are
// thread-safe and must not block for long (an audit row is one insert; a change is a queue push).
class KeyEventSink {
 public:
  virtual ~KeyEventSink() = default;
  virtual void OnKeyEvent(const KeyEvent& event) = 0;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_KEY_EVENTS_H_
