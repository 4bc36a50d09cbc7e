// The gateway's Prometheus metrics: requests by method, route template and status, their latency and
// response bytes, open streams, rate-limit refusals by limiter. Labels come from fixed sets (the route
// table's patterns, a few method names, status codes, the limiter names): never a raw path, user or
// token.
#ifndef BYOK_SERVICES_GATEWAY_GATEWAY_METRICS_H_
#define BYOK_SERVICES_GATEWAY_GATEWAY_METRICS_H_

#include <cstdint>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace byok::gateway {

class GatewayMetrics {
 public:
  // The process's gateway metrics, or null when metrics are off (metrics.h).
  static GatewayMetrics* Get();

  // One request answered: `route` is a route template or one of the fixed names request_observer.cc
  // uses; `method` is already bounded.
  void Request(absl::string_view method, const std::string& route, int status, absl::Duration elapsed,
               int64_t bytes);
  void StreamOpened();
  void StreamClosed();
  void RateLimited(const char* limiter);

 private:
  GatewayMetrics();

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Gauge& open_streams_;
  prometheus::Family<prometheus::Counter>& rate_limited_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_GATEWAY_METRICS_H_
