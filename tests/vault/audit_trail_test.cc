// The key audit trail over the real logic and store: VaultCore with the AuditTrail sink on a SQLite
// store (the store methods themselves run on both stores in store_behaviour_test.cc). Every key event
// leaves exactly one row with its action, user, provider, caller, request id and outcome, and no row
// holds a key or a token; ListAuditEvents pages; retention erases old rows only; a failed append is
// counted and does not fail the call.
#include "services/vault/audit_trail.h"

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring_aead.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/call_context.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/vault_core.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;
using Action = v1::AuditEvent;

crypto::SecretBytes Secret(char fill) { return crypto::SecretBytes(std::string(32, fill)); }

constexpr char kOpenAiKey[] = "sk-audit-openai-0123456789";
constexpr char kRotatedKey[] = "sk-audit-rotated-9876543210";

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteKeyStore::Open(dir_.path() + "/relay.db");
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    trail_ = std::make_unique<AuditTrail>(*store_);
    hasher_ = *TokenHasher::Create(Secret('h'));
    UseSecret(Secret('a'), {});
  }

  void UseSecret(const crypto::SecretBytes& primary, std::vector<crypto::SecretBytes> previous) {
    keyring_ = *crypto::KeyringAead::Create(primary, previous);
    core_ = std::make_unique<VaultCore>(*store_, *keyring_, *hasher_, clock_, options_);
    core_->AddEventSink(trail_.get());
  }

  // Every row, oldest first.
  std::vector<AuditRecord> Rows() {
    absl::StatusOr<std::vector<AuditRecord>> rows = store_->ListAuditEvents({0, "", 100000});
    EXPECT_THAT(rows, IsOk());
    return rows.ok() ? *rows : std::vector<AuditRecord>{};
  }

  // Runs `op` as a call from `caller` with request id `request_id`, and returns the rows it added.
  template <typename Op>
  std::vector<AuditRecord> AsCall(const std::string& caller, const std::string& request_id, Op op) {
    const size_t before = Rows().size();
    const CallInfo call{caller, request_id};
    {
      ScopedCall scope(&call);
      op();
    }
    std::vector<AuditRecord> rows = Rows();
    return std::vector<AuditRecord>(rows.begin() + static_cast<std::ptrdiff_t>(before), rows.end());
  }

  std::string NewToken() {
    v1::CreateUserRequest req;
    req.set_app_id("audit-app");
    v1::CreateUserResponse resp;
    EXPECT_THAT(core_->CreateUser(req, &resp), IsOk());
    return resp.token();
  }

  absl::Status Put(const std::string& token, const std::string& provider, const std::string& key,
                   bool validate_only = false) {
    v1::PutKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    req.set_key(key);
    req.set_validate_only(validate_only);
    v1::PutKeyResponse resp;
    return core_->PutKey(req, &resp);
  }

  absl::Status Resolve(const std::string& token, const std::string& provider) {
    v1::ResolveKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    v1::ResolveKeyResponse resp;
    return core_->ResolveKey(req, &resp);
  }

  std::string UserId(const std::string& token) { return core_->UserForToken(token)->user_id; }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  VaultOptions options_;
  std::unique_ptr<SqliteKeyStore> store_;
  std::unique_ptr<crypto::KeyringAead> keyring_;
  std::unique_ptr<TokenHasher> hasher_;
  std::unique_ptr<AuditTrail> trail_;
  std::unique_ptr<VaultCore> core_;
};

// Expects `rows` to be exactly one row with these fields.
void ExpectOneRow(const std::vector<AuditRecord>& rows, Action::Action action,
                  const std::string& user_id, const std::string& provider, const std::string& caller,
                  const std::string& request_id, const std::string& outcome) {
  ASSERT_EQ(rows.size(), 1u) << Action::Action_Name(action);
  const AuditRecord& r = rows[0];
  EXPECT_EQ(r.action, action) << Action::Action_Name(action);
  EXPECT_EQ(r.user_id, user_id) << Action::Action_Name(action);
  EXPECT_EQ(r.provider, provider) << Action::Action_Name(action);
  EXPECT_EQ(r.caller, caller) << Action::Action_Name(action);
  EXPECT_EQ(r.request_id, request_id) << Action::Action_Name(action);
  EXPECT_EQ(r.outcome, outcome) << Action::Action_Name(action);
}

