// AnswerCache under concurrent use, as the services use it: request threads finding and inserting
// answers, the change stream's thread invalidating them and breaking and restoring the subscription.
// Its assertions hold on any interleaving; its real job is to give ThreadSanitizer (scripts/tsan.sh)
// every pair of the cache's entry points running at once.
#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/vault/client/answer_cache.h"

namespace byok::vault {
namespace {

using Change = v1::WatchKeyChangesResponse;

constexpr int kTokens = 100;
constexpr int kUsers = 10;
constexpr size_t kMaxEntries = 32;

std::string Token(int i) { return absl::StrCat("token-", i % kTokens); }
std::string User(int i) { return absl::StrCat("user-", i % kUsers); }
// What the cache keeps for token i: derived from it, so a reader can tell a wrong value.
std::string Value(int i) { return absl::StrCat("value-of-", Token(i)); }

TEST(AnswerCacheThreadsTest, RequestsAndTheChangeStreamTogetherKeepEveryAnswerRight) {
  AnswerCacheOptions options;
  options.max_entries = kMaxEntries;
  AnswerCache<std::string> cache(options);
  cache.OnSubscribed();
  const absl::Time not_after = absl::Now() + absl::Hours(1);
  // Hashed before the threads start: OpenSSL's own locks would order the threads for TSan.
  std::vector<TokenHash> keys;
  for (int i = 0; i < kTokens; ++i) keys.push_back(HashToken(Token(i), "test"));

  // Wrong answers counted per thread, summed after the joins: a shared atomic counter would order the
  // threads' accesses for TSan and hide a race in the cache.
  std::array<int, 3> wrong{};
  std::atomic<bool> stop{false};
  std::vector<std::thread> requests;
  for (int t = 0; t < 3; ++t) {
    requests.emplace_back([&, t] {
      int my_wrong = 0;
      for (int n = 0; n < 3000; ++n) {
        const int i = n * 7 + t;
        const TokenHash& key = keys[i % kTokens];
        CacheTicket ticket;
        const bool found = cache.Find(
            key,
            [&](const std::string& value, const std::string& user) {
              if (value != Value(i) || user != User(i)) ++my_wrong;
            },
            &ticket);
        if (!found) cache.Insert(ticket, key, User(i), "openai", not_after, Value(i));
        if (n % 97 == 0) cache.Forget(key);
        if (cache.size() > kMaxEntries) ++my_wrong;  // bounded at every moment
        // Interleaved, not one thread after another, even on a busy machine with few cores.
        if (n % 8 == 0) std::this_thread::yield();
      }
      wrong[t] = my_wrong;
    });
  }
  int resubscribed_while_down = 0;  // the stream thread's own
  std::thread stream([&] {
    for (int n = 0; !stop.load(); ++n) {
      Change change;
      change.set_kind(n % 3 == 0 ? Change::KIND_USER_CHANGED : Change::KIND_KEY_CHANGED);
      change.set_user_id(User(n));
      if (change.kind() == Change::KIND_KEY_CHANGED) change.set_provider(n % 2 ? "openai" : "anthropic");
      cache.OnChange(change);
      if (n % 200 == 199) {
        cache.OnUnsubscribed();  // the stream broke
        if (cache.subscribed()) ++resubscribed_while_down;
        cache.OnSubscribed();    // and came back
      }
      std::this_thread::yield();
    }
  });
  for (std::thread& t : requests) t.join();
  stop = true;
  stream.join();

  EXPECT_EQ(wrong[0] + wrong[1] + wrong[2], 0);
  EXPECT_EQ(resubscribed_while_down, 0);
  EXPECT_LE(cache.size(), kMaxEntries);
  // Still answering once the threads are done.
  cache.OnSubscribed();
  CacheTicket fresh;
  ASSERT_FALSE(cache.Find(keys[5], [](const std::string&, const std::string&) {}, &fresh));
  ASSERT_TRUE(cache.Insert(fresh, keys[5], User(5), "openai", not_after, Value(5)));
  std::string found;
  EXPECT_TRUE(cache.Find(keys[5], [&](const std::string& value, const std::string&) { found = value; }, &fresh));
  EXPECT_EQ(found, Value(5));
  // A broken stream empties the cache, and an answer asked for before it is not kept.
  CacheTicket ticket;
  cache.Find(HashToken(Token(1), "test"), [](const std::string&, const std::string&) {}, &ticket);
  cache.OnUnsubscribed();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Insert(ticket, HashToken(Token(1), "test"), User(1), "openai", not_after, Value(1)));
}

}  // namespace
}  // namespace byok::vault
