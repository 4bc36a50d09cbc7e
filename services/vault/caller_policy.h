// Which callers may use the vault's privileged RPCs (ResolveKey and RecordUsageBatch, Rewrap), by the
// identity in their client certificate when the vault serves mutual TLS.
#ifndef BYOK_SERVICES_VAULT_CALLER_POLICY_H_
#define BYOK_SERVICES_VAULT_CALLER_POLICY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"

namespace byok::vault {

// Without mutual TLS the vault cannot tell callers apart and allows every call (it listens on
// loopback or a private network). With it, ResolveKey and RecordUsageBatch need a resolver identity
// (the relay) and Rewrap an admin identity. Thread-safe: immutable.
class CallerPolicy {
 public:
  // Allows every caller (no mutual TLS).
  static CallerPolicy AllowAll() { return CallerPolicy(); }

  // Allows ResolveKey to `resolvers` and Rewrap to `admins` (certificate SAN DNS names or CNs).
  CallerPolicy(std::vector<std::string> resolvers, std::vector<std::string> admins);

  // OK when a caller with these certificate identities may call ResolveKey; else PermissionDenied.
  absl::Status CheckResolve(const std::vector<std::string>& identities) const;
  // OK when a caller with these certificate identities may call Rewrap; else PermissionDenied.
  absl::Status CheckAdmin(const std::vector<std::string>& identities) const;

  // True when callers are told apart (mutual TLS is on).
  bool enforced() const { return enforced_; }

 private:
  CallerPolicy() = default;
  bool enforced_ = false;
  absl::flat_hash_set<std::string> resolvers_;
  absl::flat_hash_set<std::string> admins_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CALLER_POLICY_H_
