#include "services/gateway/backends/direct_relay_call.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <string>
#include <utility>

#include "common/metrics/grpc_observer.h"
#include "services/gateway/backends/backends.h"
#include "services/relay/policy/model_policy.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

// Holds itself from Start until OnDone has told the receiver.
class DirectRelayCall final : public grpc::ClientReadReactor<RelayResponse>,
                              public RelayTransport,
                              public std::enable_shared_from_this<DirectRelayCall> {
 public:
  DirectRelayCall(CallRegistry& registry, RelayRequest request, RelayReceiver* receiver)
      : registry_(registry), request_(std::move(request)), receiver_(receiver) {}

  void Start(byok::relay::v1::Relay::Stub& stub, const trace::RequestContext* trace) {
    self_ = shared_from_this();
    if (trace != nullptr) metrics::AddToClientContext(*trace, &ctx_);
    registry_.Add(&ctx_);
    stub.async()->Relay(&ctx_, &request_, this);
    // The hold keeps the call open while no read is pending (the receiver is busy with a message).
    AddHold();
    StartCall();
  }

  void Read() override {
    message_.Clear();
    StartRead(&message_);
  }

  void Cancel() override {
    ctx_.TryCancel();
    ReleaseHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return ReleaseHold();  // the status follows (OnDone)
    if (message_.has_head()) request_.Clear();  // the relay has the request: a long stream keeps none of it
    // A call's status comes only after a read that finds no message: it is never known here.
    receiver_->OnMessage(message_, /*end_follows=*/false);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<DirectRelayCall> keep = std::move(self_);
    std::string allowed_models;
    const auto& trailers = ctx_.GetServerTrailingMetadata();
    if (auto it = trailers.find(byok::relay::kAllowedModelsTrailer); it != trailers.end()) {
      allowed_models.assign(it->second.data(), it->second.size());
    }
    receiver_->OnEnd(status, allowed_models);
    // The receiver (holding a browser's session) is done before the call counts as finished:
    // shutdown waits for the registry, then destroys the event loop that sessions use.
    registry_.Remove(&ctx_);
  }

 private:
  void ReleaseHold() {
    if (!hold_released_.exchange(true)) RemoveHold();
  }

  CallRegistry& registry_;
  grpc::ClientContext ctx_;
  RelayRequest request_;
  RelayResponse message_;
  RelayReceiver* const receiver_;
  std::shared_ptr<DirectRelayCall> self_;
  std::atomic<bool> hold_released_{false};
};

}  // namespace

std::shared_ptr<RelayTransport> StartDirectRelayCall(byok::relay::v1::Relay::Stub& stub, CallRegistry& registry,
                                                     RelayRequest request, const trace::RequestContext* trace,
                                                     RelayReceiver* receiver) {
  auto call = std::make_shared<DirectRelayCall>(registry, std::move(request), receiver);
  call->Start(stub, trace);
  return call;
}

}  // namespace byok::gateway
