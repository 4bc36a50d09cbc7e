// The three load-generator modes. Each runs to completion (bounded in time) and returns its result
// line of key=value pairs.
#pragma once

#include <string>

#include "bench/loadgen/options.h"

namespace byok::bench {

// Closed loop: `connections` keep-alive connections, each sending the next request as soon as the
// previous response is complete, for warmup + duration seconds. Reports requests/s, latency and
// time-to-first-byte percentiles of the measured window.
std::string RunClosedLoop(const LoadOptions& options);

// Opens `connections` slow streams, at most `connect_concurrency` still waiting for their first byte
// at once, samples the RSS of the given processes before and while all are open, and waits for every
// stream to finish. Reports successes, failures, peak open streams, TTFB percentiles and RSS.
std::string RunHoldStreams(const LoadOptions& options);

// Opens `count` streams one after the other, leaves each after `after_events` events, and asks the
// fake provider (on `control_port`) when it saw its connection close. Reports close delays.
std::string RunCancelStreams(const LoadOptions& options);

}  // namespace byok::bench
