// Reads Prometheus text exposition, for tests that scrape /metrics: the value of one sample picked by
// name and labels.
#ifndef BYOK_TESTS_E2E_METRICS_SCRAPE_H_
#define BYOK_TESTS_E2E_METRICS_SCRAPE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace byok::testing {

using MetricLabels = std::map<std::string, std::string>;

// The sum of the samples called `name` whose labels include every one of `labels` (0 when none).
double SampleValue(const std::string& exposition, const std::string& name, const MetricLabels& labels = {});

// GET /metrics on 127.0.0.1:`port`; the body when the status is 200.
absl::StatusOr<std::string> Scrape(int port);

}  // namespace byok::testing

#endif  // BYOK_TESTS_E2E_METRICS_SCRAPE_H_
