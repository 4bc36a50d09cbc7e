// Who made the call being served and which request it belongs to, for the key events VaultCore
// emits: the gRPC service sets it on the handler's thread for the handler's duration (the unary
// handlers run to completion there), VaultCore copies it into each KeyEvent. Work outside a call (the
// purge job) has none, and its events name the vault itself.
#ifndef BYOK_SERVICES_VAULT_CALL_CONTEXT_H_
#define BYOK_SERVICES_VAULT_CALL_CONTEXT_H_

#include <string>

namespace byok::vault {

// What the audit trail says about a call (see byok.vault.v1.AuditEvent).
struct CallInfo {
  // The mTLS peer's identity, else "service-token", "app-credential" or "user-token".
  std::string caller;
  // The x-request-id the call carried when valid; empty otherwise.
  std::string request_id;
};

// The caller named in events made outside any call.
inline constexpr char kVaultCaller[] = "vault";

// The call current on this thread, or null.
const CallInfo* CurrentCall();

// Makes `call` current on this thread for its lifetime; restores the previous one.
class ScopedCall {
 public:
  explicit ScopedCall(const CallInfo* call);
  ~ScopedCall();
  ScopedCall(const ScopedCall&) = delete;
  ScopedCall& operator=(const ScopedCall&) = delete;

 private:
  const CallInfo* previous_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CALL_CONTEXT_H_
