#include "services/gateway/backends/backends.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <vector>

#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/grpc_tls.h"
#include "common/service_auth.h"

namespace byok::gateway {
namespace {

// A stream body piece may be as large as the relay chooses; requests carry up to the body limit.
constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

// How a channel treats its calls' messages.
enum class Calls {
  kShort,      // answers and short streams (the vault): gRPC's retry layer stays, with its transparent
               // retry of a call that never reached the server
  kLongLived,  // streamed bodies (the relay): no retry layer (see MessageArguments)
};

grpc::ChannelArguments MessageArguments(Calls calls) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, kMaxMessageBytes);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, kMaxMessageBytes);
  // gRPC 1.51's retry layer (on by default, even with no retry policy) keeps state of its own for
  // every call (its call attempt, its copies of the call's metadata): about 6 KiB per held relay call
  // (tests/gateway/relay_channel_memory_test.cc; bench/run.sh --only stream,hold: the gateway's RSS
  // per held stream 29.5 -> 22.2 KiB, and less CPU per streamed event). Relay calls are never retried
  // (no retry policy: a relayed request is not idempotent); what is lost is the transparent retry of
  // a call that never left the gateway (its connection failed or was retired at that moment): such a
  // call fails UNAVAILABLE (a 502) instead of being sent again.
  if (calls == Calls::kLongLived) args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // A browser that reads slowly pauses its stream's reads from the relay, and gRPC then buffers what
  // the stream's flow-control window lets the relay send. gRPC's bandwidth probing grows that window
  // to megabytes on a fast link (a stopped browser left 4.0-4.8 MB of its stream in the gateway; with
  // the probing off, under 90 KB: HttpStreamCoalescingTest.StoppedBrowserStopsTheRelay...). A stream's
  // speed does not depend on it here: 100,000 events (17.5 MB) in 0.8-1.1 s either way, per-event work
  // being the limit.
  if (calls == Calls::kLongLived) args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return args;
}

// A channel to `in_process` when set (byok-relay), else to `target` over the network.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, grpc::Server* in_process,
                                          const std::optional<MutualTls>& tls,
                                          const crypto::SecretBytes& service_token, Calls calls) {
  grpc::ChannelArguments args = MessageArguments(calls);
  if (in_process != nullptr) return CreateInProcessServiceChannel(*in_process, args, service_token);
  // Round-robin over every replica the target names, with bounded reconnect backoff and keepalive
  // pings; the service token on every call.
  std::string uri = BalancedTarget(target, &args);
  return CreateServiceChannel(uri, ChannelCredentialsFor(tls), args, service_token);
}

}  // namespace

void CallRegistry::Add(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  calls_.insert(ctx);
  if (cancelled_) ctx->TryCancel();
}

void CallRegistry::Remove(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  calls_.erase(ctx);
}

void CallRegistry::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : calls_) ctx->TryCancel();
}

bool CallRegistry::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

RpcError BackendChannel::MakeError(const grpc::Status& status) const {
  RpcError error;
  error.backend = backend_;
  error.code = status.error_code();
  error.message = status.error_message();
  const absl::Status structured = FromGrpcStatus(status);
  error.reason = ReasonOf(structured);
  error.domain = DomainOf(structured);
  // Whether the service answered UNAVAILABLE (it could not reach what is behind it) or could not be
  // reached at all: every failure a service sends carries its ErrorInfo domain (WithDefaultReason),
  // gRPC's own (no connection, a connection that broke) none. The message is never read: a service's
  // may quote a connect error of its own, and gRPC's wording is not a contract.
  if (error.code == grpc::StatusCode::UNAVAILABLE) error.reached = !error.domain.empty();
  return error;
}

void BackendChannel::CheckHealth(absl::string_view service, absl::Duration timeout, CallRegistry* registry,
                                 std::function<void(Health)> done) {
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto call = std::make_shared<Call>();
  // grpc.health.v1.HealthCheckRequest{service}: field 1, length-delimited; empty encodes to no bytes.
  // Service names are our own short constants (one length byte).
  std::string encoded;
  if (!service.empty()) {
    encoded.push_back('\x0a');
    encoded.push_back(static_cast<char>(service.size()));
    encoded.append(service.data(), service.size());
  }
  grpc::Slice slice(encoded);
  call->request = grpc::ByteBuffer(&slice, 1);
  call->ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  registry->Add(&call->ctx);
  generic_.UnaryCall(&call->ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->request,
                     &call->response,
                     [call, registry, done = std::move(done)](grpc::Status status) mutable {
                       Health health = Health::kNoAnswer;
                       if (status.ok()) {
                         std::vector<grpc::Slice> slices;
                         std::string bytes;
                         if (call->response.Dump(&slices).ok()) {
                           for (const grpc::Slice& s : slices) {
                             bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
                           }
                         }
                         // HealthCheckResponse{status: SERVING}: field 1, varint 1.
                         health = bytes == std::string("\x08\x01", 2) ? Health::kServing : Health::kNotServing;
                       }
                       std::exchange(done, nullptr)(health);  // released before Remove
                       registry->Remove(&call->ctx);
                     });
}

Backends::Backends(const GatewayConfig& config, const InProcessLinks& links)
    : vault_(Backend::kVault, MakeChannel(config.vault_addr, links.vault, config.tls, config.service.token,
                                              Calls::kShort)),
      relay_(Backend::kRelay, MakeChannel(config.relay_addr, links.relay, config.tls, config.service.token,
                                              Calls::kLongLived)),
      vault_stub_(byok::vault::v1::Vault::NewStub(vault_.channel())),
      relay_stub_(byok::relay::v1::Relay::NewStub(relay_.channel())) {
  if (config.relay_streams > 0) {
    relay_streams_ = std::make_unique<RelayStreams>(relay_stub_.get(), &calls_,
                                                    RelayStreams::Options{.streams = config.relay_streams,
                                                                          .end_before_usage = !config.end_after_usage});
  }
}

void AddWait(trace::BackendWaits* waits, Backend backend, absl::Duration elapsed) {
  if (waits == nullptr) return;
  std::atomic<int64_t>& sum = backend == Backend::kVault ? waits->vault_us : waits->relay_us;
  sum.fetch_add(absl::ToInt64Microseconds(elapsed), std::memory_order_relaxed);
}

void Backends::AfterUsageStored(std::function<void()> then) {
  if (relay_streams_ == nullptr) return then();  // a Relay call's end waits for its record
  relay_streams_->usage_fence().AfterPending(std::move(then));
}

}  // namespace byok::gateway
