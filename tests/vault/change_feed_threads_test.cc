// ChangeFeed under concurrent use, as the vault uses it: key events published from request threads,
// WatchKeyChanges streams subscribing, reading and leaving, and the feed going not live and live again
// (PostgreSQL's LISTEN connection). Its assertions hold on any interleaving; its real job is to give
// ThreadSanitizer (scripts/tsan.sh) every pair of the feed's entry points running at once.
#include "services/vault/change_feed.h"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace byok::vault {
namespace {

using Change = v1::WatchKeyChangesResponse;

TEST(ChangeFeedThreadsTest, PublishersSubscribersAndLivenessTogether) {
  ChangeFeed feed(8);
  std::atomic<bool> stop{false};
  std::atomic<int> not_subscribed_first{0};
  std::atomic<int> woken_after_unsubscribe{0};
  std::atomic<int> subscriptions{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        KeyEvent event;
        event.action = n % 5 == 0 ? v1::AuditEvent::ACTION_TOKEN_REVOKED : v1::AuditEvent::ACTION_KEY_STORED;
        event.user_id = absl::StrCat("user-", t, "-", n % 16);
        event.provider = "openai";
        event.outcome = absl::StatusCode::kOk;
        feed.OnKeyEvent(event);
        std::this_thread::yield();
      }
    });
  }
  std::thread liveness([&] {
    while (!stop.load()) {
      feed.SetLive(false);
      std::this_thread::yield();
      feed.SetLive(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> streams;
  for (int t = 0; t < 2; ++t) {
    streams.emplace_back([&] {
      // 100 subscriptions each; Subscribe refuses while the feed is not live.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      for (int done = 0; done < 100 && absl::Now() < deadline;) {
        // Set once Unsubscribe returned: no wake may run after that.
        auto detached = std::make_shared<std::atomic<bool>>(false);
        auto subscription = feed.Subscribe([&woken_after_unsubscribe, detached] {
          if (detached->load()) ++woken_after_unsubscribe;
        });
        if (subscription == nullptr) {  // not live just now
          std::this_thread::yield();
          continue;
        }
        ++done;
        ++subscriptions;
        std::optional<Change> first = subscription->Next();
        if (!first.has_value() || first->kind() != Change::KIND_SUBSCRIBED) ++not_subscribed_first;
        for (int i = 0; i < 4 && !subscription->Ended(); ++i) {
          while (subscription->Next().has_value()) {
          }
          std::this_thread::yield();
        }
        feed.Unsubscribe(subscription);
        detached->store(true);
      }
    });
  }
  for (std::thread& t : streams) t.join();
  stop = true;
  for (std::thread& t : threads) t.join();
  liveness.join();

  EXPECT_EQ(subscriptions.load(), 200);
  EXPECT_EQ(not_subscribed_first.load(), 0);
  EXPECT_EQ(woken_after_unsubscribe.load(), 0);
  EXPECT_EQ(feed.subscribers(), 0u);
  // Closing ends a subscription still open, for good.
  feed.SetLive(true);
  auto last = feed.Subscribe([] {});
  ASSERT_NE(last, nullptr);
  feed.Close();
  while (last->Next().has_value()) {
  }
  EXPECT_TRUE(last->Ended());
  EXPECT_EQ(feed.Subscribe([] {}), nullptr);
}

}  // namespace
}  // namespace byok::vault
