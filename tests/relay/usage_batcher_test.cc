// UsageBatcher: records go out in batches by size and by age, a waited-for record at once or soon, a
// batch the vault could not take is sent again, a refused one is dropped and counted, the queue is
// bounded, and Drain sends the rest.
#include "services/relay/usage_batcher.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace byok::relay {
namespace {

namespace v1 = vault::v1;

v1::RecordUsageRequest Record(int n) {
  v1::RecordUsageRequest r;
  r.set_user_id("u" + std::to_string(n));
  r.set_provider("openai");
  return r;
}

// Stands in for the vault call: keeps every batch it is given and answers with `answers` in turn
// (OK once they run out). With `hold`, answers only when Release() is called, from another thread.
class FakeSender {
 public:
  explicit FakeSender(std::vector<absl::Status> answers = {}, bool hold = false)
      : answers_(std::move(answers)), hold_(hold) {}
  ~FakeSender() {
    for (std::thread& t : threads_) t.join();
  }

  UsageBatcher::SendFn Fn() {
    return [this](v1::RecordUsageBatchRequest batch, UsageBatcher::Done done) {
      absl::Status status;
      {
        absl::MutexLock lock(&mu_);
        batches_.push_back(batch);
        senders_.push_back(std::this_thread::get_id());
        if (next_ < answers_.size()) status = answers_[next_++];
        if (hold_) {
          held_ = [batch, status, done = std::move(done)]() mutable { done(std::move(batch), status); };
          return;
        }
      }
      done(std::move(batch), status);
    };
  }

  // Answers the held batch from another thread after `delay`.
  void Release(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    threads_.emplace_back([held = std::move(held_), delay]() mutable {
      absl::SleepFor(delay);
      held();
    });
  }

  // Waits until `n` batches were sent (or 10 s passed); returns how many were.
  size_t WaitForBatches(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return batches_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return batches_.size();
  }

  std::vector<v1::RecordUsageBatchRequest> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  // The thread each batch was sent from.
  std::vector<std::thread::id> senders() {
    absl::MutexLock lock(&mu_);
    return senders_;
  }

  // The threads Release() answers from.
  std::vector<std::thread::id> releasers() {
    absl::MutexLock lock(&mu_);
    std::vector<std::thread::id> ids;
    for (const std::thread& t : threads_) ids.push_back(t.get_id());
    return ids;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::RecordUsageBatchRequest> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> senders_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> answers_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  const bool hold_;
  std::function<void()> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

UsageBatcherOptions Options(absl::Duration interval, int max_batch = 500, int max_pending = 1000) {
  UsageBatcherOptions o;
  o.flush_interval = interval;
  o.max_batch = max_batch;
  o.max_pending = max_pending;
  return o;
}

// Only a record due soon, a record due at once or Drain can send: the interval is never reached.
UsageBatcherOptions SoonOptions(absl::Duration soon) {
  UsageBatcherOptions o = Options(absl::Hours(1));
  o.soon = soon;
  return o;
}

std::vector<std::string> UserIds(const v1::RecordUsageBatchRequest& batch) {
  std::vector<std::string> ids;
  for (const v1::RecordUsageRequest& r : batch.records()) ids.push_back(r.user_id());
  return ids;
}

TEST(UsageBatcherTest, RecordsWaitForTheIntervalThenGoTogether) {
  FakeSender sender;
  UsageBatcher batcher(sender.Fn(), Options(absl::Milliseconds(50)));
  for (int i = 0; i < 3; ++i) batcher.Add(Record(i));
  ASSERT_EQ(sender.WaitForBatches(1), 1u);
  EXPECT_EQ(UserIds(sender.batches()[0]), (std::vector<std::string>{"u0", "u1", "u2"}));
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(sender.batches().size(), 1u);
  EXPECT_EQ(batcher.dropped(), 0);
}

TEST(UsageBatcherTest, AFullBatchGoesAtOnceAndDrainSendsTheRest) {
  FakeSender sender;
  // An interval no test waits for: only size and Drain can send.
  UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1), /*max_batch=*/4));
  for (int i = 0; i < 10; ++i) batcher.Add(Record(i));
  ASSERT_EQ(sender.WaitForBatches(2), 2u);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(sender.batches().size(), 2u) << "a partial batch went before its time";
  batcher.Drain(absl::Seconds(5));
  std::vector<v1::RecordUsageBatchRequest> batches = sender.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].records_size(), 4);
  EXPECT_EQ(batches[1].records_size(), 4);
  EXPECT_EQ(UserIds(batches[2]), (std::vector<std::string>{"u8", "u9"}));
  batcher.Add(Record(99));  // after Drain: dropped, counted
  EXPECT_EQ(batcher.dropped(), 1);
}

