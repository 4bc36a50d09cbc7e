#include "services/gateway/api/error_mapping.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "services/gateway/api/phrases.h"

namespace byok::gateway {
namespace {

bool FromVault(const RpcError& error) {
  return error.backend == Backend::kVault || error.domain == kVaultDomain ||
         error.reason == reason::kVaultUnavailable;
}

// True when the service refused the gateway itself (its service token or certificate).
bool RefusedTheGateway(const RpcError& error) {
  return error.reason == reason::kCallerUnauthenticated ||
         error.reason == reason::kServiceTokenInvalid || error.reason == reason::kCallerNotAllowed;
}

bool BackingServiceDown(const RpcError& error) {
  if (error.code != grpc::StatusCode::UNAVAILABLE) return false;
  return !error.reached || FromVault(error);
}

// True for the codes whose messages the services write for clients.
bool ClientFacing(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

// The phrase for a client-facing code whose service sent no message.
const char* DefaultPhrase(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return phrase::kTokenInvalid;
    case grpc::StatusCode::PERMISSION_DENIED:
      return "Forbidden";
    case grpc::StatusCode::NOT_FOUND:
      return "Not found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "Already exists";
    default:
      return "Bad request";
  }
}

const char* Code(const RpcError& error) {
  if (RefusedTheGateway(error)) return "internal";
  switch (error.code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return "token_invalid";
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return "invalid_request";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "forbidden";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "conflict";
    case grpc::StatusCode::UNAVAILABLE:
      return BackingServiceDown(error) ? "service_unavailable" : "provider_unreachable";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return FromVault(error) ? "service_unavailable" : "provider_timeout";
    case grpc::StatusCode::ABORTED:
      return error.backend == Backend::kRelay ? "provider_unreachable" : "conflict";
    case grpc::StatusCode::DATA_LOSS:
      return "key_undecryptable";
    default:
      return "internal";
  }
}

}  // namespace

int HttpStatusForRpcError(const RpcError& error) {
  if (RefusedTheGateway(error)) return 500;
  switch (error.code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 409;
    case grpc::StatusCode::UNAVAILABLE:
      return BackingServiceDown(error) ? 503 : 502;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return FromVault(error) ? 503 : 504;
    case grpc::StatusCode::ABORTED:
      return error.backend == Backend::kRelay ? 502 : 409;
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 503;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    default:  // DATA_LOSS, INTERNAL, UNKNOWN
      return 500;
  }
}

std::string ClientMessage(const RpcError& error) {
  if (RefusedTheGateway(error)) {
    return absl::StrCat("Internal error in the ",
                        error.backend == Backend::kVault ? "vault" : "relay");
  }
  if (ClientFacing(error.code)) {
    return error.message.empty() ? DefaultPhrase(error.code) : error.message;
  }
  switch (error.code) {
    case grpc::StatusCode::UNAVAILABLE:
      if (!error.reached && error.backend == Backend::kRelay) return "relay unavailable";
      if (BackingServiceDown(error)) return "vault unavailable";
      return phrase::kProviderUnreachable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (FromVault(error)) return "vault did not answer in time";
      return phrase::kProviderTimedOut;
    case grpc::StatusCode::ABORTED:
      if (error.backend == Backend::kRelay) return phrase::kProviderUnreachable;
      return "Conflicting change, please retry";
    case grpc::StatusCode::CANCELLED:
      return "Request cancelled, please retry";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "Service busy, please retry";
    case grpc::StatusCode::DATA_LOSS:
      return "The stored key for this provider could not be decrypted. Store it again.";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "Not supported by this server";
    default:
      return absl::StrCat("Internal error in the ",
                          error.backend == Backend::kVault ? "vault" : "relay");
  }
}

HttpResponse ResponseForRpcError(const RpcError& error) {
  HttpResponse response = JsonError(HttpStatusForRpcError(error), ClientMessage(error), Code(error));
  if (error.code == grpc::StatusCode::PERMISSION_DENIED && error.allowed_models.has_value()) {
    // The original names the permitted models beside a refused one.
    nlohmann::json body = {{"error", ClientMessage(error)},
                           {"code", Code(error)},
                           {"allowed_models", *error.allowed_models}};
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return response;
}

std::string SseErrorEvent(const RpcError&) {
  nlohmann::json data = {{"error", phrase::kStreamInterrupted}};
  return absl::StrCat("event: error\ndata: ", data.dump(), "\n\n");
}

}  // namespace byok::gateway
