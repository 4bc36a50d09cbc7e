// Watches one browser request from arrival to the end of its response: its request id and trace
// (x-request-id and traceparent/tracestate taken from the browser when valid, made otherwise), the
// x-request-id header on every response it gets (a relayed response keeps the provider's), the
// metrics, and one access log line (method, route template, status, duration, the time spent waiting
// on the vault and the relay, bytes; never the raw path or a header value).
#ifndef BYOK_SERVICES_GATEWAY_API_REQUEST_OBSERVER_H_
#define BYOK_SERVICES_GATEWAY_API_REQUEST_OBSERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/request_context.h"
#include "services/gateway/http/http_types.h"
#include "services/gateway/api/route_table.h"

namespace byok::gateway {

// The innermost writer of a request (the chain's writers wrap it). Thread-safe.
class RequestObserver : public ResponseWriter {
 public:
  RequestObserver(std::shared_ptr<ResponseWriter> inner, const HttpRequest& request);
  // A stream that never finished (the connection went first) is counted and logged here.
  ~RequestObserver() override;

  // The request's ids and this hop's span: current on the threads that work for the request, and
  // sent on with each backend call.
  const trace::RequestContext& context() const { return context_; }

  // The route the request matched (its template labels the metrics and the log line).
  void SetRoute(const Route* route);

  void AddHeaders(HeaderList headers) override { inner_->AddHeaders(std::move(headers)); }
  void Send(HttpResponse response) override;
  void StartStream(int status, HeaderList headers, std::string first_chunk,
                   std::function<void(bool ok)> done) override;
  void WriteChunk(std::string data, std::function<void(bool ok)> done) override;
  void FinishStream(std::string tail) override;
  void AbortStream() override;
  void OnClientGone(std::function<void()> cancel) override { inner_->OnClientGone(std::move(cancel)); }

 private:
  enum class State { kWaiting, kStreaming, kDone };

  // Adds the request id to `headers`, unless they hold one already (a provider's, relayed).
  void AddRequestId(HeaderList* headers) const;
  // Counts and logs the request once, when it ends.
  void Record(int status, int64_t bytes, bool aborted);

  const std::shared_ptr<ResponseWriter> inner_;
  const trace::RequestContext context_;
  const std::string method_;  // bounded: one of a few names
  const std::string path_;    // only to find a route template for requests refused before routing
  const absl::Time started_ = absl::Now();

  absl::Mutex mu_;
  const Route* route_ ABSL_GUARDED_BY(mu_) = nullptr;
  State state_ ABSL_GUARDED_BY(mu_) = State::kWaiting;
  int stream_status_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t stream_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_REQUEST_OBSERVER_H_