// A request that waits for its record (so that a later GET /stats counts it) does not wait for the
// interval: its record goes at once, with what queued before it, and the waiter runs once the vault has
// answered, whatever the answer.
TEST(UsageBatcherTest, AWaitedRecordGoesAtOnceAndItsWaiterRunsAfterTheAnswer) {
  FakeSender sender({absl::OkStatus(), absl::UnavailableError("vault down")}, /*hold=*/true);
  UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1)));
  absl::Notification first_settled;
  batcher.Add(Record(0));
  batcher.Add(Record(1), [&] { first_settled.Notify(); });
  ASSERT_EQ(sender.WaitForBatches(1), 1u);
  EXPECT_EQ(UserIds(sender.batches()[0]), (std::vector<std::string>{"u0", "u1"}));
  EXPECT_FALSE(first_settled.WaitForNotificationWithTimeout(absl::Milliseconds(50)))
      << "the waiter ran before the vault answered";
  sender.Release(absl::ZeroDuration());
  EXPECT_TRUE(first_settled.WaitForNotificationWithTimeout(absl::Seconds(5)));

  // A failed call releases its waiters too (the record is retried in the background).
  absl::Notification second_settled;
  batcher.Add(Record(2), [&] { second_settled.Notify(); });
  ASSERT_EQ(sender.WaitForBatches(2), 2u);
  sender.Release(absl::ZeroDuration());
  EXPECT_TRUE(second_settled.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // Drain with nothing answering: a queued waiter is released, never left hanging.
  absl::Notification dropped_settled;
  batcher.Drain(absl::ZeroDuration());
  batcher.Add(Record(3), [&] { dropped_settled.Notify(); });
  EXPECT_TRUE(dropped_settled.HasBeenNotified());
}

// No hop through the batcher's thread for a waited-for record: with nothing in flight it is sent
// from the caller's thread; records whose requests wait while a batch is in flight go together, sent
// from the thread that gets that batch's answer.
TEST(UsageBatcherTest, AWaitedRecordIsSentFromTheCallersThreadOrTheAnswersThread) {
  FakeSender sender({}, /*hold=*/true);
  UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1)));
  absl::Notification first, second, third;
  batcher.Add(Record(0), [&] { first.Notify(); });
  ASSERT_EQ(sender.batches().size(), 1u) << "not sent before Add returned";
  EXPECT_EQ(sender.senders()[0], std::this_thread::get_id());
  batcher.Add(Record(1), [&] { second.Notify(); });
  batcher.Add(Record(2), [&] { third.Notify(); });
  EXPECT_EQ(sender.batches().size(), 1u) << "a second batch went while one was in flight";
  sender.Release(absl::ZeroDuration());
  ASSERT_EQ(sender.WaitForBatches(2), 2u);
  EXPECT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(UserIds(sender.batches()[1]), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(sender.senders()[1], sender.releasers()[0]);
  EXPECT_FALSE(second.HasBeenNotified()) << "released before its batch was answered";
  sender.Release(absl::ZeroDuration());
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(5)));
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(batcher.dropped(), 0);
}

// A record whose response has already ended (only a later read of the statistics waits for it) waits
// up to `soon` for the records that end after it, then they go as one batch, long before the interval;
// its waiter runs once the vault answered.
TEST(UsageBatcherTest, ARecordDueSoonWaitsForOthersThenTheyGoTogether) {
  FakeSender sender;
  UsageBatcher batcher(sender.Fn(), SoonOptions(absl::Milliseconds(300)));
  absl::Notification first, second, third;
  const absl::Time start = absl::Now();
  batcher.Add(Record(0), [&] { first.Notify(); }, UsageBatcher::Due::kSoon);
  batcher.Add(Record(1), [&] { second.Notify(); }, UsageBatcher::Due::kSoon);
  batcher.Add(Record(2));
  batcher.Add(Record(3), [&] { third.Notify(); }, UsageBatcher::Due::kSoon);
  EXPECT_TRUE(sender.batches().empty()) << "a record due soon went at once";
  ASSERT_EQ(sender.WaitForBatches(1), 1u);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250)) << "sent before its time";
  EXPECT_LT(took, absl::Seconds(10));
  EXPECT_EQ(UserIds(sender.batches()[0]), (std::vector<std::string>{"u0", "u1", "u2", "u3"}));
  EXPECT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(5)));
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(sender.batches().size(), 1u);
  EXPECT_EQ(batcher.dropped(), 0);
}

