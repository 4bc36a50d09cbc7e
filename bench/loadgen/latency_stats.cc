#include "bench/loadgen/latency_stats.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace byok::bench {

std::int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double LatencySamples::PercentileUs(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  auto index = static_cast<std::size_t>(std::floor(q * static_cast<double>(samples_.size())));
  index = std::min(index, samples_.size() - 1);
  return static_cast<double>(samples_[index]) / 1000.0;
}

void ResultLine::Add(const std::string& key, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  std::string text = buf;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  Add(key, text);
}

void ResultLine::Add(const std::string& key, const std::string& value) {
  if (!line_.empty()) line_ += ' ';
  line_ += key + "=" + value;
}

void ResultLine::AddPercentiles(const std::string& key, LatencySamples& samples) {
  Add(key + "_p50", samples.PercentileUs(0.50));
  Add(key + "_p90", samples.PercentileUs(0.90));
  Add(key + "_p99", samples.PercentileUs(0.99));
}

long ReadRssKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace byok::bench
