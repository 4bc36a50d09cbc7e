// The gateway's connections to the vault and the relay, and a small asynchronous unary-call helper on
// gRPC's callback API: no gateway thread ever waits for an RPC.
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_BACKENDS_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_BACKENDS_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/in_process.h"
#include "common/metrics/grpc_observer.h"
#include "common/request_context.h"
#include "services/gateway/api/error_mapping.h"
#include "services/gateway/backends/relay_streams.h"
#include "services/gateway/gateway_config.h"

namespace byok::gateway {

// Tracks every RPC in flight so shutdown can cancel them and wait for their callbacks. Thread-safe.
class CallRegistry {
 public:
  // Registers `ctx`; cancels it at once when shutdown already began.
  void Add(grpc::ClientContext* ctx);
  // Unregisters `ctx` (its callback has finished with the connection).
  void Remove(grpc::ClientContext* ctx);
  // Cancels every registered call and every later one.
  void CancelAll();
  // Waits until no call is registered or `timeout` passes; returns true when none is left.
  bool WaitIdle(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// One backing service: its channel, and how to describe a failed call to it.
class BackendChannel {
 public:
  BackendChannel(Backend backend, std::shared_ptr<grpc::Channel> channel)
      : backend_(backend), channel_(std::move(channel)), generic_(channel_) {}

  Backend backend() const { return backend_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Describes a failed call (or a failed request of a RelayMany stream), from the status and its
  // structured details (common/grpc_status.h), never from gRPC's message text.
  RpcError MakeError(const grpc::Status& status) const;

  // What a health check found.
  enum class Health {
    kServing,     // SERVING
    kNotServing,  // the service answered, but NOT_SERVING (or another status)
    kNoAnswer,    // no answer within the timeout, or an error
  };

  // Asks the service's standard gRPC health service about `service` ("" is the whole server);
  // `done` runs on a gRPC thread.
  void CheckHealth(absl::string_view service, absl::Duration timeout, CallRegistry* registry,
                   std::function<void(Health)> done);

 private:
  Backend backend_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_;
};

// The vault and relay connections with their stubs. Thread-safe.
class Backends {
 public:
  // Creates (lazily connecting) channels to config.vault_addr and config.relay_addr; plaintext over the
  // network the suite runs in, with short reconnect backoff so a restarted service is found quickly.
  // A server in `links` (byok-relay) is called through an in-process channel instead, with the same
  // arguments and service token.
  explicit Backends(const GatewayConfig& config, const InProcessLinks& links = {});

  BackendChannel& vault() { return vault_; }
  BackendChannel& relay() { return relay_; }
  byok::vault::v1::Vault::Stub& vault_stub() { return *vault_stub_; }
  byok::relay::v1::Relay::Stub& relay_stub() { return *relay_stub_; }
  CallRegistry& calls() { return calls_; }
  // The RelayMany streams relayed requests go over; null with BYOK_RELAY_STREAMS=0.
  RelayStreams* relay_streams() { return relay_streams_.get(); }
  // Runs `then` once the usage records of every relayed response that ended before now are stored
  // (at once when none is pending): what reads or erases usage goes through it (usage_fence.h).
  void AfterUsageStored(std::function<void()> then);

 private:
  BackendChannel vault_;
  BackendChannel relay_;
  std::unique_ptr<byok::vault::v1::Vault::Stub> vault_stub_;
  std::unique_ptr<byok::relay::v1::Relay::Stub> relay_stub_;
  CallRegistry calls_;
  std::unique_ptr<RelayStreams> relay_streams_;
};

// Adds `elapsed` to the request's wait on `backend` (for its access line); `waits` may be null.
void AddWait(trace::BackendWaits* waits, Backend backend, absl::Duration elapsed);

// The outcome of a unary call: the response, or what went wrong.
template <typename Resp>
struct RpcResult {
  std::optional<RpcError> error;
  Resp response;
};

// Starts one unary call with a deadline. `invoke(ctx, request, response, on_done)` starts it on the
// stub's async() interface; `done` receives the result on a gRPC callback thread and must not block.
template <typename Req, typename Resp, typename Invoke>
void CallUnary(BackendChannel& backend, CallRegistry& registry, absl::Duration timeout, Req request,
               Invoke invoke, std::function<void(RpcResult<Resp>)> done) {
  struct Call {
    grpc::ClientContext ctx;
    Req request;
    Resp response;
    // The browser request's ids: sent with the call, and current again while `done` runs (so the
    // calls it makes carry them too).
    std::optional<trace::RequestContext> trace;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  if (const trace::RequestContext* current = trace::Current()) {
    call->trace = *current;
    metrics::AddToClientContext(*current, &call->ctx);
  }
  registry.Add(&call->ctx);
  invoke(&call->ctx, &call->request, &call->response,
         [call, &backend, &registry, done = std::move(done), started = absl::Now()](grpc::Status status) mutable {
           if (call->trace.has_value()) AddWait(call->trace->waits.get(), backend.backend(), absl::Now() - started);
           RpcResult<Resp> result;
           if (status.ok()) {
             result.response = std::move(call->response);
           } else {
             result.error = backend.MakeError(status);
           }
           // What `done` holds (a browser's session) goes before the call counts as finished:
           // shutdown waits for the registry, then destroys what sessions use.
           {
             trace::ScopedContext scope(call->trace.has_value() ? &*call->trace : nullptr);
             std::exchange(done, nullptr)(std::move(result));
           }
           registry.Remove(&call->ctx);
         });
}

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_BACKENDS_H_