// A record whose request waits for it goes at once, and takes the records due soon along.
TEST(UsageBatcherTest, ARecordDueAtOnceTakesTheOnesDueSoonAlong) {
  FakeSender sender;
  UsageBatcher batcher(sender.Fn(), SoonOptions(absl::Hours(1)));
  absl::Notification soon, at_once;
  batcher.Add(Record(0), [&] { soon.Notify(); }, UsageBatcher::Due::kSoon);
  EXPECT_FALSE(soon.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_TRUE(sender.batches().empty());
  batcher.Add(Record(1), [&] { at_once.Notify(); });
  ASSERT_EQ(sender.batches().size(), 1u) << "not sent before Add returned";
  EXPECT_EQ(UserIds(sender.batches()[0]), (std::vector<std::string>{"u0", "u1"}));
  EXPECT_TRUE(soon.HasBeenNotified());
  EXPECT_TRUE(at_once.HasBeenNotified());
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(batcher.dropped(), 0);
}

TEST(UsageBatcherTest, ABatchTheVaultCouldNotTakeIsSentAgain) {
  FakeSender sender({absl::UnavailableError("vault down")});
  UsageBatcher batcher(sender.Fn(), Options(absl::Milliseconds(20)));
  batcher.Add(Record(1));
  batcher.Add(Record(2));
  ASSERT_EQ(sender.WaitForBatches(2), 2u);
  std::vector<v1::RecordUsageBatchRequest> batches = sender.batches();
  EXPECT_EQ(UserIds(batches[1]), (std::vector<std::string>{"u1", "u2"}));
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(batcher.dropped(), 0);
}

TEST(UsageBatcherTest, ARefusedBatchIsDroppedAndCounted) {
  FakeSender sender({absl::InvalidArgumentError("records[0]: bad")});
  UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1)));
  batcher.Add(Record(1));
  batcher.Add(Record(2));
  batcher.Drain(absl::Seconds(5));
  EXPECT_EQ(sender.batches().size(), 1u);
  EXPECT_EQ(batcher.dropped(), 2);
}

TEST(UsageBatcherTest, TheQueueIsBounded) {
  FakeSender sender;
  UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1), 500, /*max_pending=*/3));
  for (int i = 0; i < 5; ++i) batcher.Add(Record(i));
  EXPECT_EQ(batcher.dropped(), 2);
  batcher.Drain(absl::Seconds(5));
  ASSERT_EQ(sender.batches().size(), 1u);
  EXPECT_EQ(UserIds(sender.batches()[0]), (std::vector<std::string>{"u0", "u1", "u2"}));
}

TEST(UsageBatcherTest, DrainWaitsForTheBatchInFlight) {
  FakeSender sender({}, /*hold=*/true);
  auto batcher = std::make_unique<UsageBatcher>(sender.Fn(), Options(absl::Hours(1)));
  batcher->Add(Record(1));
  std::thread release([&] {
    ASSERT_EQ(sender.WaitForBatches(1), 1u);
    sender.Release(absl::Milliseconds(100));
  });
  const absl::Time start = absl::Now();
  batcher->Drain(absl::Seconds(5));
  release.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(batcher->dropped(), 0);
  batcher.reset();  // nothing of the batcher is touched after its batch was answered
}

TEST(UsageBatcherTest, DestroyingWithoutDrainDropsWhatIsQueued) {
  FakeSender sender;
  int64_t dropped = 0;
  {
    UsageBatcher batcher(sender.Fn(), Options(absl::Hours(1)));
    batcher.Add(Record(1));
    batcher.Drain(absl::ZeroDuration());
    dropped = batcher.dropped();
  }
  EXPECT_EQ(dropped, 1);
  EXPECT_TRUE(sender.batches().empty());
}

}  // namespace
}  // namespace byok::relay
