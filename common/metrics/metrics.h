// The process's Prometheus metrics: one registry, served on its own listener (BYOK_METRICS_ADDR,
// host:port), never on a browser-facing port. Off unless started: every service asks Registry() once
// when it starts and keeps no metrics (and pays nothing) when it is null. In the one-process byok-relay
// the three services share the registry, so one listener serves all their metrics.
#ifndef BYOK_COMMON_METRICS_METRICS_H_
#define BYOK_COMMON_METRICS_METRICS_H_

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/env.h"

namespace byok::metrics {

// The environment variable naming the metrics listener.
inline constexpr char kMetricsAddrEnv[] = "BYOK_METRICS_ADDR";

// Starts the registry and the listener on `address` ("host:port", "[v6]:port"; port 0 picks one).
// Once per process, before the services start; InvalidArgument for a malformed address, Unavailable
// when it cannot be bound.
absl::Status Start(const std::string& address);

// Start(BYOK_METRICS_ADDR) when the variable is set and not empty; OK (metrics off) otherwise.
absl::Status StartFromEnv(const Env& env);

// What every daemon's main does once, before its services start: LOG_FORMAT (text or json) and
// StartFromEnv. InvalidArgument for a bad value (a configuration error), Unavailable when the metrics
// address cannot be bound.
absl::Status InitObservability(const Env& env);

// The registry, or null when metrics are off.
prometheus::Registry* Registry();

// The listener's bound port, or 0 when metrics are off.
int Port();

// A gauge read when /metrics is scraped (a count from the store), so nothing keeps it current. `read`
// runs on the listener's thread and must be cheap and thread-safe; a negative value leaves the gauge
// out of that scrape. The gauge is removed when the returned handle is destroyed (so `read` may use
// what the handle's owner owns). Null, and nothing is done, when metrics are off.
class ScrapedGauge {
 public:
  virtual ~ScrapedGauge() = default;
};
std::unique_ptr<ScrapedGauge> AddScrapedGauge(const std::string& name, const std::string& help,
                                              std::function<double()> read);

// Histogram buckets for request and stream durations, in seconds: 5 ms to 5 min.
const prometheus::Histogram::BucketBoundaries& DurationBuckets();

// An HTTP status code as a bounded label: the three digits for 100..599, "other" otherwise.
std::string StatusLabel(int status);

}  // namespace byok::metrics

#endif  // BYOK_COMMON_METRICS_METRICS_H_
