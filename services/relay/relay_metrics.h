// The relay's Prometheus metrics: upstream requests by provider and status, time to first byte and
// stream duration, bytes relayed, cancellations, and the upstream connection pools (connections
// opened, reused, idle). Labels are the provider name (the relay's fixed list) and the status code:
// bounded; the pool metrics have none (a pool key holds a host name).
#ifndef BYOK_SERVICES_RELAY_RELAY_METRICS_H_
#define BYOK_SERVICES_RELAY_RELAY_METRICS_H_

#include <cstdint>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "absl/time/time.h"
#include "services/relay/upstream/connection_pool.h"

namespace byok::relay {

// Also the upstream pools' observer: Get() installs it (upstream::SetPoolObserver) when metrics are on.
class RelayMetrics final : public upstream::PoolObserver {
 public:
  // The process's relay metrics, or null when metrics are off (metrics.h).
  static RelayMetrics* Get();

  // One forwarded request has ended: `status` is the provider's HTTP status, or 0 when there was no
  // response (unreachable, timed out, broken off).
  void Upstream(const std::string& provider, int status, int64_t bytes);
  // The provider's response head arrived `elapsed` after the request was sent.
  void FirstByte(const std::string& provider, absl::Duration elapsed);
  // A streamed (SSE) response lasted `elapsed` from its head to its end.
  void Stream(const std::string& provider, absl::Duration elapsed);
  // The client left before the response ended.
  void Cancelled(const std::string& provider);

  // upstream::PoolObserver, summed over the I/O threads' pools.
  void ConnectionOpened() override { pool_opened_.Increment(); }
  void ConnectionReused() override { pool_reused_.Increment(); }
  void IdleChanged(int delta) override { pool_idle_.Increment(delta); }

 private:
  RelayMetrics();

  prometheus::Family<prometheus::Counter>& upstream_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Histogram>& first_byte_;
  prometheus::Family<prometheus::Histogram>& stream_;
  prometheus::Family<prometheus::Counter>& cancelled_;
  prometheus::Counter& pool_opened_;
  prometheus::Counter& pool_reused_;
  prometheus::Gauge& pool_idle_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_METRICS_H_
