#include "common/usable_cores.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace byok {
namespace {

// quota / period, rounded up; nullopt unless both are positive.
std::optional<int> Quotient(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<int>(std::max<int64_t>(1, (quota + period - 1) / period));
}

// The whole of a small file, or nullopt when it cannot be read.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lowest limit of cgroup v2 along the process's cgroup path (a parent's limit binds its children).
std::optional<int> CgroupV2Cores() {
  std::optional<std::string> self = ReadSmallFile("/proc/self/cgroup");
  std::string path;
  if (self.has_value()) {
    for (absl::string_view line : absl::StrSplit(*self, '\n')) {
      if (absl::ConsumePrefix(&line, "0::")) path = std::string(line);
    }
  }
  std::optional<int> lowest;
  for (;;) {
    if (std::optional<std::string> max = ReadSmallFile("/sys/fs/cgroup" + path + "/cpu.max")) {
      std::optional<int> cores = CoresFromCpuMax(*max);
      if (cores.has_value()) lowest = std::min(lowest.value_or(*cores), *cores);
    }
    if (path.empty() || path == "/") break;
    path.erase(path.rfind('/'));
  }
  return lowest;
}

std::optional<int> CgroupV1Cores() {
  for (const char* dir : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
    std::optional<std::string> quota = ReadSmallFile(std::string(dir) + "/cpu.cfs_quota_us");
    std::optional<std::string> period = ReadSmallFile(std::string(dir) + "/cpu.cfs_period_us");
    if (quota.has_value() && period.has_value()) return CoresFromCfsQuota(*quota, *period);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> CoresFromCpuMax(absl::string_view cpu_max) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  int64_t quota = 0, period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) || !absl::SimpleAtoi(fields[1], &period)) {
    return std::nullopt;  // "max …" (no limit), or not a quota
  }
  return Quotient(quota, period);
}

std::optional<int> CoresFromCfsQuota(absl::string_view quota_us, absl::string_view period_us) {
  int64_t quota = 0, period = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(quota_us), &quota) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(period_us), &period)) {
    return std::nullopt;
  }
  return Quotient(quota, period);
}

int UsableCores() {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) cores = CPU_COUNT(&allowed);
  std::optional<int> quota = CgroupV2Cores();
  if (!quota.has_value()) quota = CgroupV1Cores();
  if (quota.has_value()) cores = std::min(cores, *quota);
  return std::max(1, cores);
}

}  // namespace byok