TEST_F(AuditTrailTest, EveryKeyEventLeavesExactlyOneRow) {
  std::string token, other_token;
  std::vector<AuditRecord> created = AsCall("gateway", "req-create", [&] { token = NewToken(); });
  const std::string user = UserId(token);
  ExpectOneRow(created, Action::ACTION_USER_CREATED, user, "", "gateway", "req-create", "OK");
  EXPECT_EQ(Rows()[0].time, clock_.Now());

  ExpectOneRow(AsCall("user-token", "req-put", [&] { ASSERT_THAT(Put(token, "openai", kOpenAiKey), IsOk()); }),
               Action::ACTION_KEY_STORED, user, "openai", "user-token", "req-put", "OK");
  ExpectOneRow(AsCall("user-token", "req-rotate",
                      [&] { ASSERT_THAT(Put(token, "openai", kRotatedKey), IsOk()); }),
               Action::ACTION_KEY_ROTATED, user, "openai", "user-token", "req-rotate", "OK");
  // A dry run changes nothing and leaves no row.
  EXPECT_TRUE(AsCall("user-token", "req-dry", [&] {
                ASSERT_THAT(Put(token, "openai", kOpenAiKey, /*validate_only=*/true), IsOk());
              }).empty());
  // A refused store is recorded with its outcome.
  ExpectOneRow(AsCall("user-token", "req-bad", [&] { EXPECT_FALSE(Put(token, "openai", "short").ok()); }),
               Action::ACTION_KEY_STORED, user, "openai", "user-token", "req-bad", "INVALID_ARGUMENT");

  ExpectOneRow(AsCall("relay", "req-resolve", [&] { ASSERT_THAT(Resolve(token, "openai"), IsOk()); }),
               Action::ACTION_KEY_RESOLVED, user, "openai", "relay", "req-resolve", "OK");
  ExpectOneRow(AsCall("relay", "req-none", [&] {
                 EXPECT_THAT(Resolve(token, "groq"), StatusIs(absl::StatusCode::kNotFound));
               }),
               Action::ACTION_KEY_RESOLVED, user, "groq", "relay", "req-none", "NOT_FOUND");
  // An unknown token names no user.
  ExpectOneRow(AsCall("relay", "req-unknown", [&] {
                 EXPECT_THAT(Resolve(std::string(64, 'f'), "openai"),
                             StatusIs(absl::StatusCode::kUnauthenticated));
               }),
               Action::ACTION_KEY_RESOLVED, "", "openai", "relay", "req-unknown", "UNAUTHENTICATED");

  // Rewrap under a new secret: one row per key re-encrypted.
  ASSERT_THAT(Put(token, "anthropic", kOpenAiKey), IsOk());
  UseSecret(Secret('b'), {Secret('a')});
  std::vector<AuditRecord> rewrapped = AsCall("admin", "req-rewrap", [&] {
    v1::RewrapRequest req;
    v1::RewrapResponse resp;
    ASSERT_THAT(core_->Rewrap(req, &resp), IsOk());
    EXPECT_EQ(resp.rewrapped(), 2);
  });
  ASSERT_EQ(rewrapped.size(), 2u);
  for (const AuditRecord& r : rewrapped) {
    EXPECT_EQ(r.action, Action::ACTION_KEY_REWRAPPED);
    EXPECT_EQ(r.user_id, user);
    EXPECT_EQ(r.caller, "admin");
    EXPECT_EQ(r.request_id, "req-rewrap");
    EXPECT_EQ(r.outcome, "OK");
  }
  EXPECT_EQ(rewrapped[0].provider, "anthropic");
  EXPECT_EQ(rewrapped[1].provider, "openai");

  ExpectOneRow(AsCall("user-token", "req-delete", [&] {
                 v1::DeleteKeyRequest req;
                 req.set_token(token);
                 req.set_provider("openai");
                 v1::DeleteKeyResponse resp;
                 ASSERT_THAT(core_->DeleteKey(req, &resp), IsOk());
               }),
               Action::ACTION_KEY_DELETED, user, "openai", "user-token", "req-delete", "OK");

  ExpectOneRow(AsCall("user-token", "", [&] {
                 v1::RevokeTokenRequest req;
                 req.set_token(token);
                 v1::RevokeTokenResponse resp;
                 ASSERT_THAT(core_->RevokeToken(req, &resp), IsOk());
               }),
               Action::ACTION_TOKEN_REVOKED, user, "", "user-token", "", "OK");

  other_token = NewToken();
  const std::string other = UserId(other_token);
  ASSERT_THAT(Put(other_token, "groq", kOpenAiKey), IsOk());
  ExpectOneRow(AsCall("user-token", "req-erase", [&] {
                 v1::DeleteUserRequest req;
                 req.set_token(other_token);
                 v1::DeleteUserResponse resp;
                 ASSERT_THAT(core_->DeleteUser(req, &resp), IsOk());
               }),
               Action::ACTION_USER_DELETED, other, "", "user-token", "req-erase", "OK");

  // The purge job runs outside any call: the vault is its caller.
  clock_.Advance(absl::Hours(1));
  const size_t before = Rows().size();
  ASSERT_EQ(*core_->PurgeExpiredUsers(), 1);
  std::vector<AuditRecord> rows = Rows();
  ExpectOneRow({rows.begin() + static_cast<std::ptrdiff_t>(before), rows.end()},
               Action::ACTION_USER_PURGED, "", "", "vault", "", "OK");
  EXPECT_EQ(trail_->failures(), 0);

  // No row holds a key or a token, in any field.
  for (const AuditRecord& r : rows) {
    for (const std::string& field : {r.user_id, r.provider, r.caller, r.request_id, r.outcome}) {
      for (const std::string& secret : {std::string(kOpenAiKey), std::string(kRotatedKey), token,
                                        other_token}) {
        EXPECT_EQ(field.find(secret), std::string::npos) << "row " << r.id;
      }
    }
  }
  // Nor does the database file: the table holds nothing else.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/relay.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM audit_events WHERE instr(user_id || provider || caller || request_id || outcome, ?1) > 0", -1, &stmt, nullptr), SQLITE_OK);
  for (const std::string& secret : {std::string(kOpenAiKey), token}) {
    sqlite3_reset(stmt);
    sqlite3_bind_text(stmt, 1, secret.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt, 0), 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Adds `n` events of `user` through the store (as many calls would).
void AddEvents(KeyStore& store, int n, const std::string& user, absl::Time at) {
  for (int i = 0; i < n; ++i) {
    AuditRecord r;
    r.time = at;
    r.action = Action::ACTION_KEY_RESOLVED;
    r.user_id = user;
    r.provider = "openai";
    r.caller = "relay";
    r.request_id = absl::StrCat("req-", user, "-", i);
    r.outcome = "OK";
    ASSERT_THAT(store.AppendAuditEvent(r), IsOk());
  }
}

absl::StatusOr<v1::ListAuditEventsResponse> List(VaultCore& core, int page_size,
                                                 const std::string& page_token,
                                                 const std::string& user_id = "") {
  v1::ListAuditEventsRequest req;
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  req.set_user_id(user_id);
  v1::ListAuditEventsResponse resp;
  if (absl::Status s = core.ListAuditEvents(req, &resp); !s.ok()) return s;
  return resp;
}

TEST_F(AuditTrailTest, ListPagesOldestFirstAndFiltersByUser) {
  AddEvents(*store_, 4, "u1", clock_.Now());
  AddEvents(*store_, 3, "u2", clock_.Now());
  AddEvents(*store_, 1, "u1", clock_.Now());
  // Three pages of three: 3, 3, 2; the last has no next token.
  std::vector<std::string> seen;
  std::string page_token;
  int pages = 0;
  int64_t last_id = 0;
  do {
    absl::StatusOr<v1::ListAuditEventsResponse> page = List(*core_, 3, page_token);
    ASSERT_THAT(page, IsOk());
    ++pages;
    EXPECT_EQ(page->events_size(), pages < 3 ? 3 : 2);
    for (const v1::AuditEvent& e : page->events()) {
      EXPECT_GT(e.id(), last_id);
      last_id = e.id();
      EXPECT_EQ(e.action(), Action::ACTION_KEY_RESOLVED);
      EXPECT_EQ(e.time().seconds(), 1'700'000'000);
      EXPECT_EQ(e.caller(), "relay");
      EXPECT_EQ(e.outcome(), "OK");
      seen.push_back(e.request_id());
    }
    page_token = page->next_page_token();
  } while (!page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ::testing::ElementsAre("req-u1-0", "req-u1-1", "req-u1-2", "req-u1-3", "req-u2-0",
                                           "req-u2-1", "req-u2-2", "req-u1-0"));

  // A page that ends exactly at the last event says so.
  absl::StatusOr<v1::ListAuditEventsResponse> all = List(*core_, 8, "");
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->events_size(), 8);
  EXPECT_TRUE(all->next_page_token().empty());

  absl::StatusOr<v1::ListAuditEventsResponse> u2 = List(*core_, 2, "", "u2");
  ASSERT_THAT(u2, IsOk());
  ASSERT_EQ(u2->events_size(), 2);
  EXPECT_EQ(u2->events(0).user_id(), "u2");
  ASSERT_FALSE(u2->next_page_token().empty());
  absl::StatusOr<v1::ListAuditEventsResponse> u2_rest = List(*core_, 2, u2->next_page_token(), "u2");
  ASSERT_THAT(u2_rest, IsOk());
  ASSERT_EQ(u2_rest->events_size(), 1);
  EXPECT_EQ(u2_rest->events(0).request_id(), "req-u2-2");
  EXPECT_TRUE(u2_rest->next_page_token().empty());
}

TEST_F(AuditTrailTest, PageSizeDefaultsTo100AndIsCappedAt1000) {
  AddEvents(*store_, 1005, "u1", clock_.Now());
  absl::StatusOr<v1::ListAuditEventsResponse> page = List(*core_, 0, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->events_size(), 100);
  EXPECT_FALSE(page->next_page_token().empty());
  page = List(*core_, 5000, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->events_size(), 1000);
  page = List(*core_, 5000, page->next_page_token());
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->events_size(), 5);
  EXPECT_THAT(List(*core_, -1, ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AuditTrailTest, MalformedPageTokensAreRefused) {
  AddEvents(*store_, 3, "u1", clock_.Now());
  absl::StatusOr<v1::ListAuditEventsResponse> first = List(*core_, 1, "");
  ASSERT_THAT(first, IsOk());
  ASSERT_FALSE(first->next_page_token().empty());
  EXPECT_THAT(List(*core_, 1, first->next_page_token()), IsOk());
  for (const std::string& bad :
       {std::string("not-a-token!"), std::string("12"), absl::WebSafeBase64Escape("audit-v1:"),
        absl::WebSafeBase64Escape("audit-v1:-5"), absl::WebSafeBase64Escape("audit-v1:0"),
        absl::WebSafeBase64Escape("audit-v1:1x"), absl::WebSafeBase64Escape("audit-v1: 1"),
        absl::WebSafeBase64Escape("audit-v2:1"),
        absl::WebSafeBase64Escape("audit-v1:99999999999999999999999"), std::string(100, 'A'),
        first->next_page_token() + "%"}) {
    EXPECT_THAT(List(*core_, 1, bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST_F(AuditTrailTest, RetentionErasesOnlyOldEvents) {
  options_.audit_retention = absl::Hours(24 * 30);
  UseSecret(Secret('a'), {});
  AddEvents(*store_, 2, "old", clock_.Now() - absl::Hours(24 * 31));
  AddEvents(*store_, 1, "edge", clock_.Now() - absl::Hours(24 * 30) + absl::Milliseconds(1));
  AddEvents(*store_, 3, "new", clock_.Now());
  EXPECT_EQ(*core_->PurgeOldAuditEvents(), 2);
  std::vector<AuditRecord> left = Rows();
  ASSERT_EQ(left.size(), 4u);
  EXPECT_EQ(left[0].user_id, "edge");
  EXPECT_EQ(*core_->PurgeOldAuditEvents(), 0);

  // Zero keeps every event, however old.
  options_.audit_retention = absl::ZeroDuration();
  UseSecret(Secret('a'), {});
  clock_.Advance(absl::Hours(24 * 3650));
  EXPECT_EQ(*core_->PurgeOldAuditEvents(), 0);
  EXPECT_EQ(Rows().size(), 4u);
}

TEST_F(AuditTrailTest, AFailedAppendIsCountedAndDoesNotFailTheCall) {
  const std::string token = NewToken();
  // Another process takes the table away under the store.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/relay.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE audit_events", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(Put(token, "openai", kOpenAiKey), IsOk());
  EXPECT_EQ(trail_->failures(), 1);
  EXPECT_THAT(Resolve(token, "openai"), IsOk());
  EXPECT_EQ(trail_->failures(), 2);
}

}  // namespace
}  // namespace byok::vault
