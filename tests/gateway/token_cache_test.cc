// The gateway's verified-token cache: whose token it is, until the token's expiry; a key change does
// not drop it, a user change does; a token revoked through this gateway is dropped at once, and an
// answer asked for before that is not kept.
#include "services/gateway/backends/token_cache.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace byok::gateway {
namespace {

namespace v1 = vault::v1;
using Change = v1::WatchKeyChangesResponse;

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() : cache_(Options()) { cache_.listener().OnSubscribed(); }

  vault::AnswerCacheOptions Options() {
    vault::AnswerCacheOptions options;
    options.max_entries = 10;
    options.ttl = absl::Seconds(60);
    options.now = [this] { return now_; };
    return options;
  }

  static v1::AuthenticateResponse Verified(const std::string& user) {
    v1::AuthenticateResponse r;
    r.set_user_id(user);
    r.set_app_id("app");
    return r;
  }

  bool Put(const std::string& token, const v1::AuthenticateResponse& verified) {
    std::string user, app;
    vault::CacheTicket ticket;
    if (cache_.Find(token, &user, &app, &ticket)) return false;
    return cache_.Insert(ticket, token, verified);
  }

  bool Has(const std::string& token) {
    std::string user, app;
    vault::CacheTicket ticket;
    return cache_.Find(token, &user, &app, &ticket);
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  TokenCache cache_;
};

TEST_F(TokenCacheTest, AnswersWhoseTokenItIs) {
  ASSERT_TRUE(Put("tok", Verified("u1")));
  std::string user, app;
  vault::CacheTicket ticket;
  ASSERT_TRUE(cache_.Find("tok", &user, &app, &ticket));
  EXPECT_EQ(user, "u1");
  EXPECT_EQ(app, "app");
}

TEST_F(TokenCacheTest, KeyChangesKeepItUserChangesDropIt) {
  ASSERT_TRUE(Put("tok", Verified("u1")));
  Change key;
  key.set_kind(Change::KIND_KEY_CHANGED);
  key.set_user_id("u1");
  key.set_provider("openai");
  cache_.listener().OnChange(key);
  EXPECT_TRUE(Has("tok"));
  Change user;
  user.set_kind(Change::KIND_USER_CHANGED);
  user.set_user_id("u1");
  cache_.listener().OnChange(user);
  EXPECT_FALSE(Has("tok"));
}

TEST_F(TokenCacheTest, ForgetDropsAtOnceAndStalesAnswersInFlight) {
  ASSERT_TRUE(Put("tok", Verified("u1")));
  cache_.Forget("tok");
  EXPECT_FALSE(Has("tok"));
  std::string user, app;
  vault::CacheTicket ticket;
  ASSERT_FALSE(cache_.Find("tok", &user, &app, &ticket));
  cache_.Forget("tok");  // revoked meanwhile through this gateway
  EXPECT_FALSE(cache_.Insert(ticket, "tok", Verified("u1")));
}

TEST_F(TokenCacheTest, NeverPastTheTokensExpiryNorWhileUnsubscribed) {
  v1::AuthenticateResponse soon = Verified("u1");
  soon.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(now_) + 2);
  ASSERT_TRUE(Put("tok", soon));
  now_ += absl::Seconds(2);
  EXPECT_FALSE(Has("tok"));
  cache_.listener().OnUnsubscribed();
  EXPECT_FALSE(Put("tok", Verified("u1")));
}

}  // namespace
}  // namespace byok::gateway
