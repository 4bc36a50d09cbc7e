#include "services/gateway/api/request_observer.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "services/gateway/gateway_metrics.h"

namespace byok::gateway {
namespace {

// The request's method as a bounded label.
std::string MethodLabel(absl::string_view method) {
  for (absl::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return std::string(known);
  }
  return "other";
}

trace::RequestContext WithWaits(trace::RequestContext context) {
  context.waits = std::make_shared<trace::BackendWaits>();
  return context;
}

std::string Millis(const std::atomic<int64_t>& micros) {
  return absl::StrCat(micros.load(std::memory_order_relaxed) / 1000);
}

}  // namespace

RequestObserver::RequestObserver(std::shared_ptr<ResponseWriter> inner, const HttpRequest& request)
    : inner_(std::move(inner)),
      context_(WithWaits(trace::Continue(request.Header(trace::kRequestIdHeader),
                                         request.Header(trace::kTraceparentHeader),
                                         request.Header(trace::kTracestateHeader)))),
      method_(MethodLabel(request.method)),
      path_(request.path) {}

RequestObserver::~RequestObserver() {
  int status = 0;
  int64_t bytes = 0;
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kStreaming) return;
    status = stream_status_;
    bytes = stream_bytes_;
  }
  Record(status, bytes, /*aborted=*/true);
}

void RequestObserver::SetRoute(const Route* route) {
  absl::MutexLock lock(&mu_);
  route_ = route;
}

void RequestObserver::AddRequestId(HeaderList* headers) const {
  // A provider's own x-request-id, passed back on a relayed response, stays (compat.md: the provider's
  // request-id headers reach the browser); the gateway's id is then in the logs only.
  for (const auto& h : *headers) {
    if (absl::EqualsIgnoreCase(h.first, trace::kRequestIdHeader)) return;
  }
  headers->emplace_back(trace::kRequestIdHeader, context_.request_id);
}

void RequestObserver::Send(HttpResponse response) {
  AddRequestId(&response.headers);
  const int status = response.status;
  const int64_t bytes = static_cast<int64_t>(response.body.size());
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kDone;
  }
  inner_->Send(std::move(response));
  Record(status, bytes, /*aborted=*/false);
}

void RequestObserver::StartStream(int status, HeaderList headers, std::string first_chunk,
                                  std::function<void(bool ok)> done) {
  AddRequestId(&headers);
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kStreaming;
    stream_status_ = status;
    stream_bytes_ = static_cast<int64_t>(first_chunk.size());
  }
  if (GatewayMetrics* m = GatewayMetrics::Get()) m->StreamOpened();
  inner_->StartStream(status, std::move(headers), std::move(first_chunk), std::move(done));
}

void RequestObserver::WriteChunk(std::string data, std::function<void(bool ok)> done) {
  {
    absl::MutexLock lock(&mu_);
    stream_bytes_ += static_cast<int64_t>(data.size());
  }
  inner_->WriteChunk(std::move(data), std::move(done));
}

void RequestObserver::FinishStream(std::string tail) {
  int status = 0;
  int64_t bytes = 0;
  {
    absl::MutexLock lock(&mu_);
    stream_bytes_ += static_cast<int64_t>(tail.size());
    state_ = State::kDone;
    status = stream_status_;
    bytes = stream_bytes_;
  }
  inner_->FinishStream(std::move(tail));
  Record(status, bytes, /*aborted=*/false);
}

void RequestObserver::AbortStream() {
  int status = 0;
  int64_t bytes = 0;
  bool was_streaming = false;
  {
    absl::MutexLock lock(&mu_);
    was_streaming = state_ == State::kStreaming;
    state_ = State::kDone;
    status = stream_status_;
    bytes = stream_bytes_;
  }
  inner_->AbortStream();
  if (was_streaming) Record(status, bytes, /*aborted=*/true);
}

void RequestObserver::Record(int status, int64_t bytes, bool aborted) {
  const absl::Duration elapsed = absl::Now() - started_;
  const Route* route = nullptr;
  bool streamed = false;
  {
    absl::MutexLock lock(&mu_);
    route = route_;
    streamed = stream_status_ != 0;
  }
  // Refused before routing (a limiter, a body that is not JSON, a preflight): the template of the
  // route the path would have matched, if any.
  std::string label;
  if (route == nullptr && method_ != "OPTIONS") {
    RouteMatch match = MatchRoute(method_, path_);
    if (match.kind == RouteMatch::Kind::kFound) route = match.route;
  }
  if (route != nullptr) {
    label = route->pattern;
  } else if (method_ == "OPTIONS") {
    label = "preflight";
  } else if (absl::StartsWith(path_, "/demo")) {
    label = "demo";
  } else {
    label = "unmatched";
  }
  if (GatewayMetrics* m = GatewayMetrics::Get()) {
    m->Request(method_, label, status, elapsed, bytes);
    if (streamed) m->StreamClosed();
  }
  if (log::Enabled(log::Level::kInfo)) {
    trace::ScopedContext scope(&context_);
    log::Write(log::Level::kInfo, "gateway", aborted ? "request (stream cut)" : "request",
               {{"method", method_},
                {"route", label},
                {"status", absl::StrCat(status)},
                {"duration_ms", absl::StrCat(absl::ToInt64Milliseconds(elapsed))},
                {"vault_ms", Millis(context_.waits->vault_us)},
                {"relay_ms", Millis(context_.waits->relay_us)},
                {"bytes", absl::StrCat(bytes)}});
  }
}

}  // namespace byok::gateway
