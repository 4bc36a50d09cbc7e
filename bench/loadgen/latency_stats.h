// Percentiles of latency samples, and the key=value output line of the load generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace byok::bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC), the same clock as the fake provider's records.
std::int64_t NowNs();

// Collects samples in nanoseconds and answers percentiles. Not thread-safe.
class LatencySamples {
 public:
  void Add(std::int64_t ns) { samples_.push_back(ns); }
  std::size_t size() const { return samples_.size(); }
  // Returns the q-quantile (0..1) in microseconds, 0 when empty. Sorts on first use after Add.
  double PercentileUs(double q);

 private:
  std::vector<std::int64_t> samples_;
  bool sorted_ = false;
};

// Accumulates `key=value` pairs for the one output line.
class ResultLine {
 public:
  void Add(const std::string& key, double value);
  void Add(const std::string& key, const std::string& value);
  // Adds key_p50, key_p90, key_p99 (microseconds).
  void AddPercentiles(const std::string& key, LatencySamples& samples);
  const std::string& str() const { return line_; }

 private:
  std::string line_;
};

// Returns VmRSS of `pid` in KiB, or -1 when it cannot be read.
long ReadRssKiB(int pid);

}  // namespace byok::bench
