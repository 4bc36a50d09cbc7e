#include "common/metrics/grpc_observer.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/metrics/metrics.h"

namespace byok::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

absl::string_view Find(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                       absl::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

// A method name as a bounded label: the methods our protos declare ("/byok.vault.v1.Vault/GetKey"
// becomes "GetKey"); anything else (health checks, reflection, an unknown name) is "other".
std::string MethodLabel(const char* method) {
  absl::string_view m = method == nullptr ? "" : method;
  if (m.size() < 2 || m.front() != '/') return "other";
  std::string full = absl::StrReplaceAll(m.substr(1), {{"/", "."}});
  const google::protobuf::MethodDescriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  if (d == nullptr || d->full_name().rfind("byok.", 0) != 0) return "other";
  return d->name();
}

// The families every server shares (created once per process, labelled by service).
struct ServerFamilies {
  prometheus::Family<prometheus::Counter>& calls;
  prometheus::Family<prometheus::Histogram>& duration;

  static ServerFamilies* Get() {
    static ServerFamilies* families = [] () -> ServerFamilies* {
      prometheus::Registry* registry = Registry();
      if (registry == nullptr) return nullptr;
      return new ServerFamilies{
          prometheus::BuildCounter()
              .Name("byok_grpc_server_calls_total")
              .Help("gRPC calls handled, by service, method and status code")
              .Register(*registry),
          prometheus::BuildHistogram()
              .Name("byok_grpc_server_call_duration_seconds")
              .Help("gRPC call duration, by service and method")
              .Register(*registry)};
    }();
    return families;
  }
};

void Count(const std::string& service, const std::string& method, const std::string& code,
           absl::Duration elapsed) {
  if (ServerFamilies* f = ServerFamilies::Get()) {
    f->calls.Add({{"service", service}, {"method", method}, {"code", code}}).Increment();
    f->duration.Add({{"service", service}, {"method", method}}, DurationBuckets())
        .Observe(absl::ToDoubleSeconds(elapsed));
  }
}

class Observer : public grpc::experimental::Interceptor {
 public:
  Observer(grpc::experimental::ServerRpcInfo* info, const std::string& service)
      : info_(info), service_(service) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      OnStatus(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void OnStatus(const grpc::Status& status) {
    const absl::Duration elapsed = absl::Now() - started_;
    const std::string method = MethodLabel(info_->method());
    const std::string code = absl::StatusCodeToString(FromGrpcStatus(status).code());
    Count(service_, method, code, elapsed);
    if (log::Enabled(log::Level::kDebug)) {
      trace::RequestContext context = ContextFromMetadata(info_->server_context()->client_metadata());
      trace::ScopedContext scope(&context);
      log::Write(log::Level::kDebug, service_, "rpc",
                 {{"method", method},
                  {"code", code},
                  {"duration_ms", absl::StrCat(absl::ToInt64Milliseconds(elapsed))}});
    }
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const std::string& service_;
  const absl::Time started_ = absl::Now();
};

class ObserverFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ObserverFactory(std::string service) : service_(std::move(service)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Observer(info, service_);
  }

 private:
  const std::string service_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> ServerObservers(
    const std::string& service) {
  ServerFamilies::Get();  // families exist (with no series) from the start
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<ObserverFactory>(service));
  return out;
}

void CountServerCall(const std::string& service, const std::string& method, grpc::StatusCode code,
                     absl::Duration elapsed) {
  if (ServerFamilies::Get() == nullptr) return;  // metrics off: no label to build
  Count(service, method, absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), elapsed);
}

trace::RequestContext ContextFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  return trace::Continue(Find(metadata, trace::kRequestIdHeader), Find(metadata, trace::kTraceparentHeader),
                         Find(metadata, trace::kTracestateHeader));
}

void AddToClientContext(const trace::RequestContext& context, grpc::ClientContext* client) {
  client->AddMetadata(trace::kRequestIdHeader, context.request_id);
  client->AddMetadata(trace::kTraceparentHeader, context.Traceparent());
  if (!context.tracestate.empty()) client->AddMetadata(trace::kTracestateHeader, context.tracestate);
}

}  // namespace byok::metrics
