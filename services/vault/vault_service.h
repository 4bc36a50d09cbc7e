// The gRPC face of the vault: byok.vault.v1.Vault over VaultCore, with the callback API.
#ifndef BYOK_SERVICES_VAULT_VAULT_SERVICE_H_
#define BYOK_SERVICES_VAULT_VAULT_SERVICE_H_

#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/caller_policy.h"
#include "services/vault/call_context.h"
#include "services/vault/change_feed.h"
#include "services/vault/vault_core.h"

namespace byok::vault {

// Which mutual-TLS identities may call each kind of internal method (common/caller_policy.h).
struct VaultCallers {
  std::vector<std::string> resolvers = {"relay"};   // ResolveKey, RecordUsage(Batch), WatchKeyChanges
  std::vector<std::string> admins = {"admin"};      // Rewrap, ListAuditEvents
  std::vector<std::string> apps = {"gateway"};      // CreateUser, GetStats by app_id
};

// Answers each unary RPC inside its reaction: the work is a few statements on a local database, short
// enough not to hold the library's threads noticeably. Every RPC first asks `policy` whether its
// caller may use it: methods on a user's token need nothing more; CreateUser and GetStats by app need
// an app credential or service identity; ResolveKey, RecordUsage, RecordUsageBatch, Rewrap and
// ListAuditEvents a service identity. Every failure carries an ErrorInfo (domain vault.byok-relay).
// Methods that make key events run with the call's CallInfo current (call_context.h): the caller's
// name (CallerPolicy::CallerName) and its x-request-id, for the audit trail.
// WatchKeyChanges streams `changes` (UNIMPLEMENTED without one) to the same callers as ResolveKey.
// Thread-safe; `core` and `changes` must outlive it.
class VaultService final : public v1::Vault::CallbackService {
 public:
  VaultService(VaultCore& core, CallerPolicy policy, VaultCallers callers = {},
               ChangeFeed* changes = nullptr)
      : core_(core), policy_(std::move(policy)), callers_(std::move(callers)), changes_(changes) {}

  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const v1::CreateUserRequest* request,
                                       v1::CreateUserResponse* response) override;
  grpc::ServerUnaryReactor* PutKey(grpc::CallbackServerContext* context,
                                   const v1::PutKeyRequest* request,
                                   v1::PutKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     const v1::ListKeysRequest* request,
                                     v1::ListKeysResponse* response) override;
  grpc::ServerUnaryReactor* DeleteKey(grpc::CallbackServerContext* context,
                                      const v1::DeleteKeyRequest* request,
                                      v1::DeleteKeyResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const v1::RevokeTokenRequest* request,
                                        v1::RevokeTokenResponse* response) override;
  grpc::ServerUnaryReactor* DeleteUser(grpc::CallbackServerContext* context,
                                       const v1::DeleteUserRequest* request,
                                       v1::DeleteUserResponse* response) override;
  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* context,
                                         const v1::AuthenticateRequest* request,
                                         v1::AuthenticateResponse* response) override;
  grpc::ServerUnaryReactor* ResolveKey(grpc::CallbackServerContext* context,
                                       const v1::ResolveKeyRequest* request,
                                       v1::ResolveKeyResponse* response) override;
  grpc::ServerUnaryReactor* RecordUsage(grpc::CallbackServerContext* context,
                                        const v1::RecordUsageRequest* request,
                                        v1::RecordUsageResponse* response) override;
  grpc::ServerUnaryReactor* RecordUsageBatch(grpc::CallbackServerContext* context,
                                             const v1::RecordUsageBatchRequest* request,
                                             v1::RecordUsageBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;
  grpc::ServerUnaryReactor* Rewrap(grpc::CallbackServerContext* context,
                                   const v1::RewrapRequest* request,
                                   v1::RewrapResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const v1::ListAuditEventsRequest* request,
                                            v1::ListAuditEventsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchKeyChangesResponse>* WatchKeyChanges(
      grpc::CallbackServerContext* context, const v1::WatchKeyChangesRequest* request) override;

 private:
  // Who made the call and its request id, for the key events the handler's work makes.
  CallInfo DescribeCall(const grpc::CallbackServerContext& context) const;

  VaultCore& core_;
  const CallerPolicy policy_;
  const VaultCallers callers_;
  ChangeFeed* const changes_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_SERVICE_H_
