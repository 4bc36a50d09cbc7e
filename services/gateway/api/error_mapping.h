// The one place where a failed vault or relay RPC becomes an HTTP status and a JSON error body.
//
// A service's own message reaches the browser verbatim only for the codes with which the services answer
// a client's mistake (the vault and relay write those messages for clients: compat.md's phrases). Every
// other code gets a fixed phrase: gRPC's transport and library texts ("recvmsg:Connection reset by peer",
// "Operation canceled", addresses) never reach a browser.
#ifndef BYOK_SERVICES_GATEWAY_API_ERROR_MAPPING_H_
#define BYOK_SERVICES_GATEWAY_API_ERROR_MAPPING_H_

#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status_code_enum.h>

#include "services/gateway/http/http_types.h"

namespace byok::gateway {

// Which backing service an RPC went to.
enum class Backend { kVault, kRelay };

// Everything known about a failed RPC.
struct RpcError {
  Backend backend = Backend::kVault;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  // The status message.
  std::string message;
  // False when the service itself could not be reached (no connection: it is down or not started).
  bool reached = true;
  // The ErrorInfo reason and domain of the status details (common/grpc_status.h), when sent: the
  // mapping reads these, never the message text.
  std::string reason;
  std::string domain;
  // ALLOWED_MODELS, when the relay refused a model (its kAllowedModelsTrailer).
  std::optional<std::vector<std::string>> allowed_models;
};

// Returns the HTTP status for `error`:
//   UNAUTHENTICATED 401, INVALID_ARGUMENT 400, FAILED_PRECONDITION 400, PERMISSION_DENIED 403,
//   NOT_FOUND 404, ALREADY_EXISTS 409, OUT_OF_RANGE 400: the service's message is the error text.
//   UNAVAILABLE: 503 when the vault or the relay is down, or the relay says the vault is (reason
//     VAULT_UNAVAILABLE, or domain vault.byok-relay); 502 when the relay is up and the provider could
//     not be reached.
//   A refusal of the gateway's own service identity (reasons CALLER_UNAUTHENTICATED,
//   SERVICE_TOKEN_INVALID, CALLER_NOT_ALLOWED): 500, a misconfiguration the browser cannot fix.
//   DEADLINE_EXCEEDED: 504 from the relay (provider timeout); 503 from the vault, directly or behind
//     the relay.
//   ABORTED from the relay (stream broke) 502; CANCELLED 503; DATA_LOSS, INTERNAL, UNKNOWN 500;
//   RESOURCE_EXHAUSTED 503; UNIMPLEMENTED 501.
int HttpStatusForRpcError(const RpcError& error);

// Returns the error text a browser sees for `error` (see above).
std::string ClientMessage(const RpcError& error);

// Returns the JSON error response for `error`: {"error": ClientMessage, "code": a stable name}.
HttpResponse ResponseForRpcError(const RpcError& error);

// Returns the text of an SSE error event for a failure after a stream started:
// "event: error\ndata: {\"error\":\"Stream interrupted by provider\"}\n\n".
std::string SseErrorEvent(const RpcError& error);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_ERROR_MAPPING_H_
