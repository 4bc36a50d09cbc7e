#include "services/vault/vault_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/crypto/secret_bytes.h"
#include "common/grpc_status.h"
#include "common/request_context.h"
#include "services/vault/change_stream.h"
#include "services/vault/vault_metrics.h"

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

// ResolveKey's reactor: once the library is done with the response, wipes the plaintext key from it
// (the response object lives until OnDone). Deletes itself in OnDone.
class WipingKeyReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit WipingKeyReactor(v1::ResolveKeyResponse* response) : response_(response) {}
  void OnDone() override {
    crypto::WipeString(*response_->mutable_key());
    delete this;
  }

 private:
  v1::ResolveKeyResponse* const response_;
};

// When the call must be answered by: its deadline, or never.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

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

grpc::ServerUnaryReactor* VaultService::OnStore(grpc::CallbackServerContext* context,
                                                grpc::ServerUnaryReactor* reactor,
                                                std::optional<CallInfo> call,
                                                absl::AnyInvocable<absl::Status() &&> work) {
  absl::Status queued = executor_.Submit(
      DeadlineOf(*context),
      [context, reactor, call = std::move(call), work = std::move(work)](absl::Status admitted) mutable {
        if (admitted.ok() && context->IsCancelled()) {
          if (VaultMetrics* m = VaultMetrics::Get()) m->StoreRefused("cancelled");
          admitted = absl::CancelledError("the call was cancelled while it waited for the store");
        }
        if (!admitted.ok()) {
          reactor->Finish(ToWire(admitted));
          return;
        }
        std::optional<ScopedCall> scope;
        if (call.has_value()) scope.emplace(&*call);
        reactor->Finish(ToWire(std::move(work)()));
      });
  if (!queued.ok()) reactor->Finish(ToWire(queued));
  return reactor;
}

grpc::ServerUnaryReactor* VaultService::CreateUser(grpc::CallbackServerContext* context,
                                                   const v1::CreateUserRequest* request,
                                                   v1::CreateUserResponse* response) {
  absl::Status allowed = policy_.CheckApp(*context, callers_.apps, "CreateUser");
  if (!allowed.ok()) return Finish(context, allowed);
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.CreateUser(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::PutKey(grpc::CallbackServerContext* context,
                                               const v1::PutKeyRequest* request,
                                               v1::PutKeyResponse* response) {
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.PutKey(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::ListKeys(grpc::CallbackServerContext* context,
                                                 const v1::ListKeysRequest* request,
                                                 v1::ListKeysResponse* response) {
  return OnStore(context, std::nullopt,
                 [this, request, response] { return core_.ListKeys(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::DeleteKey(grpc::CallbackServerContext* context,
                                                  const v1::DeleteKeyRequest* request,
                                                  v1::DeleteKeyResponse* response) {
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.DeleteKey(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::RevokeToken(grpc::CallbackServerContext* context,
                                                    const v1::RevokeTokenRequest* request,
                                                    v1::RevokeTokenResponse* response) {
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.RevokeToken(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::DeleteUser(grpc::CallbackServerContext* context,
                                                   const v1::DeleteUserRequest* request,
                                                   v1::DeleteUserResponse* response) {
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.DeleteUser(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::Authenticate(grpc::CallbackServerContext* context,
                                                     const v1::AuthenticateRequest* request,
                                                     v1::AuthenticateResponse* response) {
  return OnStore(context, std::nullopt,
                 [this, request, response] { return core_.Authenticate(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::ResolveKey(grpc::CallbackServerContext* context,
                                                   const v1::ResolveKeyRequest* request,
                                                   v1::ResolveKeyResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "ResolveKey");
  if (!allowed.ok()) return Finish(context, allowed);
  return OnStore(context, new WipingKeyReactor(response), DescribeCall(*context),
                 [this, request, response] {
                   absl::Status status = core_.ResolveKey(*request, response);
                   if (!status.ok()) response->Clear();
                   return status;
                 });
}

grpc::ServerUnaryReactor* VaultService::RecordUsage(grpc::CallbackServerContext* context,
                                                    const v1::RecordUsageRequest* request,
                                                    v1::RecordUsageResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "RecordUsage");
  if (!allowed.ok()) return Finish(context, allowed);
  return OnStore(context, std::nullopt,
                 [this, request, response] { return core_.RecordUsage(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::RecordUsageBatch(grpc::CallbackServerContext* context,
                                                         const v1::RecordUsageBatchRequest* request,
                                                         v1::RecordUsageBatchResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.resolvers, "RecordUsageBatch");
  if (!allowed.ok()) return Finish(context, allowed);
  // Checked here (no store work); stored with the other calls waiting (group commit).
  absl::StatusOr<std::vector<UsageRecord>> records = core_.CheckUsageBatch(*request);
  if (!records.ok()) return Finish(context, records.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  UsageCommit::Batch batch;
  batch.records = *std::move(records);
  batch.deadline = DeadlineOf(*context);
  batch.cancelled = [context] { return context->IsCancelled(); };
  batch.done = [reactor, response](absl::StatusOr<int64_t> stored) {
    if (!stored.ok()) {
      reactor->Finish(ToWire(stored.status()));
      return;
    }
    response->set_recorded(static_cast<int32_t>(*stored));
    reactor->Finish(grpc::Status::OK);
  };
  usage_.Add(std::move(batch));
  return reactor;
}

grpc::ServerUnaryReactor* VaultService::GetStats(grpc::CallbackServerContext* context,
                                                 const v1::GetStatsRequest* request,
                                                 v1::GetStatsResponse* response) {
  if (request->scope_case() == v1::GetStatsRequest::kAppId) {
    absl::Status allowed = policy_.CheckApp(*context, callers_.apps, "GetStats by app_id");
    if (!allowed.ok()) return Finish(context, allowed);
  }
  return OnStore(context, std::nullopt,
                 [this, request, response] { return core_.GetStats(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::Rewrap(grpc::CallbackServerContext* context,
                                               const v1::RewrapRequest* request,
                                               v1::RewrapResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.admins, "Rewrap");
  if (!allowed.ok()) return Finish(context, allowed);
  return OnStore(context, DescribeCall(*context),
                 [this, request, response] { return core_.Rewrap(*request, response); });
}

grpc::ServerUnaryReactor* VaultService::ListAuditEvents(grpc::CallbackServerContext* context,
                                                        const v1::ListAuditEventsRequest* request,
                                                        v1::ListAuditEventsResponse* response) {
  absl::Status allowed = policy_.CheckService(*context, callers_.admins, "ListAuditEvents");
  if (!allowed.ok()) return Finish(context, allowed);
  return OnStore(context, std::nullopt,
                 [this, request, response] { return core_.ListAuditEvents(*request, response); });
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

namespace byok::vault {

grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse>* VaultService::StreamUsage(
    grpc::CallbackServerContext* context) {
  return usage_streams_.Start(core_, usage_,
                              policy_.CheckService(*context, callers_.resolvers, "StreamUsage"));
}

}  // namespace byok::vault
