#include "bench/loadgen/counting_body.h"

#include "bench/loadgen/latency_stats.h"

namespace byok::bench {

void BodyCounts::Feed(const char* data, std::size_t size) {
  if (size == 0) return;
  if (first_ns == 0) first_ns = NowNs();
  bytes += size;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\n' && last == '\n') ++events;
    last = data[i];
  }
}

}  // namespace byok::bench
