#include "services/vault/vault_service.h"

#include <memory>
#include <string>
#include <vector>

#include "common/crypto/secret_bytes.h"
#include "common/grpc_status.h"
#include "common/request_context.h"
#include "services/vault/change_stream.h"

namespace byok::vault {
namespace {

grpc::Status ToWire(const absl::Status& status) {
  return ToGrpcStatus(WithDefaultReason(status, kVaultDomain));
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToWire(status));
  return reactor;
}

// Finishes ResolveKey and, once the library is done with the response, wipes the plaintext key from
// it (the response object lives until OnDone). Deletes itself in OnDone.
class WipingKeyReactor final : public grpc::ServerUnaryReactor {
 public:
  WipingKeyReactor(v1::ResolveKeyResponse* response, const absl::Status& status)
      : response_(response) {
    if (!status.ok()) response_->Clear();
    Finish(ToWire(status));
  }
  void OnDone() override {
    crypto::WipeString(*response_->mutable_key());
    delete this;
  }

 private:
  v1::ResolveKeyResponse* const response_;
};

// The x-request-id the call carried, when it is a valid one (request_context.h's rule); empty
// otherwise (a made-up id would tie the row to no request anyone can find).
std::string RequestIdOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(trace::kRequestIdHeader);
  if (it == metadata.end()) return {};
  absl::string_view id(it->second.data(), it->second.size());
  return trace::ValidRequestId(id) ? std::string(id) : std::string();
}

}  // namespace

CallInfo VaultService::DescribeCall(const grpc::CallbackServerContext& context) const {
  return CallInfo{policy_.CallerName(context), RequestIdOf(context)};
}

grpc::ServerUnaryReactor* VaultService::CreateUser(grpc::CallbackServerContext* context,
                                                   const v1::CreateUserRequest* request,
                                                   v1::CreateUserResponse* response) {
  absl::Status allowed = policy_.CheckApp(*context, callers_.apps, "CreateUser");
  if (!allowed.ok()) return Finish(context, allowed);
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.CreateUser(*request, response));
}

grpc::ServerUnaryReactor* VaultService::PutKey(grpc::CallbackServerContext* context,
                                               const v1::PutKeyRequest* request,
                                               v1::PutKeyResponse* response) {
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.PutKey(*request, response));
}

grpc::ServerUnaryReactor* VaultService::ListKeys(grpc::CallbackServerContext* context,
                                                 const v1::ListKeysRequest* request,
                                                 v1::ListKeysResponse* response) {
  return Finish(context, core_.ListKeys(*request, response));
}

grpc::ServerUnaryReactor* VaultService::DeleteKey(grpc::CallbackServerContext* context,
                                                  const v1::DeleteKeyRequest* request,
                                                  v1::DeleteKeyResponse* response) {
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.DeleteKey(*request, response));
}

grpc::ServerUnaryReactor* VaultService::RevokeToken(grpc::CallbackServerContext* context,
                                                    const v1::RevokeTokenRequest* request,
                                                    v1::RevokeTokenResponse* response) {
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.RevokeToken(*request, response));
}

grpc::ServerUnaryReactor* VaultService::DeleteUser(grpc::CallbackServerContext* context,
                                                   const v1::DeleteUserRequest* request,
                                                   v1::DeleteUserResponse* response) {
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.DeleteUser(*request, response));
}

grpc::ServerUnaryReactor* VaultService::Authenticate(grpc::CallbackServerContext* context,
                                                     const v1::AuthenticateRequest* request,
                                                     v1::AuthenticateResponse* response) {
  return Finish(context, core_.Authenticate(*request, response));
}

grpc::ServerUnaryReactor* VaultService::ResolveKey(grpc::CallbackServerContext* context,
                                                   const v1::ResolveKeyRequest* request,
                                                   v1::ResolveKeyResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "ResolveKey");
  if (!allowed.ok()) return Finish(context, allowed);
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return new WipingKeyReactor(response, core_.ResolveKey(*request, response));
}

grpc::ServerUnaryReactor* VaultService::RecordUsage(grpc::CallbackServerContext* context,
                                                    const v1::RecordUsageRequest* request,
                                                    v1::RecordUsageResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "RecordUsage");
  if (!allowed.ok()) return Finish(context, allowed);
  return Finish(context, core_.RecordUsage(*request, response));
}

grpc::ServerUnaryReactor* VaultService::RecordUsageBatch(grpc::CallbackServerContext* context,
                                                         const v1::RecordUsageBatchRequest* request,
                                                         v1::RecordUsageBatchResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "RecordUsageBatch");
  if (!allowed.ok()) return Finish(context, allowed);
  return Finish(context, core_.RecordUsageBatch(*request, response));
}

grpc::ServerUnaryReactor* VaultService::GetStats(grpc::CallbackServerContext* context,
                                                 const v1::GetStatsRequest* request,
                                                 v1::GetStatsResponse* response) {
  if (request->scope_case() == v1::GetStatsRequest::kAppId) {
    absl::Status allowed = policy_.CheckApp(*context, callers_.apps, "GetStats by app_id");
    if (!allowed.ok()) return Finish(context, allowed);
  }
  return Finish(context, core_.GetStats(*request, response));
}

grpc::ServerUnaryReactor* VaultService::Rewrap(grpc::CallbackServerContext* context,
                                               const v1::RewrapRequest* request,
                                               v1::RewrapResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.admins, "Rewrap");
  if (!allowed.ok()) return Finish(context, allowed);
  const CallInfo call = DescribeCall(*context);
  ScopedCall scope(&call);
  return Finish(context, core_.Rewrap(*request, response));
}

grpc::ServerUnaryReactor* VaultService::ListAuditEvents(grpc::CallbackServerContext* context,
                                                        const v1::ListAuditEventsRequest* request,
                                                        v1::ListAuditEventsResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.admins, "ListAuditEvents");
  if (!allowed.ok()) return Finish(context, allowed);
  return Finish(context, core_.ListAuditEvents(*request, response));
}

grpc::ServerWriteReactor<v1::WatchKeyChangesResponse>* VaultService::WatchKeyChanges(
    grpc::CallbackServerContext* context, const v1::WatchKeyChangesRequest* /*request*/) {
  if (changes_ == nullptr) {
    return StartChangeStream(nullptr, absl::UnimplementedError("this vault has no change feed"));
  }
  return StartChangeStream(changes_,
                           policy_.CheckService(*context, callers_.resolvers, "WatchKeyChanges"));
}

}  // namespace byok::vault
