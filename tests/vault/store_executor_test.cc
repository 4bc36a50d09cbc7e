// StoreExecutor: work runs on its own threads, in order; the queue is bounded; a task whose deadline
// passed while queued is told so instead of running; shutdown runs or refuses what is queued in
// bounded time.
#include "services/vault/store_executor.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

StoreExecutorOptions Options(int threads, int max_queued) {
  StoreExecutorOptions o;
  o.threads = threads;
  o.max_queued = max_queued;
  return o;
}

// Holds the executor's only worker until Release().
class Blocker {
 public:
  explicit Blocker(StoreExecutor& executor) {
    EXPECT_THAT(executor.Submit(absl::InfiniteFuture(),
                                [this](absl::Status) {
                                  running_.Notify();
                                  release_.WaitForNotification();
                                }),
                IsOk());
    running_.WaitForNotification();
  }
  ~Blocker() { Release(); }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  absl::Notification running_, release_;
};

// What each task was admitted with, in the order they ran.
class Outcomes {
 public:
  StoreExecutor::Task Task(int id) {
    return [this, id](absl::Status admitted) {
      absl::MutexLock lock(&mu_);
      ran_.push_back(id);
      codes_.push_back(admitted.code());
      on_worker_.push_back(StoreExecutor::OnWorkerThread());
      threads_.push_back(std::this_thread::get_id());
    };
  }
  // Waits until `n` tasks ran (10 s at most).
  size_t WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return ran_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return ran_.size();
  }
  std::vector<int> ran() { absl::MutexLock l(&mu_); return ran_; }
  std::vector<absl::StatusCode> codes() { absl::MutexLock l(&mu_); return codes_; }
  std::vector<bool> on_worker() { absl::MutexLock l(&mu_); return on_worker_; }
  std::vector<std::thread::id> threads() { absl::MutexLock l(&mu_); return threads_; }

 private:
  absl::Mutex mu_;
  std::vector<int> ran_;
  std::vector<absl::StatusCode> codes_;
  std::vector<bool> on_worker_;
  std::vector<std::thread::id> threads_;
};

TEST(StoreExecutorTest, RunsWorkOnItsOwnThreadInArrivalOrder) {
  StoreExecutor executor(Options(1, 16));
  Outcomes outcomes;
  for (int i = 0; i < 5; ++i) ASSERT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(i)), IsOk());
  ASSERT_EQ(outcomes.WaitFor(5), 5u);
  EXPECT_EQ(outcomes.ran(), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_THAT(outcomes.codes(), ::testing::Each(absl::StatusCode::kOk));
  EXPECT_THAT(outcomes.on_worker(), ::testing::Each(true));
  EXPECT_THAT(outcomes.threads(), ::testing::Each(::testing::Ne(std::this_thread::get_id())));
  EXPECT_FALSE(StoreExecutor::OnWorkerThread());
}

TEST(StoreExecutorTest, RefusesWorkWhenTheQueueIsFull) {
  StoreExecutor executor(Options(1, 2));
  Outcomes outcomes;
  Blocker blocker(executor);
  EXPECT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(1)), IsOk());
  EXPECT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(2)), IsOk());
  EXPECT_EQ(executor.queued(), 2);
  EXPECT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(3)),
              StatusIs(absl::StatusCode::kUnavailable));
  blocker.Release();
  ASSERT_EQ(outcomes.WaitFor(2), 2u);
  EXPECT_EQ(outcomes.ran(), (std::vector<int>{1, 2}));  // the refused task never runs
  EXPECT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(4)), IsOk());  // room again
  ASSERT_EQ(outcomes.WaitFor(3), 3u);
}

TEST(StoreExecutorTest, WorkWhoseDeadlinePassedWhileQueuedIsToldInsteadOfRun) {
  StoreExecutor executor(Options(1, 16));
  Outcomes outcomes;
  Blocker blocker(executor);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(30);
  ASSERT_THAT(executor.Submit(deadline, outcomes.Task(1)), IsOk());
  ASSERT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(2)), IsOk());
  absl::SleepFor(deadline - absl::Now() + absl::Milliseconds(5));  // the deadline passes in the queue
  blocker.Release();
  ASSERT_EQ(outcomes.WaitFor(2), 2u);
  EXPECT_EQ(outcomes.codes(),
            (std::vector<absl::StatusCode>{absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kOk}));
}

TEST(StoreExecutorTest, ShutdownRunsQueuedWorkWithinItsTimeThenRefusesNewWork) {
  StoreExecutor executor(Options(2, 64));
  Outcomes outcomes;
  for (int i = 0; i < 20; ++i) ASSERT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(i)), IsOk());
  executor.Shutdown(absl::Seconds(10));
  EXPECT_EQ(outcomes.ran().size(), 20u);
  EXPECT_THAT(outcomes.codes(), ::testing::Each(absl::StatusCode::kOk));
  EXPECT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(99)),
              StatusIs(absl::StatusCode::kUnavailable));
  executor.Shutdown(absl::Seconds(10));  // idempotent
}

// Work still queued when the shutdown's time is up is answered UNAVAILABLE without running: the
// shutdown takes the running task's time, not the queue's.
TEST(StoreExecutorTest, ShutdownPastItsTimeRefusesWhatIsStillQueued) {
  StoreExecutor executor(Options(1, 64));
  Outcomes outcomes;
  Blocker blocker(executor);
  for (int i = 0; i < 10; ++i) ASSERT_THAT(executor.Submit(absl::InfiniteFuture(), outcomes.Task(i)), IsOk());
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(100));
    blocker.Release();
  });
  const absl::Time start = absl::Now();
  executor.Shutdown(absl::Milliseconds(20));
  const absl::Duration took = absl::Now() - start;
  release.join();
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(outcomes.ran().size(), 10u);  // each answered exactly once
  EXPECT_THAT(outcomes.codes(), ::testing::Each(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace byok::vault
