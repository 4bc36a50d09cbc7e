#include "services/relay/relay_metrics.h"

#include <prometheus/registry.h>

#include "common/metrics/metrics.h"

namespace byok::relay {

RelayMetrics* RelayMetrics::Get() {
  static RelayMetrics* metrics = [] () -> RelayMetrics* {
    if (metrics::Registry() == nullptr) return nullptr;
    auto* m = new RelayMetrics();
    upstream::SetPoolObserver(m);
    return m;
  }();
  return metrics;
}

RelayMetrics::RelayMetrics()
    : upstream_(prometheus::BuildCounter()
                    .Name("byok_relay_upstream_requests_total")
                    .Help("Requests forwarded to providers, by provider and HTTP status (0: no response)")
                    .Register(*metrics::Registry())),
      bytes_(prometheus::BuildCounter()
                 .Name("byok_relay_upstream_response_bytes_total")
                 .Help("Response body bytes relayed from providers, by provider")
                 .Register(*metrics::Registry())),
      first_byte_(prometheus::BuildHistogram()
                      .Name("byok_relay_upstream_first_byte_seconds")
                      .Help("Time from sending a request to the provider's response head, by provider")
                      .Register(*metrics::Registry())),
      stream_(prometheus::BuildHistogram()
                  .Name("byok_relay_stream_duration_seconds")
                  .Help("Duration of streamed (SSE) responses from head to end, by provider")
                  .Register(*metrics::Registry())),
      cancelled_(prometheus::BuildCounter()
                     .Name("byok_relay_cancellations_total")
                     .Help("Requests whose client left before the response ended, by provider")
                     .Register(*metrics::Registry())),
      pool_opened_(prometheus::BuildCounter()
                       .Name("byok_relay_upstream_connections_opened_total")
                       .Help("Connections opened to providers (no idle keep-alive connection to reuse)")
                       .Register(*metrics::Registry())
                       .Add({})),
      pool_reused_(prometheus::BuildCounter()
                       .Name("byok_relay_upstream_connections_reused_total")
                       .Help("Requests sent on an idle keep-alive connection from the pool")
                       .Register(*metrics::Registry())
                       .Add({})),
      pool_idle_(prometheus::BuildGauge()
                     .Name("byok_relay_upstream_idle_connections")
                     .Help("Idle keep-alive connections to providers held in the pools")
                     .Register(*metrics::Registry())
                     .Add({})) {}

void RelayMetrics::Upstream(const std::string& provider, int status, int64_t bytes) {
  upstream_.Add({{"provider", provider}, {"status", status == 0 ? "0" : metrics::StatusLabel(status)}})
      .Increment();
  if (bytes > 0) bytes_.Add({{"provider", provider}}).Increment(static_cast<double>(bytes));
}

void RelayMetrics::FirstByte(const std::string& provider, absl::Duration elapsed) {
  first_byte_.Add({{"provider", provider}}, metrics::DurationBuckets()).Observe(absl::ToDoubleSeconds(elapsed));
}

void RelayMetrics::Stream(const std::string& provider, absl::Duration elapsed) {
  stream_.Add({{"provider", provider}}, metrics::DurationBuckets()).Observe(absl::ToDoubleSeconds(elapsed));
}

void RelayMetrics::Cancelled(const std::string& provider) {
  cancelled_.Add({{"provider", provider}}).Increment();
}

}  // namespace byok::relay
