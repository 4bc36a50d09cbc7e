// Who may call a service's methods. Three kinds of method:
//   token-holder  a user's own keys and token: the user's token in the request is the credential, so
//                 the service asks nothing more of the caller (the token is checked by the method);
//   app           registration and per-app statistics: an app credential (the `byok-app-secret`
//                 metadata equal to APP_SECRET) or a service identity;
//   service       internal methods (key resolution, usage records, rewrap, key checks): a service
//                 identity only, that is the `byok-service-token` metadata equal to BYOK_SERVICE_TOKEN,
//                 or under mutual TLS a client certificate whose identity is in the method's list.
// With neither mutual TLS nor a service token, a service started with BYOK_TRUSTED_LOOPBACK=1 counts
// every caller as a service (the daemons refuse to start that way off loopback: service_auth.h).
#ifndef BYOK_COMMON_CALLER_POLICY_H_
#define BYOK_COMMON_CALLER_POLICY_H_

#include <grpcpp/server_context.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret_bytes.h"
#include "common/service_auth.h"

namespace byok {

// What a caller presented, as the policy sees it.
struct PresentedCredentials {
  bool service_token_sent = false;
  bool service_token_valid = false;
  bool app_secret_sent = false;
  bool app_secret_valid = false;
  // Verified client-certificate identities (mutual TLS); empty otherwise.
  std::vector<std::string> peer_identities;
};

// Immutable, thread-safe.
class CallerPolicy {
 public:
  struct Options {
    // Whether the server requires client certificates.
    bool mutual_tls = false;
    // BYOK_SERVICE_TOKEN and BYOK_TRUSTED_LOOPBACK.
    ServiceAuth service;
    // APP_SECRET; empty: no app credential exists, app methods need a service identity.
    crypto::SecretBytes app_secret;
    // The ErrorInfo domain of refusals ("vault.byok-relay").
    std::string domain;
  };

  explicit CallerPolicy(Options options);

  // A policy that counts every caller as a service (trusted loopback; in-process tests).
  static CallerPolicy TrustEveryone(absl::string_view domain);

  // OK when the caller of `context` may call service method `method`: a valid service token, or a
  // certificate identity in `identities` (mutual TLS). Else UNAUTHENTICATED (no or a wrong
  // credential) or PERMISSION_DENIED (a known caller that may not use `method`), with an ErrorInfo
  // reason, naming `method`.
  absl::Status CheckService(const grpc::ServerContextBase& context,
                            const std::vector<std::string>& identities,
                            absl::string_view method) const;
  // As CheckService, but a valid app credential also passes.
  absl::Status CheckApp(const grpc::ServerContextBase& context,
                        const std::vector<std::string>& identities, absl::string_view method) const;

  // The decision itself, on what a caller presented (CheckService/CheckApp read it from the call).
  absl::Status Decide(const PresentedCredentials& presented,
                      const std::vector<std::string>& identities, bool app_method,
                      absl::string_view method) const;

  // Names the caller of `context` for audit records: its first verified certificate identity (mutual
  // TLS), else "service-token" (a valid one), "app-credential" (a valid one), else "user-token" (the
  // request's own token is all it presented).
  std::string CallerName(const grpc::ServerContextBase& context) const;

  // True when every caller counts as a service.
  bool trusts_everyone() const { return trust_everyone_; }

 private:
  PresentedCredentials Presented(const grpc::ServerContextBase& context) const;

  Options options_;
  bool trust_everyone_ = false;
};

}  // namespace byok

#endif  // BYOK_COMMON_CALLER_POLICY_H_
