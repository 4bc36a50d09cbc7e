// Records what happened to each tracked stream, so a benchmark can ask when its connection closed.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace byok::bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC), comparable between processes on one machine.
std::int64_t MonotonicNowNs();

// How a tracked stream ended, as the fake provider saw it.
enum class StreamState { kUnknown, kRunning, kCompleted, kAborted };

// One tracked stream.
struct StreamRecord {
  StreamState state = StreamState::kUnknown;
  int events_sent = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;  // when the last event was written, or when the client's close was seen
};

// Thread-safe table of tracked streams, bounded in size (the oldest half is dropped when full).
class StreamRegistry {
 public:
  // Marks stream `id` as running from now.
  void Start(const std::string& id);
  // Marks stream `id` as finished: completed (all events written) or aborted (the peer closed first).
  void Finish(const std::string& id, StreamState state, int events_sent);
  // Returns the record of `id` (state kUnknown when never seen).
  StreamRecord Get(const std::string& id) const;

 private:
  static constexpr std::size_t kMaxRecords = 100000;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, StreamRecord> records_;
};

}  // namespace byok::bench
