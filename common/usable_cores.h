// How many cores this process may use, for thread-count defaults: a container with a CPU limit on a
// large host must not start a thread per host core (std::thread::hardware_concurrency counts those).
#ifndef BYOK_COMMON_USABLE_CORES_H_
#define BYOK_COMMON_USABLE_CORES_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace byok {

// The CPUs the calling thread's affinity allows, lowered to the CPU quota of the process's cgroup
// and its parents (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us), rounded up; at least 1.
int UsableCores();

// The cores a cgroup v2 cpu.max line allows ("150000 100000" → 2, rounded up); nullopt for "max"
// (no limit) or a line that does not parse.
std::optional<int> CoresFromCpuMax(absl::string_view cpu_max);

// The same from cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us (a quota of -1: no limit).
std::optional<int> CoresFromCfsQuota(absl::string_view quota_us, absl::string_view period_us);

}  // namespace byok

#endif  // BYOK_COMMON_USABLE_CORES_H_
