#include "services/vault/change_stream.h"

#include <optional>
#include <utility>

#include "common/grpc_status.h"

namespace byok::vault {
namespace {

// Finishes at once with the caller's refusal.
class RefusedStream final : public grpc::ServerWriteReactor<v1::WatchKeyChangesResponse> {
 public:
  explicit RefusedStream(const absl::Status& status) {
    Finish(ToGrpcStatus(WithDefaultReason(status, kVaultDomain)));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchKeyChangesResponse>* StartChangeStream(ChangeFeed* feed,
                                                                        absl::Status refusal) {
  if (!refusal.ok() || feed == nullptr) return new RefusedStream(refusal);
  return new ChangeStreamReactor(*feed);
}

ChangeStreamReactor::ChangeStreamReactor(ChangeFeed& feed) : feed_(feed) {
  {
    // A change published meanwhile wakes Pump, which waits here until subscription_ is set.
    absl::MutexLock lock(&mu_);
    subscription_ = feed_.Subscribe([this] { Pump(); });
  }
  if (subscription_ == nullptr) {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the vault's change feed is not available; retry"));
    return;
  }
  Pump();  // KIND_SUBSCRIBED is queued already
}

void ChangeStreamReactor::Pump() {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    if (writing_ || finished_) return;
    if (std::optional<v1::WatchKeyChangesResponse> next = subscription_->Next()) {
      message_ = *std::move(next);
      writing_ = true;
    } else if (subscription_->Ended()) {
      // Shutting down or no longer hearing every change: the subscriber resubscribes (elsewhere).
      finish = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the vault's change feed ended; resubscribe");
    } else {
      return;
    }
  }
  if (finish.has_value()) return FinishOnce(*finish);
  StartWrite(&message_);
}

void ChangeStreamReactor::OnWriteDone(bool ok) {
  std::optional<grpc::Status> deferred;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    deferred = std::exchange(finish_after_write_, std::nullopt);
  }
  if (deferred.has_value()) return Finish(*deferred);
  if (!ok) return FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the subscriber left"));
  Pump();
}

void ChangeStreamReactor::OnCancel() {
  FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "the subscriber left"));
}

void ChangeStreamReactor::FinishOnce(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    // Never Finish under a write in flight: OnWriteDone does it.
    if (writing_) {
      finish_after_write_ = status;
      return;
    }
  }
  Finish(status);
}

void ChangeStreamReactor::OnDone() {
  // After this no wake runs: the reactor may go.
  feed_.Unsubscribe(subscription_);
  delete this;
}

}  // namespace byok::vault
