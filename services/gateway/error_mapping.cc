#include "services/gateway/error_mapping.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace byok::gateway {
namespace {

const char* Name(Backend backend) { return backend == Backend::kVault ? "vault" : "relay"; }

bool FromVault(const RpcError& error) {
  return error.backend == Backend::kVault || error.error_source == kErrorSourceVault;
}

bool BackingServiceDown(const RpcError& error) {
  if (error.code != grpc::StatusCode::UNAVAILABLE) return false;
  return !error.reached || FromVault(error);
}

std::string Message(const RpcError& error) {
  switch (error.code) {
    case grpc::StatusCode::UNAVAILABLE:
      if (!error.reached) return absl::StrCat(Name(error.backend), " unavailable");
      if (BackingServiceDown(error)) return "vault unavailable";
      return kProviderUnreachable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (FromVault(error)) return "vault did not answer in time";
      return kProviderTimedOut;
    case grpc::StatusCode::ABORTED:
      if (error.backend == Backend::kRelay) return kProviderUnreachable;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      if (error.backend == Backend::kRelay) return "Invalid or expired token";
      break;
    case grpc::StatusCode::DATA_LOSS:
      // The stored key could not be decrypted: that request fails, never the process (a fix).
      return "The stored key for this provider could not be decrypted. Store it again.";
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      // May carry a transport's debug text; say only where it happened.
      return absl::StrCat("internal error in the ", Name(error.backend));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("the ", Name(error.backend), " does not support this request");
    default:
      break;
  }
  if (!error.message.empty()) return error.message;
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(error.code));
}

}  // namespace

int HttpStatusForRpcError(const RpcError& error) {
  switch (error.code) {
    case grpc::StatusCode::UNAVAILABLE:
      return BackingServiceDown(error) ? 503 : 502;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return FromVault(error) ? 503 : 504;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 400;
    case grpc::StatusCode::ABORTED:
      return error.backend == Backend::kRelay ? 502 : 409;
    default:
      return HttpStatusFromCode(static_cast<absl::StatusCode>(error.code));
  }
}

HttpResponse ResponseForRpcError(const RpcError& error) {
  HttpResponse response = JsonError(HttpStatusForRpcError(error), Message(error));
  if (error.code == grpc::StatusCode::PERMISSION_DENIED && error.allowed_models.has_value()) {
    nlohmann::json body = {{"error", Message(error)}, {"allowed_models", *error.allowed_models}};
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return response;
}

std::string SseErrorEvent(const RpcError& error) {
  nlohmann::json data = {
      {"error", error.backend == Backend::kRelay ? std::string(kStreamInterrupted) : Message(error)}};
  return absl::StrCat("event: error\ndata: ",
                      data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "\n\n");
}

}  // namespace byok::gateway
