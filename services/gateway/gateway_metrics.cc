#include "services/gateway/gateway_metrics.h"

#include <prometheus/registry.h>

#include "common/metrics/metrics.h"

namespace byok::gateway {

GatewayMetrics* GatewayMetrics::Get() {
  static GatewayMetrics* metrics = metrics::Registry() == nullptr ? nullptr : new GatewayMetrics();
  return metrics;
}

GatewayMetrics::GatewayMetrics()
    : requests_(prometheus::BuildCounter()
                    .Name("byok_gateway_requests_total")
                    .Help("HTTP requests answered, by method, route template and status")
                    .Register(*metrics::Registry())),
      duration_(prometheus::BuildHistogram()
                    .Name("byok_gateway_request_duration_seconds")
                    .Help("HTTP request duration until the response ended (streams included), by route")
                    .Register(*metrics::Registry())),
      bytes_(prometheus::BuildCounter()
                 .Name("byok_gateway_response_bytes_total")
                 .Help("Response body bytes sent, by route template")
                 .Register(*metrics::Registry())),
      open_streams_(prometheus::BuildGauge()
                        .Name("byok_gateway_open_streams")
                        .Help("Streamed responses in progress")
                        .Register(*metrics::Registry())
                        .Add({})),
      rate_limited_(prometheus::BuildCounter()
                        .Name("byok_gateway_rate_limited_total")
                        .Help("Requests refused with 429, by limiter")
                        .Register(*metrics::Registry())) {}

void GatewayMetrics::Request(absl::string_view method, const std::string& route, int status,
                             absl::Duration elapsed, int64_t bytes) {
  requests_.Add({{"method", std::string(method)}, {"route", route}, {"status", metrics::StatusLabel(status)}})
      .Increment();
  duration_.Add({{"route", route}}, metrics::DurationBuckets()).Observe(absl::ToDoubleSeconds(elapsed));
  if (bytes > 0) bytes_.Add({{"route", route}}).Increment(static_cast<double>(bytes));
}

void GatewayMetrics::StreamOpened() { open_streams_.Increment(); }

void GatewayMetrics::StreamClosed() { open_streams_.Decrement(); }

void GatewayMetrics::RateLimited(const char* limiter) { rate_limited_.Add({{"limiter", limiter}}).Increment(); }

}  // namespace byok::gateway
