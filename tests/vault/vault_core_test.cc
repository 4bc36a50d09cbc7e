// The vault's logic, constructed directly over an in-memory store with a fake clock (the key events it
// sends are tested in key_events_test.cc).
#include "services/vault/vault_core.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto/keyring_aead.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/sqlite_key_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_core_fixture.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

TEST_F(VaultCoreTest, TokenLooksUpItsUserAndOnlyItsUser) {
  const std::string a = NewToken("app-a"), b = NewToken("app-b");
  EXPECT_NE(a, b);
  absl::StatusOr<UserRecord> ua = core_->UserForToken(a);
  ASSERT_THAT(ua, IsOk());
  EXPECT_EQ(ua->app_id, "app-a");
  EXPECT_EQ(core_->UserForToken(b)->app_id, "app-b");
  // The token is hashed as given, as the original does: upper-case hex is another string.
  std::string upper = a;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_THAT(core_->UserForToken(upper), StatusIs(absl::StatusCode::kUnauthenticated));
  // One changed character is a different, unknown token.
  std::string other = a;
  other[10] = other[10] == '0' ? '1' : '0';
  EXPECT_THAT(core_->UserForToken(other), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(core_->UserForToken(""), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(core_->UserForToken(a.substr(1)), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VaultCoreTest, StoresOnlyTheTokensHmac) {
  const std::string token = NewToken();
  absl::StatusOr<UserRecord> user = core_->UserForToken(token);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->token_hash, *hasher_->Hash(token));
  EXPECT_EQ(user->token_hash.size(), 32u);
  EXPECT_TRUE(hasher_->Matches(token, user->token_hash));
  // Another hashing key does not find the user.
  hasher_ = *TokenHasher::Create(Secret('x'));
  Rebuild();
  EXPECT_THAT(core_->UserForToken(token), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VaultCoreTest, TokensExpireAfterTheConfiguredLifetime) {
  options_.token_lifetime = absl::Hours(24 * 90);
  Rebuild();
  v1::CreateUserRequest req;
  req.set_app_id("app");
  v1::CreateUserResponse resp;
  ASSERT_THAT(core_->CreateUser(req, &resp), IsOk());
  EXPECT_EQ(resp.expires_at().seconds(), absl::ToUnixSeconds(clock_.Now() + absl::Hours(24 * 90)));
  ASSERT_THAT(Put(resp.token(), "openai", "sk-one-0123456789"), IsOk());
  // As the original: the token works while now <= expires_at (milliseconds).
  clock_.Advance(absl::Hours(24 * 90));
  EXPECT_THAT(Resolve(resp.token(), "openai"), IsOk());
  clock_.Advance(absl::Milliseconds(1));
  absl::StatusOr<std::string> expired = Resolve(resp.token(), "openai");
  EXPECT_THAT(expired, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(expired.status().message(), "Invalid or expired token");
}

TEST_F(VaultCoreTest, ZeroLifetimeTokensNeverExpire) {
  options_.token_lifetime = absl::ZeroDuration();
  Rebuild();
  v1::CreateUserRequest req;
  req.set_app_id("app");
  v1::CreateUserResponse resp;
  ASSERT_THAT(core_->CreateUser(req, &resp), IsOk());
  EXPECT_FALSE(resp.has_expires_at());
  clock_.Advance(absl::Hours(24 * 365 * 20));
  EXPECT_THAT(core_->UserForToken(resp.token()), IsOk());
}

TEST_F(VaultCoreTest, RevocationTakesEffectAtOnceAndPurgeErasesTheUser) {
  const std::string token = NewToken();
  ASSERT_THAT(Put(token, "openai", "sk-one-0123456789"), IsOk());
  const std::string user_id = UserId(token);
  v1::RevokeTokenRequest req;
  req.set_token(token);
  v1::RevokeTokenResponse resp;
  ASSERT_THAT(core_->RevokeToken(req, &resp), IsOk());
  absl::StatusOr<std::string> key = Resolve(token, "openai");
  EXPECT_THAT(key, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(key.status().message(), "Invalid or expired token");
  EXPECT_THAT(core_->RevokeToken(req, &resp), StatusIs(absl::StatusCode::kUnauthenticated));
  // The original's revocation: the expiry is 1 ms in the past; the keys stay until purged.
  EXPECT_EQ(store_->FindUserById(user_id)->expires_at, clock_.Now() - absl::Milliseconds(1));
  EXPECT_THAT(store_->GetKey(user_id, "openai"), IsOk());

  const std::string keeper = NewToken();
  ASSERT_THAT(core_->PurgeExpiredUsers(), IsOk());
  EXPECT_THAT(store_->FindUserById(user_id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetKey(user_id, "openai"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core_->UserForToken(keeper), IsOk());
}

TEST_F(VaultCoreTest, PurgeErasesExpiredUsersOnly) {
  const std::string old_token = NewToken();
  const std::string old_id = UserId(old_token);
  clock_.Advance(absl::Hours(24 * 60));
  const std::string new_token = NewToken();
  clock_.Advance(absl::Hours(24 * 31));  // the first is 91 days old, the second 31
  absl::StatusOr<int64_t> purged = core_->PurgeExpiredUsers();
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(*purged, 1);
  EXPECT_THAT(store_->FindUserById(old_id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core_->UserForToken(new_token), IsOk());
}

TEST_F(VaultCoreTest, DeleteUserErasesKeysAndUsage) {
  const std::string token = NewToken("app");
  const std::string other = NewToken("app");
  ASSERT_THAT(Put(token, "openai", "sk-one-0123456789"), IsOk());
  ASSERT_THAT(Put(token, "groq", "gsk-one-0123456789"), IsOk());
  const std::string user_id = UserId(token);
  for (const std::string& id : {user_id, UserId(other)}) {
    v1::RecordUsageRequest usage;
    usage.set_user_id(id);
    usage.set_provider("openai");
    usage.set_status(200);
    v1::RecordUsageResponse recorded;
    ASSERT_THAT(core_->RecordUsage(usage, &recorded), IsOk());
  }
  v1::DeleteUserRequest req;
  req.set_token(token);
  v1::DeleteUserResponse resp;
  ASSERT_THAT(core_->DeleteUser(req, &resp), IsOk());
  EXPECT_EQ(resp.keys_deleted(), 2);
  EXPECT_THAT(store_->GetKey(user_id, "openai"), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<UsageStats> mine = store_->GetStats({StatsScope::Kind::kUser, user_id}, clock_.Now());
  ASSERT_THAT(mine, IsOk());
  EXPECT_EQ(mine->total_requests, 0);
  absl::StatusOr<UsageStats> app = store_->GetStats({StatsScope::Kind::kApp, "app"}, clock_.Now());
  ASSERT_THAT(app, IsOk());
  EXPECT_EQ(app->total_requests, 1);
  EXPECT_EQ(app->users, 1);
}

TEST_F(VaultCoreTest, TamperedRowIsDataLossAndOtherRowsStillWork) {
  const std::string token = NewToken();
  ASSERT_THAT(Put(token, "openai", "sk-good-0123456789"), IsOk());
  ASSERT_THAT(Put(token, "groq", "gsk-bad-0123456789"), IsOk());
  const std::string user_id = UserId(token);
  KeyRecord row = *store_->GetKey(user_id, "groq");
  row.ciphertext[row.ciphertext.size() / 2] ^= 0x01;
  ASSERT_THAT(store_->PutKey(row), IsOk());
  absl::StatusOr<std::string> bad = Resolve(token, "groq");
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("could not be decrypted"));
  EXPECT_EQ(*Resolve(token, "openai"), "sk-good-0123456789");
}

TEST_F(VaultCoreTest, CiphertextMovedToAnotherUserProviderOrBaseUrlFails) {
  const std::string alice = NewToken(), bob = NewToken();
  ASSERT_THAT(Put(alice, "openai", "sk-alice-0123456789"), IsOk());
  ASSERT_THAT(Put(bob, "openai", "sk-bob-0123456789"), IsOk());
  ASSERT_THAT(Put(alice, "openai-compatible", "sk-compat-0123456789", "https://a.example.com/v1"), IsOk());
  const KeyRecord alice_row = *store_->GetKey(UserId(alice), "openai");

  KeyRecord moved = *store_->GetKey(UserId(bob), "openai");
  moved.ciphertext = alice_row.ciphertext;
  ASSERT_THAT(store_->PutKey(moved), IsOk());
  EXPECT_THAT(Resolve(bob, "openai"), StatusIs(absl::StatusCode::kDataLoss));

  KeyRecord other_provider = alice_row;
  other_provider.provider = "groq";
  ASSERT_THAT(store_->PutKey(other_provider), IsOk());
  EXPECT_THAT(Resolve(alice, "groq"), StatusIs(absl::StatusCode::kDataLoss));

  KeyRecord redirected = *store_->GetKey(UserId(alice), "openai-compatible");
  redirected.base_url = "https://attacker.example.net/v1";
  ASSERT_THAT(store_->PutKey(redirected), IsOk());
  EXPECT_THAT(Resolve(alice, "openai-compatible"), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(VaultCoreTest, RewrapMovesRowsToTheNewSecretInBatches) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(NewToken());
    ASSERT_THAT(Put(tokens.back(), "openai", absl::StrCat("sk-0123456789-", i)), IsOk());
  }
  const uint32_t old_version = keyring_->primary_key_id();
  UseSecrets(Secret('b'), {Secret('a')});
  const uint32_t new_version = keyring_->primary_key_id();
  ASSERT_NE(old_version, new_version);
  EXPECT_EQ(*store_->CountKeysNotUnderVersion(new_version), 5);
  EXPECT_EQ(*Resolve(tokens[0], "openai"), "sk-0123456789-0");

  // One row cannot be decrypted: it is reported and skipped, and does not stall the others.
  KeyRecord broken = *store_->GetKey(UserId(tokens[2]), "openai");
  broken.ciphertext.back() ^= 0x01;
  ASSERT_THAT(store_->PutKey(broken), IsOk());

  v1::RewrapRequest req;
  req.set_batch_size(3);
  v1::RewrapResponse resp;
  ASSERT_THAT(core_->Rewrap(req, &resp), IsOk());
  EXPECT_EQ(resp.rewrapped(), 3);
  EXPECT_EQ(resp.remaining(), 2);
  ASSERT_THAT(core_->Rewrap(req, &resp), IsOk());
  EXPECT_EQ(resp.rewrapped(), 1);
  EXPECT_EQ(resp.remaining(), 1);
  EXPECT_EQ(resp.failed(), 1);

  // After Rewrap the old secret is no longer needed (except by the broken row).
  UseSecrets(Secret('b'), {});
  for (int i = 0; i < 5; ++i) {
    if (i == 2) {
      EXPECT_THAT(Resolve(tokens[i], "openai"), StatusIs(absl::StatusCode::kDataLoss));
    } else {
      EXPECT_EQ(*Resolve(tokens[i], "openai"), absl::StrCat("sk-0123456789-", i));
    }
  }
  req.set_batch_size(-1);
  EXPECT_THAT(core_->Rewrap(req, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(VaultCoreTest, StatsCountWindowsProvidersAndModels) {
  const std::string token = NewToken("stats-app");
  const std::string user_id = UserId(token);
  auto record = [&](const std::string& provider, const std::string& model, int status, int64_t ms) {
    v1::RecordUsageRequest usage;
    usage.set_user_id(user_id);
    usage.set_provider(provider);
    usage.set_model(model);
    usage.set_status(status);
    usage.set_error(status >= 400);
    usage.set_latency_ms(ms);
    usage.set_input_tokens(5);
    usage.set_output_tokens(7);
    v1::RecordUsageResponse resp;
    ASSERT_THAT(core_->RecordUsage(usage, &resp), IsOk());
  };
  record("openai", "gpt-4o", 200, 100);  // 40 days before "now"
  clock_.Advance(absl::Hours(24 * 20));
  record("openai", "gpt-4o", 500, 300);  // 20 days before
  clock_.Advance(absl::Hours(24 * 18));
  record("anthropic", "claude", 200, 50);  // 2 days before
  record("openai", "gpt-4o-mini", 200, 200);
  clock_.Advance(absl::Hours(24 * 2));

  v1::GetStatsRequest req;
  req.set_token(token);
  v1::GetStatsResponse stats;
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 4);
  EXPECT_EQ(stats.total_errors(), 1);
  EXPECT_EQ(stats.requests_last_7_days(), 2);
  EXPECT_EQ(stats.requests_last_30_days(), 3);
  EXPECT_EQ(stats.input_tokens(), 20);
  EXPECT_EQ(stats.output_tokens(), 28);
  ASSERT_EQ(stats.providers_size(), 2);
  EXPECT_EQ(stats.providers(0).provider(), "openai");
  EXPECT_EQ(stats.providers(0).requests(), 3);
  EXPECT_EQ(stats.providers(0).errors(), 1);
  EXPECT_EQ(stats.providers(0).avg_latency_ms(), 200);
  ASSERT_EQ(stats.top_models_size(), 3);
  EXPECT_EQ(stats.top_models(0).model(), "gpt-4o");
  EXPECT_EQ(stats.top_models(0).requests(), 2);
  EXPECT_EQ(stats.top_models(0).input_tokens(), 10);   // two gpt-4o requests of 5 and 7 each
  EXPECT_EQ(stats.top_models(0).output_tokens(), 14);
  EXPECT_EQ(stats.top_models(1).input_tokens(), 5);

  req.set_app_id("stats-app");
  stats.Clear();
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 4);
  EXPECT_EQ(stats.users(), 1);
  EXPECT_EQ(stats.last_request().seconds(), absl::ToUnixSeconds(clock_.Now() - absl::Hours(48)));
  ASSERT_EQ(stats.daily_size(), 3);  // 20 and 2 days back (two providers); 40 days back is outside
  EXPECT_EQ(stats.daily(0).provider(), "openai");
  EXPECT_EQ(stats.daily(0).errors(), 1);
  EXPECT_EQ(stats.daily(1).provider(), "anthropic");
  EXPECT_EQ(stats.daily(1).input_tokens(), 5);
  EXPECT_EQ(stats.daily(1).day(), stats.daily(2).day());
  req.set_app_id("");
  absl::Status no_app = core_->GetStats(req, &stats);
  EXPECT_THAT(no_app, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(no_app.message(), "app_id is required");
}

TEST_F(VaultCoreTest, UsageInputIsValidated) {
  const std::string user_id = UserId(NewToken());
  v1::RecordUsageRequest usage;
  usage.set_user_id(user_id);
  usage.set_provider("openai");
  v1::RecordUsageResponse resp;
  EXPECT_THAT(core_->RecordUsage(usage, &resp), IsOk());
  usage.set_status(-1);
  EXPECT_THAT(core_->RecordUsage(usage, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
  usage.set_status(200);
  usage.set_latency_ms(-5);
  EXPECT_THAT(core_->RecordUsage(usage, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
  usage.set_latency_ms(5);
  // The model is the client's raw string: a hostile one is recorded cut (RecordedModel), never refused,
  // so it cannot cost the records batched with it.
  usage.set_model(std::string(257, 'm') + "\n");
  EXPECT_THAT(core_->RecordUsage(usage, &resp), IsOk());
  usage.set_model("m");
  usage.set_user_id("");
  EXPECT_THAT(core_->RecordUsage(usage, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(VaultCoreTest, UsageBatchStoresAllSkipsDeletedUsersAndIsAllOrNothing) {
  const std::string token = NewToken("batch-app");
  const std::string gone = NewToken("batch-app");
  const std::string gone_id = UserId(gone);
  v1::DeleteUserRequest del;
  del.set_token(gone);
  v1::DeleteUserResponse deleted;
  ASSERT_THAT(core_->DeleteUser(del, &deleted), IsOk());

  v1::RecordUsageBatchRequest batch;
  for (int i = 0; i < 5; ++i) {
    v1::RecordUsageRequest* usage = batch.add_records();
    usage->set_user_id(UserId(token));
    usage->set_provider(i % 2 == 0 ? "openai" : "anthropic");
    usage->set_model("m");
    usage->set_status(i == 4 ? 500 : 200);
    usage->set_error(i == 4);
    usage->set_output_tokens(3);
  }
  v1::RecordUsageRequest* stale = batch.add_records();
  stale->set_user_id(gone_id);
  stale->set_provider("openai");
  v1::RecordUsageBatchResponse resp;
  ASSERT_THAT(core_->RecordUsageBatch(batch, &resp), IsOk());
  EXPECT_EQ(resp.recorded(), 5);

  v1::GetStatsRequest req;
  req.set_token(token);
  v1::GetStatsResponse stats;
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 5);
  EXPECT_EQ(stats.total_errors(), 1);
  EXPECT_EQ(stats.output_tokens(), 15);
  EXPECT_EQ(stats.providers_size(), 2);

  // One bad record fails the call, names its index, and stores nothing of the batch.
  batch.mutable_records(2)->set_status(-1);
  absl::Status bad = core_->RecordUsageBatch(batch, &resp);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(bad.message().find("records[2]"), absl::string_view::npos) << bad;
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 5);

  v1::RecordUsageBatchRequest empty;
  EXPECT_THAT(core_->RecordUsageBatch(empty, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::RecordUsageBatchRequest huge;
  for (int i = 0; i <= kMaxUsageBatch; ++i) *huge.add_records() = batch.records(0);
  EXPECT_THAT(core_->RecordUsageBatch(huge, &resp), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 5);
}

// compat.md §3.6: the token is checked first, then the provider, then the key, each with its phrase.
TEST_F(VaultCoreTest, PutKeyChecksInTheOriginalsOrderWithItsPhrases) {
  const std::string token = NewToken();
  // Another token: its first hex digit changed (a fixed digit would be the same token one time in 16).
  const std::string other = (token[0] == 'f' ? "e" : "f") + token.substr(1);
  absl::Status s = Put(other, "nope", "short");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(s.message(), "Invalid or expired token");
  s = Put(token, "nope", "short");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("Unsupported provider. Supported: "));
  for (const char* bad : {"", "123456789", "   123456789  "}) {
    s = Put(token, "openai", bad);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_EQ(s.message(), "A valid API key is required");
  }
  // The trimmed key is stored.
  ASSERT_THAT(Put(token, "openai", "  sk-0123456789\n"), IsOk());
  EXPECT_EQ(*Resolve(token, "openai"), "sk-0123456789");
}

TEST_F(VaultCoreTest, PutKeySaysWhetherItReplacedAndValidateOnlyStoresNothing) {
  const std::string token = NewToken();
  v1::PutKeyRequest req;
  req.set_token(token);
  req.set_provider("groq");
  req.set_key("gsk_first_key_123");
  req.set_validate_only(true);
  v1::PutKeyResponse resp;
  ASSERT_THAT(core_->PutKey(req, &resp), IsOk());
  EXPECT_FALSE(resp.replaced());
  EXPECT_THAT(Resolve(token, "groq"), StatusIs(absl::StatusCode::kNotFound));
  req.set_key("bad");
  EXPECT_THAT(core_->PutKey(req, &resp), StatusIs(absl::StatusCode::kInvalidArgument));

  req.set_key("gsk_first_key_123");
  req.set_validate_only(false);
  ASSERT_THAT(core_->PutKey(req, &resp), IsOk());
  EXPECT_FALSE(resp.replaced());
  req.set_validate_only(true);
  req.set_key("gsk_second_key_456");
  ASSERT_THAT(core_->PutKey(req, &resp), IsOk());
  EXPECT_TRUE(resp.replaced());
  EXPECT_EQ(*Resolve(token, "groq"), "gsk_first_key_123");
  req.set_validate_only(false);
  ASSERT_THAT(core_->PutKey(req, &resp), IsOk());
  EXPECT_TRUE(resp.replaced());
  EXPECT_EQ(*Resolve(token, "groq"), "gsk_second_key_456");
}

TEST_F(VaultCoreTest, DeleteKeySucceedsForAnyProviderAndWhenNothingIsStored) {
  const std::string token = NewToken();
  for (const char* provider : {"openai", "not-a-provider", "", "OpenAI"}) {
    v1::DeleteKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    v1::DeleteKeyResponse resp;
    EXPECT_THAT(core_->DeleteKey(req, &resp), IsOk()) << provider;
    EXPECT_FALSE(resp.deleted());
  }
  ASSERT_THAT(Put(token, "openai", "sk-0123456789"), IsOk());
  v1::DeleteKeyRequest req;
  req.set_token(token);
  req.set_provider("openai");
  v1::DeleteKeyResponse resp;
  ASSERT_THAT(core_->DeleteKey(req, &resp), IsOk());
  EXPECT_TRUE(resp.deleted());
  req.set_token("unknown");
  EXPECT_THAT(core_->DeleteKey(req, &resp), StatusIs(absl::StatusCode::kUnauthenticated));
}

// compat.md §10.3: a hash under a legacy key is found, rewritten under the current key and marked 2;
// a version-1 row found under the current key is marked 2; an expired legacy match is refused as is.
TEST_F(VaultCoreTest, LegacyTokenHashesAreFoundAndUpgradedOnUse) {
  const std::string token = NewToken();  // hashed under 'h'
  const std::string user_id = UserId(token);
  const std::string expired = NewToken();
  ASSERT_THAT(store_->SetExpiry(UserId(expired), clock_.Now() - absl::Milliseconds(1)), IsOk());
  const std::string old_expired_hash = *hasher_->Hash(expired);

  hasher_ = *TokenHasher::Create(Secret('n'), {Secret('x'), Secret('h')});
  Rebuild();
  absl::StatusOr<UserRecord> found = core_->UserForToken(token);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->user_id, user_id);
  absl::StatusOr<UserRecord> stored = store_->FindUserById(user_id);
  EXPECT_EQ(stored->token_hash, *hasher_->Hash(token));
  EXPECT_EQ(stored->token_hmac_version, UserRecord::kTokenHmacCurrent);
  EXPECT_THAT(core_->UserForToken(expired), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->FindUserByTokenHash(old_expired_hash), IsOk());

  // Without the legacy key the rewritten hash still works.
  hasher_ = *TokenHasher::Create(Secret('n'));
  Rebuild();
  EXPECT_THAT(core_->UserForToken(token), IsOk());

  ASSERT_THAT(store_->UpdateTokenHash(user_id, stored->token_hash, stored->token_hash,
                                      UserRecord::kTokenHmacLegacy),
              IsOk());
  ASSERT_THAT(core_->UserForToken(token), IsOk());
  EXPECT_EQ(store_->FindUserById(user_id)->token_hmac_version, UserRecord::kTokenHmacCurrent);
}

TEST_F(VaultCoreTest, UsageWithoutAResponseIsStoredAs502) {
  const std::string token = NewToken();
  auto record = [&](int status, bool error) {
    v1::RecordUsageRequest usage;
    usage.set_user_id(UserId(token));
    usage.set_provider("openai");
    usage.set_status(status);
    usage.set_error(error);
    v1::RecordUsageResponse resp;
    ASSERT_THAT(core_->RecordUsage(usage, &resp), IsOk());
  };
  record(0, true);      // unreachable
  record(200, true);    // stream broke after the headers
  record(200, false);
  record(404, true);
  v1::GetStatsRequest req;
  req.set_token(token);
  v1::GetStatsResponse stats;
  ASSERT_THAT(core_->GetStats(req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 4);
  EXPECT_EQ(stats.total_errors(), 3);
}

TEST_F(VaultCoreTest, CreateUserAcceptsAnyAppIdTheOriginalDoes) {
  for (const char* app : {"My App", "42", "com.example/app"}) EXPECT_FALSE(NewToken(app).empty());
  v1::CreateUserRequest req;
  v1::CreateUserResponse resp;
  absl::Status s = core_->CreateUser(req, &resp);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(s.message(), "app_id is required");
}


TEST_F(VaultCoreTest, ResolveKeySaysWhenTheTokenStopsWorking) {
  const std::string token = NewToken();
  ASSERT_THAT(Put(token, "openai", "sk-first-key-000"), IsOk());
  v1::ResolveKeyRequest req;
  req.set_token(token);
  req.set_provider("openai");
  v1::ResolveKeyResponse resp;
  ASSERT_THAT(core_->ResolveKey(req, &resp), IsOk());
  ASSERT_TRUE(resp.has_token_expires_at());
  EXPECT_EQ(resp.token_expires_at().seconds(),
            absl::ToUnixSeconds(clock_.Now() + options_.token_lifetime));
}

}  // namespace
}  // namespace byok::vault
