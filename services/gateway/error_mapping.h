// The one place where a failed vault or relay RPC becomes an HTTP status and a JSON error body.
#ifndef BYOK_SERVICES_GATEWAY_ERROR_MAPPING_H_
#define BYOK_SERVICES_GATEWAY_ERROR_MAPPING_H_

#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status_code_enum.h>

#include "services/gateway/http_types.h"

namespace byok::gateway {

// Which backing service an RPC went to.
enum class Backend { kVault, kRelay };

// Everything known about a failed RPC.
struct RpcError {
  Backend backend = Backend::kVault;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  // The status message (the services promise it holds no secret).
  std::string message;
  // False when the service itself could not be reached (no connection: it is down or not started).
  bool reached = true;
  // The relay's kErrorSourceTrailer value (common/grpc_status.h), when it sent one.
  std::string error_source;
  // ALLOWED_MODELS, when the relay refused a model (its kAllowedModelsTrailer).
  std::optional<std::vector<std::string>> allowed_models;
};

// The texts the original byok-relay shows for provider failures (compat.md §3.16).
inline constexpr char kProviderUnreachable[] = "Failed to reach AI provider";
inline constexpr char kProviderTimedOut[] = "AI provider timed out (30 s). Please retry.";
inline constexpr char kStreamInterrupted[] = "Stream interrupted by provider";

// Returns the HTTP status for `error`:
//   UNAVAILABLE: 503 when the vault or the relay is down, or the relay says the vault is; 502 when the
//     relay is up and the provider could not be reached.
//   DEADLINE_EXCEEDED: 504 from the relay (provider timeout); 503 from the vault, directly or behind
//   the relay (too slow to serve).
//   UNAUTHENTICATED 401, INVALID_ARGUMENT 400, FAILED_PRECONDITION (no key stored) 400,
//   PERMISSION_DENIED 403, NOT_FOUND 404, ABORTED from the relay (stream broke) 502, the rest per
//   HttpStatusFromCode (internal errors 500).
// The relay's texts for the client's own errors (400, 403, 404) are the original's phrases and pass
// through; provider failures get kProviderUnreachable / kProviderTimedOut; a refused model's 403 carries
// `allowed_models`.
int HttpStatusForRpcError(const RpcError& error);

// Returns the JSON error response for `error`; internal details (addresses, debug strings) never reach
// the browser.
HttpResponse ResponseForRpcError(const RpcError& error);

// Returns the text of an SSE error event for a failure after a stream started: for the relay, the
// original's "event: error\ndata: {\"error\":\"Stream interrupted by provider\"}\n\n".
std::string SseErrorEvent(const RpcError& error);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_ERROR_MAPPING_H_
