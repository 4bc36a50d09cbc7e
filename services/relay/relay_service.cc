#include "services/relay/relay_service.h"

#include <grpcpp/server_context.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace byok::relay {
namespace {

// Bytes of a key-check response body read before it is dropped (only the status matters).
constexpr size_t kKeyCheckBodyLimit = 64 * 1024;
// Bytes of a refusal's body kept for rotation's 422 detail.
constexpr size_t kBodyStartBytes = 200;

// Runs one key check upstream and finishes the unary RPC. Deletes itself when the call has ended.
class KeyCheck : public UpstreamHandler {
 public:
  KeyCheck(grpc::ServerUnaryReactor* reactor, v1::CheckKeyResponse* response)
      : reactor_(reactor), response_(response) {}

  void Start(UpstreamClient& client, UpstreamRequest request) {
    absl::MutexLock lock(&mu_);
    call_ = client.Start(std::move(request), this);
  }

  void OnUpstreamHead(UpstreamHead head) override {
    status_ = head.status;
    Next();
  }
  void OnUpstreamBody(std::string piece, bool last) override {
    body_bytes_ += piece.size();
    if (body_start_.size() < kBodyStartBytes) {
      body_start_.append(piece.substr(0, kBodyStartBytes - body_start_.size()));
    }
    if (body_bytes_ > kKeyCheckBodyLimit) {
      absl::MutexLock lock(&mu_);
      call_->Cancel();
      return;
    }
    if (!last) Next();
  }
  void OnUpstreamDone(absl::Status status) override {
    if (status_ == 0) {
      reactor_->Finish(ToGrpcStatus(WithDefaultReason(
          WithReason(status, absl::IsDeadlineExceeded(status) ? reason::kUpstreamTimeout
                                                               : reason::kUpstreamUnreachable,
                     kRelayDomain),
          kRelayDomain)));
    } else {
      response_->set_status(status_);
      switch (InterpretKeyCheckStatus(status_)) {
        case KeyCheckVerdict::kValid:
          response_->set_valid(true);
          break;
        case KeyCheckVerdict::kInvalid:
          response_->set_reason("the provider rejected the key");
          response_->set_body_start(body_start_);
          break;
        case KeyCheckVerdict::kUnknown:
          response_->set_reason(
              absl::StrCat("the provider could not check the key (HTTP ", status_, ")"));
          response_->set_body_start(body_start_);
          break;
      }
      reactor_->Finish(grpc::Status::OK);
    }
    delete this;
  }

 private:
  void Next() {
    absl::MutexLock lock(&mu_);
    call_->Next();
  }

  grpc::ServerUnaryReactor* const reactor_;
  v1::CheckKeyResponse* const response_;
  absl::Mutex mu_;
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);
  int status_ = 0;
  size_t body_bytes_ = 0;
  std::string body_start_;
};

}  // namespace

grpc::ServerWriteReactor<v1::RelayResponse>* RelayService::Relay(
    grpc::CallbackServerContext* context, const v1::RelayRequest* request) {
  return new RelayReactor(deps_, context, request);
}

grpc::ServerBidiReactor<v1::RelayManyRequest, v1::RelayManyResponse>* RelayService::RelayMany(
    grpc::CallbackServerContext* /*context*/) {
  return new RelayManyReactor(deps_, &streams_);
}

grpc::ServerUnaryReactor* RelayService::CheckKey(grpc::CallbackServerContext* context,
                                                 const v1::CheckKeyRequest* request,
                                                 v1::CheckKeyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status allowed = policy_.CheckService(*context, check_key_callers_, "CheckKey");
      !allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  if (limiter_ != nullptr && !limiter_->TryAcquire()) {
    reactor->Finish(ToGrpcStatus(WithReason(
        absl::ResourceExhaustedError("too many key checks, retry later"), reason::kRateLimited,
        kRelayDomain)));
    return reactor;
  }
  absl::StatusOr<UpstreamRequest> prepared =
      deps_.policy->PrepareKeyCheck(request->provider(), request->key(), request->base_url());
  if (!prepared.ok() && prepared.status().code() == absl::StatusCode::kFailedPrecondition) {
    // No verification endpoint (common/providers): the key counts as accepted, as in the original.
    response->set_valid(true);
    response->set_skipped(true);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  if (!prepared.ok()) {
    reactor->Finish(ToGrpcStatus(WithDefaultReason(prepared.status(), kRelayDomain)));
    return reactor;
  }
  auto* check = new KeyCheck(reactor, response);
  check->Start(*deps_.upstream, *std::move(prepared));
  return reactor;
}

grpc::ServerUnaryReactor* RelayService::DescribeRoutes(grpc::CallbackServerContext* context,
                                                       const v1::DescribeRoutesRequest* /*request*/,
                                                       v1::DescribeRoutesResponse* response) {
  RoutesDescription routes = deps_.policy->DescribeRoutes();
  for (const auto& p : routes.providers) {
    v1::ProviderInfo* info = response->add_providers();
    info->set_name(p.name);
    info->set_base_url(p.base_url);
    for (const auto& path : p.allowed_paths) info->add_allowed_paths(path);
  }
  for (const auto& r : routes.routes) {
    v1::ModelRoute* route = response->add_routes();
    route->set_pattern(r.pattern);
    route->set_provider(r.provider);
    route->set_path(r.path);
  }
  for (const auto& m : routes.allowed_models) response->add_allowed_models(m);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace byok::relay
