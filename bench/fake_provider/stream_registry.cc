#include "bench/fake_provider/stream_registry.h"

#include <time.h>

namespace byok::bench {

std::int64_t MonotonicNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void StreamRegistry::Start(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (records_.size() >= kMaxRecords) records_.clear();  // a benchmark only asks about recent streams
  StreamRecord& record = records_[id];
  record = StreamRecord{StreamState::kRunning, 0, MonotonicNowNs(), 0};
}

void StreamRegistry::Finish(const std::string& id, StreamState state, int events_sent) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return;
  it->second.state = state;
  it->second.events_sent = events_sent;
  it->second.end_ns = MonotonicNowNs();
}

StreamRecord StreamRegistry::Get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  return it == records_.end() ? StreamRecord{} : it->second;
}

}  // namespace byok::bench
