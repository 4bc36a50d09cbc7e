// Pins the calling thread to one of the CPUs it may run on (as `taskset -c N` or a cpuset would) for
// as long as the object lives, then gives back what it had: for tests of what counts usable cores.
#ifndef BYOK_TESTS_TESTING_ONE_CPU_H_
#define BYOK_TESTS_TESTING_ONE_CPU_H_

#include <sched.h>

namespace byok::testing {

class PinnedToOneCpu {
 public:
  PinnedToOneCpu() {
    if (sched_getaffinity(0, sizeof(before_), &before_) != 0 || CPU_COUNT(&before_) == 0) return;
    int first = 0;
    while (!CPU_ISSET(first, &before_)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    pinned_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~PinnedToOneCpu() {
    if (pinned_) sched_setaffinity(0, sizeof(before_), &before_);
  }
  PinnedToOneCpu(const PinnedToOneCpu&) = delete;
  PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;

  // Whether the thread is pinned (false: the affinity could not be read or set).
  bool pinned() const { return pinned_; }

 private:
  cpu_set_t before_{};
  bool pinned_ = false;
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_ONE_CPU_H_
