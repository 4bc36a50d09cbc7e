// The relay's key cache and the cache core it shares with the gateway (vault::AnswerCache): bounds,
// age, token expiry, wiping, the race guard, per-change invalidation, and no use while unsubscribed.
#include "services/relay/key_cache.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace byok::relay {
namespace {

namespace v1 = vault::v1;
using Change = v1::WatchKeyChangesResponse;

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

v1::ResolveKeyResponse Resolved(const std::string& user, const std::string& key) {
  v1::ResolveKeyResponse r;
  r.set_user_id(user);
  r.set_app_id("app-" + user);
  r.set_key(key);
  return r;
}

Change KeyChanged(const std::string& user, const std::string& provider) {
  Change c;
  c.set_kind(Change::KIND_KEY_CHANGED);
  c.set_user_id(user);
  c.set_provider(provider);
  return c;
}

Change UserChanged(const std::string& user) {
  Change c;
  c.set_kind(Change::KIND_USER_CHANGED);
  c.set_user_id(user);
  return c;
}

class KeyCacheTest : public ::testing::Test {
 protected:
  KeyCache MakeCache(size_t entries = 100, absl::Duration ttl = absl::Seconds(60)) {
    vault::AnswerCacheOptions options;
    options.max_entries = entries;
    options.ttl = ttl;
    options.now = [this] { return clock_.Now(); };
    return KeyCache(std::move(options));
  }

  // Looks up and, on a miss, inserts what the vault "answered".
  bool Put(KeyCache& cache, const std::string& token, const std::string& provider,
           const v1::ResolveKeyResponse& resolved) {
    v1::ResolveKeyResponse unused;
    vault::CacheTicket ticket;
    if (cache.Find(token, provider, &unused, &ticket)) return false;
    return cache.Insert(ticket, token, provider, resolved);
  }

  // The key cached for (token, provider), or "" on a miss.
  std::string Get(KeyCache& cache, const std::string& token, const std::string& provider) {
    v1::ResolveKeyResponse out;
    vault::CacheTicket ticket;
    return cache.Find(token, provider, &out, &ticket) ? out.key() : "";
  }

  FakeClock clock_;
};

TEST_F(KeyCacheTest, KeepsNothingUntilSubscribed) {
  KeyCache cache = MakeCache();
  EXPECT_FALSE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
  EXPECT_EQ(Get(cache, "tok-a", "openai"), "");
  cache.listener().OnSubscribed();
  EXPECT_TRUE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
  v1::ResolveKeyResponse out;
  vault::CacheTicket ticket;
  ASSERT_TRUE(cache.Find("tok-a", "openai", &out, &ticket));
  EXPECT_EQ(out.key(), "sk-1");
  EXPECT_EQ(out.user_id(), "u1");
  EXPECT_EQ(out.app_id(), "app-u1");
  EXPECT_EQ(Get(cache, "tok-a", "anthropic"), "") << "one entry per provider";
  EXPECT_EQ(Get(cache, "tok-b", "openai"), "");
}

TEST_F(KeyCacheTest, EmptiedAndBypassedOnceTheStreamBreaks) {
  KeyCache cache = MakeCache();
  cache.listener().OnSubscribed();
  ASSERT_TRUE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
  cache.listener().OnUnsubscribed();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(Get(cache, "tok-a", "openai"), "");
  EXPECT_FALSE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
  // Resubscribed: usable again, from empty.
  cache.listener().OnSubscribed();
  EXPECT_TRUE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
}

TEST_F(KeyCacheTest, AnAnswerThatRacedWithAChangeIsNotKept) {
  KeyCache cache = MakeCache();
  cache.listener().OnSubscribed();
  v1::ResolveKeyResponse unused;
  vault::CacheTicket ticket;
  ASSERT_FALSE(cache.Find("tok-a", "openai", &unused, &ticket));
  // The vault answered with the old key, but the rotation's change arrived first.
  cache.listener().OnChange(KeyChanged("u1", "openai"));
  EXPECT_FALSE(cache.Insert(ticket, "tok-a", "openai", Resolved("u1", "sk-old")));
  EXPECT_EQ(Get(cache, "tok-a", "openai"), "");
  // A ticket taken before a resubscription is stale too.
  ASSERT_FALSE(cache.Find("tok-a", "openai", &unused, &ticket));
  cache.listener().OnUnsubscribed();
  cache.listener().OnSubscribed();
  EXPECT_FALSE(cache.Insert(ticket, "tok-a", "openai", Resolved("u1", "sk-old")));
}

TEST_F(KeyCacheTest, ChangesDropWhatTheyName) {
  KeyCache cache = MakeCache();
  cache.listener().OnSubscribed();
  ASSERT_TRUE(Put(cache, "tok-a", "openai", Resolved("u1", "sk-1")));
  ASSERT_TRUE(Put(cache, "tok-a", "anthropic", Resolved("u1", "sk-ant-1")));
  ASSERT_TRUE(Put(cache, "tok-b", "openai", Resolved("u2", "sk-2")));
  cache.listener().OnChange(KeyChanged("u1", "openai"));
  EXPECT_EQ(Get(cache, "tok-a", "openai"), "");
  EXPECT_EQ(Get(cache, "tok-a", "anthropic"), "sk-ant-1");
  EXPECT_EQ(Get(cache, "tok-b", "openai"), "sk-2");
  cache.listener().OnChange(UserChanged("u1"));
  EXPECT_EQ(Get(cache, "tok-a", "anthropic"), "");
  EXPECT_EQ(Get(cache, "tok-b", "openai"), "sk-2");
  Change reset;
  reset.set_kind(Change::KIND_RESET);
  cache.listener().OnChange(reset);
  EXPECT_EQ(cache.size(), 0u);
  // A kind this build does not know drops everything too.
  ASSERT_TRUE(Put(cache, "tok-b", "openai", Resolved("u2", "sk-2")));
  Change unknown;
  unknown.set_kind(static_cast<Change::Kind>(99));
  cache.listener().OnChange(unknown);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(KeyCacheTest, BoundedInEntriesLeastRecentlyUsedFirst) {
  KeyCache cache = MakeCache(/*entries=*/2);
  cache.listener().OnSubscribed();
  ASSERT_TRUE(Put(cache, "tok-1", "openai", Resolved("u1", "sk-1")));
  ASSERT_TRUE(Put(cache, "tok-2", "openai", Resolved("u2", "sk-2")));
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "sk-1");  // tok-2 is now the least recently used
  ASSERT_TRUE(Put(cache, "tok-3", "openai", Resolved("u3", "sk-3")));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(Get(cache, "tok-2", "openai"), "");
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "sk-1");
  EXPECT_EQ(Get(cache, "tok-3", "openai"), "sk-3");
}

