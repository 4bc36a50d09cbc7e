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

// Runs one key check upstream and finishes the unary RPC. Deletes itself when the call has ended.
class KeyCheck : public UpstreamHandler {
 public:
  KeyCheck(grpc::ServerUnaryReactor* reactor, v1::CheckKeyResponse* response)
      : reactor_(reactor), response_(response) {}

  void Start(UpstreamClient& client, PreparedRequest prepared) {
    UpstreamRequest request;
    request.tls = prepared.tls;
    request.host = std::move(prepared.host);
    request.port = prepared.port;
    request.host_header = std::move(prepared.host_header);
    request.method = std::move(prepared.method);
    request.target = std::move(prepared.target);
    for (auto& f : prepared.headers) request.headers.emplace_back(std::move(f.name), std::move(f.value));
    request.body = std::move(prepared.body);
    if (prepared.check_addresses) {
      request.address_guard = [](const std::string& address) { return CheckAddress(address); };
    }
    absl::MutexLock lock(&mu_);
    call_ = client.Start(std::move(request), this);
  }

  void OnUpstreamHead(UpstreamHead head) override {
    status_ = head.status;
    Next();
  }
  void OnUpstreamBody(std::string piece, bool last) override {
    body_bytes_ += piece.size();
    if (body_bytes_ > kKeyCheckBodyLimit) {
      absl::MutexLock lock(&mu_);
      call_->Cancel();
      return;
    }
    if (!last) Next();
  }
  void OnUpstreamDone(absl::Status status) override {
    if (status_ == 0) {
      reactor_->Finish(ToGrpcStatus(status));
    } else {
      response_->set_status(status_);
      switch (InterpretKeyCheckStatus(status_)) {
        case KeyCheckVerdict::kValid:
          response_->set_valid(true);
          break;
        case KeyCheckVerdict::kInvalid:
          response_->set_reason("the provider rejected the key");
          break;
        case KeyCheckVerdict::kUnknown:
          response_->set_reason(
              absl::StrCat("the provider could not check the key (HTTP ", status_, ")"));
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
};

}  // namespace

grpc::ServerWriteReactor<v1::RelayResponse>* RelayService::Relay(
    grpc::CallbackServerContext* context, const v1::RelayRequest* request) {
  return new RelayReactor(deps_, context, request);
}

grpc::ServerUnaryReactor* RelayService::ResolveRoute(grpc::CallbackServerContext* context,
                                                     const v1::ResolveRouteRequest* request,
                                                     v1::ResolveRouteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<ResolvedRoute> route = deps_.policy->ResolveRoute(request->body());
  if (!route.ok()) {
    reactor->Finish(ToGrpcStatus(route.status()));
    return reactor;
  }
  response->set_provider(route->provider);
  response->set_path(route->path);
  response->set_model(route->model);
  response->set_body(std::move(route->body));
  response->set_stream(route->stream);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RelayService::CheckKey(grpc::CallbackServerContext* context,
                                                 const v1::CheckKeyRequest* request,
                                                 v1::CheckKeyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<PreparedRequest> prepared =
      deps_.policy->PrepareKeyCheck(request->provider(), request->key(), request->base_url());
  if (!prepared.ok()) {
    reactor->Finish(ToGrpcStatus(prepared.status()));
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
