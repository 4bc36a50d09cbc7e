// The usage fence holds a read of the statistics until the records pending when it asked are stored,
// never for records that became pending after it (a busy gateway would hold it forever).
#include "services/gateway/backends/usage_fence.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace byok::gateway {
namespace {

TEST(UsageFenceTest, AReadWithNothingPendingGoesAtOnce) {
  UsageFence fence;
  int ran = 0;
  fence.AfterPending([&] { ++ran; });
  EXPECT_EQ(ran, 1);
  const uint64_t t = fence.Pending();
  fence.Stored(t);
  fence.AfterPending([&] { ++ran; });
  EXPECT_EQ(ran, 2);
}

TEST(UsageFenceTest, AReadWaitsForEveryRecordPendingWhenItAskedAndNoLaterOne) {
  UsageFence fence;
  const uint64_t t1 = fence.Pending();
  const uint64_t t2 = fence.Pending();
  int first = 0;
  fence.AfterPending([&] { ++first; });
  const uint64_t t3 = fence.Pending();  // after the read asked: not waited for
  int second = 0;
  fence.AfterPending([&] { ++second; });

  fence.Stored(t2);
  EXPECT_EQ(first, 0) << "released while an earlier record was pending";
  fence.Stored(t1);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0) << "released while a record pending when it asked was not stored";
  EXPECT_EQ(fence.pending(), 1u);

  fence.Stored(t3);
  EXPECT_EQ(second, 1);
  fence.Stored(t3);  // a second word for the same record changes nothing
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(fence.pending(), 0u);
}

TEST(UsageFenceTest, ReadsAreReleasedOnceEachFromManyThreads) {
  UsageFence fence;
  constexpr int kThreads = 4;
  constexpr int kRecords = 2000;
  std::atomic<int> released{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < kRecords; ++n) {
        const uint64_t t = fence.Pending();
        fence.AfterPending([&] { released.fetch_add(1); });
        fence.Stored(t);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(released.load(), kThreads * kRecords);
  EXPECT_EQ(fence.pending(), 0u);
}

}  // namespace
}  // namespace byok::gateway