TEST_F(KeyCacheTest, ZeroEntriesTurnsItOff) {
  KeyCache cache = MakeCache(/*entries=*/0);
  EXPECT_FALSE(cache.enabled());
  cache.listener().OnSubscribed();
  EXPECT_FALSE(Put(cache, "tok-1", "openai", Resolved("u1", "sk-1")));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(KeyCacheTest, AgesOutAfterTheTtl) {
  KeyCache cache = MakeCache(100, absl::Seconds(60));
  cache.listener().OnSubscribed();
  ASSERT_TRUE(Put(cache, "tok-1", "openai", Resolved("u1", "sk-1")));
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "sk-1");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "");
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(KeyCacheTest, NeverPastTheTokensExpiry) {
  KeyCache cache = MakeCache(100, absl::Seconds(60));
  cache.listener().OnSubscribed();
  v1::ResolveKeyResponse soon = Resolved("u1", "sk-1");
  soon.mutable_token_expires_at()->set_seconds(absl::ToUnixSeconds(clock_.Now() + absl::Seconds(5)));
  ASSERT_TRUE(Put(cache, "tok-1", "openai", soon));
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "sk-1");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Get(cache, "tok-1", "openai"), "");
  // An already expired token is not kept at all.
  v1::ResolveKeyResponse expired = Resolved("u2", "sk-2");
  expired.mutable_token_expires_at()->set_seconds(absl::ToUnixSeconds(clock_.Now()) - 1);
  EXPECT_FALSE(Put(cache, "tok-2", "openai", expired));
}

TEST_F(KeyCacheTest, EvictedKeysAreWiped) {
  KeyCache cache = MakeCache(/*entries=*/1);
  cache.listener().OnSubscribed();
  const std::string key(100, 'K');
  ASSERT_TRUE(Put(cache, "tok-1", "openai", Resolved("u1", key)));
  // Where the cached key lives: the locked pool's slot (it is never unmapped).
  const char* slot = nullptr;
  {
    vault::CacheTicket ticket;
    v1::ResolveKeyResponse out;
    ASSERT_TRUE(cache.Find("tok-1", "openai", &out, &ticket));
  }
  cache.ForEachKeyForTesting([&slot](absl::string_view k) { slot = k.data(); });
  ASSERT_NE(slot, nullptr);
  ASSERT_EQ(std::string(slot, key.size()), key);
  const volatile char* bytes = slot;
  // Evicted by the next insertion (capacity 1).
  ASSERT_TRUE(Put(cache, "tok-2", "openai", Resolved("u2", "sk-2")));
  for (size_t i = 0; i < key.size(); ++i) ASSERT_EQ(bytes[i], 0) << "byte " << i << " not wiped";
  // And on invalidation.
  cache.ForEachKeyForTesting([&slot](absl::string_view k) { slot = k.data(); });
  bytes = slot;
  cache.listener().OnChange(UserChanged("u2"));
  for (size_t i = 0; i < 4; ++i) ASSERT_EQ(bytes[i], 0) << "byte " << i << " not wiped";
}

TEST(TokenHashTest, DependsOnTokenAndScope) {
  EXPECT_EQ(vault::HashToken("tok", "a"), vault::HashToken("tok", "a"));
  EXPECT_NE(vault::HashToken("tok", "a"), vault::HashToken("tok", "b"));
  EXPECT_NE(vault::HashToken("tok", "a"), vault::HashToken("tol", "a"));
}

}  // namespace
}  // namespace byok::relay
