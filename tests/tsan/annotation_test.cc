// TSan build only: the Abseil annotations (absl_sync_annotations.cc) make our use of absl::Mutex and
// absl::Notification visible. Without them, Debian's uninstrumented Abseil hides the ordering and TSan
// reports these correctly synchronised accesses as races (the test then fails: halt_on_error).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace byok {
namespace {

TEST(TsanAnnotationTest, AMutexGuardedCounterIsNotARace) {
  absl::Mutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(counter, 4000);
}

TEST(TsanAnnotationTest, WhatPrecedesNotifyIsSeenAfterTheWait) {
  absl::Notification ready;
  int value = 0;
  std::thread writer([&] {
    value = 42;
    ready.Notify();
  });
  ready.WaitForNotification();
  EXPECT_EQ(value, 42);
  writer.join();
}

TEST(TsanAnnotationTest, AwaitSeesWhatTheSignallingThreadWrote) {
  absl::Mutex mu;
  bool done = false;
  int value = 0;
  std::thread writer([&] {
    value = 7;
    absl::MutexLock lock(&mu);
    done = true;
  });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&done));
  }
  EXPECT_EQ(value, 7);
  writer.join();
}

}  // namespace
}  // namespace byok
