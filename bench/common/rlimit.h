// Raises the open-file limit: the benchmark holds tens of thousands of sockets in one process.
#pragma once

#include <sys/resource.h>

namespace byok::bench {

// Raises RLIMIT_NOFILE's soft limit to its hard limit. Returns the soft limit now in force.
inline rlim_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace byok::bench
