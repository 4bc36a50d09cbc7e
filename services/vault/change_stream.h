// The server side of Vault.WatchKeyChanges: one reactor per subscriber, writing what its
// ChangeSubscription queues, one message at a time.
#ifndef BYOK_SERVICES_VAULT_CHANGE_STREAM_H_
#define BYOK_SERVICES_VAULT_CHANGE_STREAM_H_

#include <grpcpp/support/server_callback.h>

#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "byok/vault/v1/vault.pb.h"
#include "services/vault/change_feed.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace byok::vault {

// Returns a reactor that streams `feed`'s changes to the caller until the caller leaves or the feed
// ends the subscription (shutdown, or changes possibly missed: UNAVAILABLE, so the caller
// resubscribes). When `refusal` is not OK, the reactor only finishes with it (and `feed` may be
// null). `feed` outlives the reactor.
grpc::ServerWriteReactor<v1::WatchKeyChangesResponse>* StartChangeStream(ChangeFeed* feed,
                                                                        absl::Status refusal);

// Deletes itself in OnDone. The feed's wake and gRPC's reactions may run on different threads at
// once; `mu_` orders them, and gRPC is called outside it.
class ChangeStreamReactor final : public grpc::ServerWriteReactor<v1::WatchKeyChangesResponse> {
 public:
  explicit ChangeStreamReactor(ChangeFeed& feed);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Starts the next write, or finishes once the subscription ended; nothing while a write is out.
  void Pump();
  void FinishOnce(const grpc::Status& status);

  ChangeFeed& feed_;
  std::shared_ptr<ChangeSubscription> subscription_;  // null: the feed refused
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  // The message being written; gRPC borrows it until OnWriteDone.
  v1::WatchKeyChangesResponse message_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CHANGE_STREAM_H_
