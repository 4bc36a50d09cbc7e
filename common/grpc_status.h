// Conversions between absl::Status, grpc::Status and protobuf's util::Status, and the structured error
// every service sends: google.rpc.Status details holding one google.rpc.ErrorInfo (a stable reason and
// the failing service as its domain). The codes map 1:1.
#ifndef BYOK_COMMON_GRPC_STATUS_H_
#define BYOK_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/status.h"

namespace byok {

// ErrorInfo domains: the service that produced an error.
inline constexpr char kVaultDomain[] = "vault.byok-relay";
inline constexpr char kRelayDomain[] = "relay.byok-relay";

// ErrorInfo reasons. Stable: clients branch on them (docs/grpc.md lists them with their codes). A
// revoked token reads as TOKEN_EXPIRED: revocation moves the expiry, and the store keeps no other mark.
namespace reason {
inline constexpr char kTokenMissing[] = "TOKEN_MISSING";
inline constexpr char kTokenUnknown[] = "TOKEN_UNKNOWN";
inline constexpr char kTokenExpired[] = "TOKEN_EXPIRED";
inline constexpr char kKeyInvalid[] = "KEY_INVALID";
inline constexpr char kKeyNotFound[] = "KEY_NOT_FOUND";
inline constexpr char kKeyUndecryptable[] = "KEY_UNDECRYPTABLE";
inline constexpr char kCallerUnauthenticated[] = "CALLER_UNAUTHENTICATED";
inline constexpr char kServiceTokenInvalid[] = "SERVICE_TOKEN_INVALID";
inline constexpr char kAppCredentialInvalid[] = "APP_CREDENTIAL_INVALID";
inline constexpr char kCallerNotAllowed[] = "CALLER_NOT_ALLOWED";
inline constexpr char kRateLimited[] = "RATE_LIMITED";
inline constexpr char kVaultUnavailable[] = "VAULT_UNAVAILABLE";
inline constexpr char kUpstreamUnreachable[] = "UPSTREAM_UNREACHABLE";
inline constexpr char kUpstreamTimeout[] = "UPSTREAM_TIMEOUT";
inline constexpr char kUpstreamAborted[] = "UPSTREAM_ABORTED";
}  // namespace reason

// Returns `status` carrying `reason` and `domain` (ToGrpcStatus sends them as ErrorInfo). An OK status
// is returned unchanged.
absl::Status WithReason(absl::Status status, absl::string_view reason, absl::string_view domain = "");

// The ErrorInfo reason and domain `status` carries; empty when it carries none.
std::string ReasonOf(const absl::Status& status);
std::string DomainOf(const absl::Status& status);

// Returns `status` with a reason and domain: its own when it has them, else `domain` and a reason
// named after its code (INVALID_ARGUMENT, UNAVAILABLE...), so every failure a service sends is
// structured.
absl::Status WithDefaultReason(absl::Status status, absl::string_view domain);

// Returns the gRPC status carrying the same code and message as `status`, and, when it has a reason,
// google.rpc.Status details with its ErrorInfo.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Returns the absl::Status carrying the same code and message as `status`, and the reason and domain
// of an ErrorInfo in its details.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Returns the absl::Status carrying the same code and message as protobuf's `status`.
absl::Status FromProtobufStatus(const google::protobuf::util::Status& status);

}  // namespace byok

#endif  // BYOK_COMMON_GRPC_STATUS_H_
