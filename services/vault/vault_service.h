// The gRPC face of the vault: byok.vault.v1.Vault over VaultCore, with the callback API.
#ifndef BYOK_SERVICES_VAULT_VAULT_SERVICE_H_
#define BYOK_SERVICES_VAULT_VAULT_SERVICE_H_

#include <optional>

#include "absl/functional/any_invocable.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/caller_policy.h"
#include "services/vault/call_context.h"
#include "services/vault/change_feed.h"
#include "services/vault/store_executor.h"
#include "services/vault/usage_stream.h"
#include "services/vault/usage_commit.h"
#include "services/vault/vault_core.h"

namespace byok::vault {

// Which mutual-TLS identities may call each kind of internal method (common/caller_policy.h).
struct VaultCallers {
  std::vector<std::string> resolvers = {"relay"};   // ResolveKey, RecordUsage(Batch), WatchKeyChanges
  std::vector<std::string> admins = {"admin"};      // Rewrap, ListAuditEvents
  std::vector<std::string> apps = {"gateway"};      // CreateUser, GetStats by app_id
};

// Every unary RPC first asks `policy` whether its caller may use it, on gRPC's thread: methods on a
// user's token need nothing more; CreateUser and GetStats by app need an app credential or service
// identity; ResolveKey, RecordUsage, RecordUsageBatch, Rewrap and ListAuditEvents a service identity.
// The work itself, which reads or writes the store, runs on `executor`'s threads, never on gRPC's
// (store_executor.h); the call finishes from there. A call whose deadline passes, or that is cancelled,
// while it waits is answered DEADLINE_EXCEEDED / CANCELLED without touching the store; with the queue
// full it is answered UNAVAILABLE (nothing done: retry). RecordUsageBatch calls go through `usage`,
// which stores calls that wait together in one transaction (usage_commit.h). Every failure carries an
// ErrorInfo (domain vault.byok-relay).
// Methods that make key events run with the call's CallInfo current (call_context.h): the caller's
// name (CallerPolicy::CallerName) and its x-request-id, for the audit trail.
// WatchKeyChanges streams `changes` (UNIMPLEMENTED without one) to the same callers as ResolveKey.
// StreamUsage (usage_stream.h) takes RecordUsageBatch's batches over one stream per relay, from the
// same callers as RecordUsageBatch, through the same group commit.
// Thread-safe; `core`, `executor`, `usage` and `changes` must outlive it.
class VaultService final : public v1::Vault::CallbackService {
 public:
  VaultService(VaultCore& core, StoreExecutor& executor, UsageCommit& usage, CallerPolicy policy,
               VaultCallers callers = {}, ChangeFeed* changes = nullptr)
      : core_(core),
        executor_(executor),
        usage_(usage),
        policy_(std::move(policy)),
        callers_(std::move(callers)),
        changes_(changes) {}

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
  grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse>* StreamUsage(
      grpc::CallbackServerContext* context) override;

  // Ends the open StreamUsage streams (UNAVAILABLE once their committing batches are answered) and
  // refuses new ones: called when shutdown begins, since a relay's stream never ends by itself.
  void CloseUsageStreams() { usage_streams_.Close(); }
  // StreamUsage streams open now.
  int usage_streams() const { return usage_streams_.open(); }

 private:
  // Who made the call and its request id, for the key events the handler's work makes.
  CallInfo DescribeCall(const grpc::CallbackServerContext& context) const;

  // Queues `work` (the status the call finishes with) on the executor, run with `call` current when
  // given, and finishes `reactor` with its result, or with the reason it did not run.
  grpc::ServerUnaryReactor* OnStore(grpc::CallbackServerContext* context,
                                    grpc::ServerUnaryReactor* reactor, std::optional<CallInfo> call,
                                    absl::AnyInvocable<absl::Status() &&> work);
  grpc::ServerUnaryReactor* OnStore(grpc::CallbackServerContext* context,
                                    std::optional<CallInfo> call,
                                    absl::AnyInvocable<absl::Status() &&> work) {
    return OnStore(context, context->DefaultReactor(), std::move(call), std::move(work));
  }

  VaultCore& core_;
  StoreExecutor& executor_;
  UsageCommit& usage_;
  const CallerPolicy policy_;
  const VaultCallers callers_;
  ChangeFeed* const changes_;
  UsageStreams usage_streams_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_SERVICE_H_
