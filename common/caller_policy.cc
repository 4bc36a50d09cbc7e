#include "common/caller_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace byok {

CallerPolicy::CallerPolicy(Options options)
    : options_(std::move(options)),
      trust_everyone_(!options_.mutual_tls && options_.service.token.empty() &&
                      options_.service.trusted_loopback) {}

CallerPolicy CallerPolicy::TrustEveryone(absl::string_view domain) {
  Options options;
  options.service.trusted_loopback = true;
  options.domain = std::string(domain);
  return CallerPolicy(std::move(options));
}

PresentedCredentials CallerPolicy::Presented(const grpc::ServerContextBase& context) const {
  PresentedCredentials p;
  p.service_token_sent = HasMetadata(context, kServiceTokenMetadata);
  p.service_token_valid =
      p.service_token_sent && MetadataMatches(context, kServiceTokenMetadata, options_.service.token);
  p.app_secret_sent = HasMetadata(context, kAppSecretMetadata);
  p.app_secret_valid =
      p.app_secret_sent && MetadataMatches(context, kAppSecretMetadata, options_.app_secret);
  if (options_.mutual_tls) p.peer_identities = PeerIdentities(context);
  return p;
}

absl::Status CallerPolicy::Decide(const PresentedCredentials& p,
                                  const std::vector<std::string>& identities, bool app_method,
                                  absl::string_view method) const {
  if (trust_everyone_) return absl::OkStatus();
  if (p.service_token_valid) return absl::OkStatus();
  if (options_.mutual_tls) {
    for (const std::string& id : p.peer_identities) {
      if (std::find(identities.begin(), identities.end(), id) != identities.end()) {
        return absl::OkStatus();
      }
    }
  }
  if (app_method && p.app_secret_valid) return absl::OkStatus();
  const absl::string_view needs =
      app_method ? "an app credential (byok-app-secret) or a service identity" : "a service identity";
  if (p.service_token_sent) {
    return WithReason(absl::UnauthenticatedError(
                          absl::StrCat(method, ": the byok-service-token is not this service's")),
                      reason::kServiceTokenInvalid, options_.domain);
  }
  if (p.app_secret_sent && !p.app_secret_valid) {
    return WithReason(
        absl::UnauthenticatedError(absl::StrCat(method, ": the byok-app-secret is not valid")),
        reason::kAppCredentialInvalid, options_.domain);
  }
  if (!p.peer_identities.empty() || p.app_secret_valid) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat("this caller may not use ", method)),
                      reason::kCallerNotAllowed, options_.domain);
  }
  return WithReason(absl::UnauthenticatedError(absl::StrCat(method, " needs ", needs)),
                    reason::kCallerUnauthenticated, options_.domain);
}

absl::Status CallerPolicy::CheckService(const grpc::ServerContextBase& context,
                                        const std::vector<std::string>& identities,
                                        absl::string_view method) const {
  if (trust_everyone_) return absl::OkStatus();
  return Decide(Presented(context), identities, /*app_method=*/false, method);
}

absl::Status CallerPolicy::CheckApp(const grpc::ServerContextBase& context,
                                    const std::vector<std::string>& identities,
                                    absl::string_view method) const {
  if (trust_everyone_) return absl::OkStatus();
  return Decide(Presented(context), identities, /*app_method=*/true, method);
}

std::string CallerPolicy::CallerName(const grpc::ServerContextBase& context) const {
  const PresentedCredentials p = Presented(context);
  if (!p.peer_identities.empty()) return p.peer_identities.front();
  if (p.service_token_valid) return "service-token";
  if (p.app_secret_valid) return "app-credential";
  return "user-token";
}

}  // namespace byok
