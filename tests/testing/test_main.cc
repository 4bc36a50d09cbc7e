// The main of every GoogleTest executable here. A test process ends as soon as its tests have: the
// leak check first (in a sanitizer build), then _Exit, without running static destructors.
//
// Why: gRPC 1.51 (Debian 12) tears its global state down at exit from static destructors and from its
// event engine's destructor on one of its own threads, while its callback-queue threads still run.
// Under ASan that race showed as a double free inside gRPC (grpc_cq_internal_unref on a nexting
// thread) whose report deadlocked with LeakSanitizer's end-of-process check: a test that had passed
// hung until CTest's timeout. Every fixture has been torn down by the time RUN_ALL_TESTS returns, so
// skipping the exit-time teardown skips only gRPC's and the C++ runtime's.
#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/testing/sanitizers.h"

#if BYOK_ASAN
#include <sanitizer/lsan_interface.h>
#endif

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  std::fflush(nullptr);
#if BYOK_ASAN
  // As at a normal exit: a leak ends the process with LeakSanitizer's exit code.
  __lsan_do_leak_check();
#endif
  std::_Exit(result);
}
