// The SQLite store: schema versioning, file permissions, row operations, concurrency.
#include "services/vault/sqlite_key_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/sqlite_schema.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

UserRecord User(const std::string& id, const std::string& app = "app") {
  UserRecord u;
  u.user_id = id;
  u.app_id = app;
  u.token_hash = std::string(32, id.empty() ? 'x' : id[0]) + id;  // unique per id
  u.created_at = kT0;
  return u;
}

KeyRecord Key(const std::string& user, const std::string& provider, const std::string& ct,
              uint32_t version = 1) {
  KeyRecord k;
  k.user_id = user;
  k.provider = provider;
  k.ciphertext = ct;
  k.key_version = version;
  k.created_at = k.updated_at = kT0;
  return k;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(SqliteKeyStoreTest, CreatesFolderAndPrivateFilesAndMigrates) {
  TempDir dir;
  const std::string path = dir.path() + "/nested/data/relay.db";
  {
    auto store = SqliteKeyStore::Open(path);
    ASSERT_THAT(store, IsOk());
    EXPECT_EQ(*(*store)->SchemaVersion(), 2);
    ASSERT_THAT((*store)->CreateUser(User("u1")), IsOk());
    EXPECT_EQ(Mode(path), 0600u);
    for (const char* suffix : {"-wal", "-shm"}) {
      if (std::filesystem::exists(path + suffix)) {
        EXPECT_EQ(Mode(path + suffix), 0600u) << suffix;
      }
    }
    EXPECT_TRUE(std::filesystem::exists(path + "-wal"));  // WAL mode
    EXPECT_EQ(Mode(dir.path() + "/nested/data"), 0700u);
  }
  // Reopening keeps the rows and does not migrate again.
  auto again = SqliteKeyStore::Open(path);
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT((*again)->FindUserById("u1"), IsOk());
}

TEST(SqliteKeyStoreTest, TightensPermissionsOfAnExistingFile) {
  TempDir dir;
  const std::string path = dir.path() + "/relay.db";
  { ASSERT_THAT(SqliteKeyStore::Open(path), IsOk()); }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_THAT(SqliteKeyStore::Open(path), IsOk());
  EXPECT_EQ(Mode(path), 0600u);
}

TEST(SqliteKeyStoreTest, RefusesASchemaNewerThanItKnows) {
  TempDir dir;
  const std::string path = dir.path() + "/relay.db";
  { ASSERT_THAT(SqliteKeyStore::Open(path), IsOk()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(SqliteKeyStore::Open(path), StatusIs(absl::StatusCode::kFailedPrecondition));

  TempDir other;
  const std::string recorded = other.path() + "/relay.db";
  { ASSERT_THAT(SqliteKeyStore::Open(recorded), IsOk()); }
  ASSERT_EQ(sqlite3_open(recorded.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (3, 'from the future', 0)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(SqliteKeyStore::Open(recorded), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Runs `sql` on the file at `path` with the plain SQLite API.
void Exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// A database written by this vault before schema_migrations (schema version 1 in user_version): its
// rows survive migration 2, revocations become expiries in the past, "no response" usage becomes 502.
TEST(SqliteKeyStoreTest, UpgradesAVersion1DatabaseKeepingItsRows) {
  TempDir dir;
  const std::string path = dir.path() + "/relay.db";
  Exec(path, SqliteMigrations()[0].sql);
  Exec(path,
       "INSERT INTO users VALUES ('live', 'app', x'01', 1000, NULL, NULL);"
       "INSERT INTO users VALUES ('gone', 'app', x'02', 1000, 999999999, 5000);"
       "INSERT INTO provider_keys VALUES ('live', 'openai', x'aa', 7, '', 1000, 2000);"
       "INSERT INTO usage VALUES (1, 'live', 'app', 'openai', 'm', 200, 5, 1, 2, 0, 3000);"
       "INSERT INTO usage VALUES (2, 'live', 'app', 'openai', 'm', 0, 5, 0, 0, 1, 3001);"
       "INSERT INTO usage VALUES (3, 'live', 'app', 'openai', 'm', 200, 5, 0, 0, 1, 3002);"
       "INSERT INTO usage VALUES (4, 'live', 'app', 'openai', 'm', 429, 5, 0, 0, 1, 3003);"
       "PRAGMA user_version=1;");
  auto store = SqliteKeyStore::Open(path);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ(*(*store)->SchemaVersion(), 2);
  absl::StatusOr<UserRecord> gone = (*store)->FindUserById("gone");
  ASSERT_THAT(gone, IsOk());
  EXPECT_EQ(gone->expires_at, absl::FromUnixMillis(4999));
  EXPECT_EQ((*store)->FindUserById("live")->expires_at, std::nullopt);
  EXPECT_EQ((*store)->FindUserById("live")->token_hmac_version, UserRecord::kTokenHmacCurrent);
  EXPECT_EQ((*store)->GetKey("live", "openai")->ciphertext, "\xaa");
  absl::StatusOr<UsageStats> stats = (*store)->GetStats({StatsScope::Kind::kUser, "live"}, kT0);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_requests, 4);
  EXPECT_EQ(stats->total_errors, 3);  // the 0, the broken 200 (both now 502) and the 429
  EXPECT_EQ(stats->input_tokens, 1);
  store->reset();
  // Both versions are recorded, the first as found in user_version.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(version) FROM schema_migrations", -1, &stmt,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "1,2");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteKeyStoreTest, NeverMigratesOverAnOriginalDatabase) {
  TempDir dir;
  const std::string path = dir.path() + "/relay.db";
  Exec(path,
       "CREATE TABLE users (id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,"
       " created_at INTEGER NOT NULL);"
       "CREATE TABLE keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL,"
       " encrypted_key TEXT NOT NULL, iv TEXT NOT NULL, auth_tag TEXT NOT NULL, created_at INTEGER);");
  absl::StatusOr<std::unique_ptr<SqliteKeyStore>> store = SqliteKeyStore::Open(path);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("original byok-relay database"));
}

TEST(SqliteKeyStoreTest, UnwritableLocationIsUnavailable) {
  EXPECT_THAT(SqliteKeyStore::Open("/proc/byok-no-such/relay.db"),
              StatusIs(absl::StatusCode::kUnavailable));
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteKeyStore::Open(":memory:");
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  std::unique_ptr<SqliteKeyStore> store_;
};

TEST_F(StoreTest, UsersByTokenHashAndId) {
  UserRecord u = User("u1", "app-1");
  u.expires_at = kT0 + absl::Hours(1);
  ASSERT_THAT(store_->CreateUser(u), IsOk());
  absl::StatusOr<UserRecord> found = store_->FindUserByTokenHash(u.token_hash);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->user_id, "u1");
  EXPECT_EQ(found->app_id, "app-1");
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_EQ(found->expires_at, kT0 + absl::Hours(1));
  EXPECT_EQ(found->token_hmac_version, UserRecord::kTokenHmacCurrent);
  EXPECT_THAT(store_->FindUserByTokenHash("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->CreateUser(u), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(store_->SetExpiry("u1", kT0 - absl::Milliseconds(1)), IsOk());
  EXPECT_EQ(store_->FindUserById("u1")->expires_at, kT0 - absl::Milliseconds(1));
  EXPECT_THAT(store_->SetExpiry("ghost", kT0), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, TokenHashUpgradeIsACompareAndSwap) {
  UserRecord u = User("u1");
  u.token_hmac_version = UserRecord::kTokenHmacLegacy;
  ASSERT_THAT(store_->CreateUser(u), IsOk());
  const std::string upgraded(32, 'N');
  EXPECT_EQ(*store_->UpdateTokenHash("u1", "stale", upgraded, 2), false);
  EXPECT_EQ(*store_->UpdateTokenHash("u1", u.token_hash, upgraded, 2), true);
  absl::StatusOr<UserRecord> found = store_->FindUserByTokenHash(upgraded);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->user_id, "u1");
  EXPECT_EQ(found->token_hmac_version, 2);
  EXPECT_THAT(store_->FindUserByTokenHash(u.token_hash), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, PutKeyUpsertsAndKeepsCreatedAt) {
  ASSERT_THAT(store_->CreateUser(User("u1")), IsOk());
  EXPECT_EQ(*store_->PutKey(Key("u1", "openai", "ct-1")), false);
  KeyRecord second = Key("u1", "openai", "ct-2", 2);
  second.updated_at = kT0 + absl::Hours(2);
  EXPECT_EQ(*store_->PutKey(second), true);
  absl::StatusOr<KeyRecord> k = store_->GetKey("u1", "openai");
  ASSERT_THAT(k, IsOk());
  EXPECT_EQ(k->ciphertext, "ct-2");
  EXPECT_EQ(k->key_version, 2u);
  EXPECT_EQ(k->created_at, kT0);
  EXPECT_EQ(k->updated_at, kT0 + absl::Hours(2));
  EXPECT_THAT(store_->PutKey(Key("ghost", "openai", "ct")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, ListAndDeleteKeys) {
  ASSERT_THAT(store_->CreateUser(User("u1")), IsOk());
  ASSERT_THAT(store_->CreateUser(User("u2")), IsOk());
  ASSERT_THAT(store_->PutKey(Key("u1", "openai", "a")), IsOk());
  ASSERT_THAT(store_->PutKey(Key("u1", "anthropic", "b")), IsOk());
  ASSERT_THAT(store_->PutKey(Key("u2", "groq", "c")), IsOk());
  absl::StatusOr<std::vector<KeyRecord>> keys = store_->ListKeys("u1");
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].provider, "anthropic");
  EXPECT_EQ((*keys)[1].provider, "openai");
  EXPECT_TRUE((*keys)[0].ciphertext.empty());
  EXPECT_EQ(*store_->DeleteKey("u1", "openai"), true);
  EXPECT_EQ(*store_->DeleteKey("u1", "openai"), false);
  EXPECT_EQ(store_->ListKeys("u1")->size(), 1u);
  EXPECT_EQ(*store_->DeleteUser("u1"), 1);
  EXPECT_THAT(store_->DeleteUser("u1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->ListKeys("u2")->size(), 1u);
}

TEST_F(StoreTest, VersionScanCursorAndCompareAndSwap) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_THAT(store_->CreateUser(User(id)), IsOk());
    ASSERT_THAT(store_->PutKey(Key(id, "openai", absl::StrCat("ct-", id), 1)), IsOk());
    ASSERT_THAT(store_->PutKey(Key(id, "groq", absl::StrCat("ct2-", id), 7)), IsOk());
  }
  EXPECT_EQ(*store_->CountKeysNotUnderVersion(7), 3);
  absl::StatusOr<std::vector<KeyRecord>> page = store_->KeysNotUnderVersion(7, "", "", 2);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].user_id, "a");
  EXPECT_EQ((*page)[1].user_id, "b");
  EXPECT_EQ((*page)[1].ciphertext, "ct-b");
  page = store_->KeysNotUnderVersion(7, "b", "openai", 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].user_id, "c");

  EXPECT_EQ(*store_->ReplaceCiphertext("a", "openai", "stale", "new", 7), false);
  EXPECT_EQ(*store_->ReplaceCiphertext("a", "openai", "ct-a", "new", 7), true);
  EXPECT_EQ(store_->GetKey("a", "openai")->ciphertext, "new");
  EXPECT_EQ(*store_->CountKeysNotUnderVersion(7), 2);
}

UsageRecord Usage(const std::string& user, const std::string& provider, int32_t status,
                  absl::Time at, const std::string& model = "") {
  UsageRecord usage;
  usage.user_id = user;
  usage.provider = provider;
  usage.status = status;
  usage.model = model;
  usage.at = at;
  return usage;
}

TEST_F(StoreTest, PurgeRemovesExpiredUsersAndKeysButKeepsTheirUsage) {
  UserRecord expired = User("old");
  expired.expires_at = kT0 + absl::Hours(1);
  UserRecord revoked = User("rev");
  revoked.expires_at = kT0 - absl::Milliseconds(1);
  UserRecord live = User("live");
  live.expires_at = kT0 + absl::Hours(100);
  for (const UserRecord& u : {expired, revoked, live, User("forever")}) {
    ASSERT_THAT(store_->CreateUser(u), IsOk());
    ASSERT_THAT(store_->PutKey(Key(u.user_id, "openai", "ct")), IsOk());
    ASSERT_THAT(store_->RecordUsage(Usage(u.user_id, "openai", 200, kT0)), IsOk());
  }
  EXPECT_EQ(*store_->PurgeUsers(kT0 + absl::Hours(2)), 2);
  EXPECT_THAT(store_->FindUserById("old"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetKey("rev", "openai"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->FindUserById("live"), IsOk());
  // As the original: app statistics still count the requests of users who are gone.
  absl::StatusOr<UsageStats> app = store_->GetStats({StatsScope::Kind::kApp, "app"}, kT0);
  EXPECT_EQ(app->total_requests, 4);
  EXPECT_EQ(app->users, 4);
  EXPECT_EQ(*store_->PurgeUsers(kT0 + absl::Hours(2)), 0);
  // An expiry equal to now still works (the original's now <= expires_at).
  UserRecord edge = User("edge");
  edge.expires_at = kT0;
  ASSERT_THAT(store_->CreateUser(edge), IsOk());
  EXPECT_EQ(*store_->PurgeUsers(kT0), 0);
}

TEST_F(StoreTest, DeletingAUserErasesItsKeysAndUsage) {
  ASSERT_THAT(store_->CreateUser(User("u1")), IsOk());
  ASSERT_THAT(store_->CreateUser(User("u2")), IsOk());
  ASSERT_THAT(store_->PutKey(Key("u1", "openai", "a")), IsOk());
  ASSERT_THAT(store_->RecordUsage(Usage("u1", "openai", 200, kT0)), IsOk());
  ASSERT_THAT(store_->RecordUsage(Usage("u2", "openai", 200, kT0)), IsOk());
  EXPECT_EQ(*store_->DeleteUser("u1"), 1);
  EXPECT_EQ(store_->GetStats({StatsScope::Kind::kUser, "u1"}, kT0)->total_requests, 0);
  absl::StatusOr<UsageStats> app = store_->GetStats({StatsScope::Kind::kApp, "app"}, kT0);
  EXPECT_EQ(app->total_requests, 1);
  EXPECT_EQ(app->users, 1);
}

// §3.12/§3.13 of compat.md: totals, windows, errors by status, providers and models by count, the
// newest request, and the daily series per UTC day and provider over the last 30 days.
TEST_F(StoreTest, StatisticsFollowTheOriginalsDefinitions) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z
  ASSERT_THAT(store_->CreateUser(User("u1", "app-a")), IsOk());
  ASSERT_THAT(store_->CreateUser(User("u2", "app-a")), IsOk());
  ASSERT_THAT(store_->CreateUser(User("u3", "app-b")), IsOk());
  const std::vector<UsageRecord> records = {
      Usage("u1", "openai", 200, now - absl::Hours(1), "gpt-4o"),
      Usage("u1", "openai", 502, now - absl::Hours(2), "gpt-4o"),
      Usage("u1", "openai", 199, now - absl::Hours(30), "gpt-4o-mini"),
      Usage("u1", "anthropic", 200, now - absl::Hours(24 * 8), ""),
      Usage("u1", "groq", 429, now - absl::Hours(24 * 40), "llama"),
      Usage("u2", "openai", 200, now - absl::Hours(3), "gpt-4o"),
      Usage("u3", "openai", 200, now - absl::Hours(3), "gpt-4o"),
  };
  ASSERT_EQ(*store_->RecordUsageBatch(records), 7);
  absl::StatusOr<UsageStats> user = store_->GetStats({StatsScope::Kind::kUser, "u1"}, now);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->total_requests, 5);
  EXPECT_EQ(user->total_errors, 3);
  EXPECT_EQ(user->requests_last_7_days, 3);
  EXPECT_EQ(user->requests_last_30_days, 4);
  EXPECT_EQ(user->users, 1);
  EXPECT_EQ(user->last_request, now - absl::Hours(1));
  ASSERT_EQ(user->providers.size(), 3u);
  EXPECT_EQ(user->providers[0].provider, "openai");
  EXPECT_EQ(user->providers[0].requests, 3);
  EXPECT_EQ(user->providers[0].errors, 2);
  ASSERT_EQ(user->top_models.size(), 3u);  // the empty model is left out
  EXPECT_EQ(user->top_models[0].model, "gpt-4o");
  EXPECT_EQ(user->top_models[0].requests, 2);
  // Daily: 2027-01-15 openai x2 (1 error), 2027-01-14 openai x1 (error), 2027-01-07 anthropic.
  ASSERT_EQ(user->daily.size(), 3u);
  EXPECT_EQ(user->daily[0].day, "2027-01-07");
  EXPECT_EQ(user->daily[0].provider, "anthropic");
  EXPECT_EQ(user->daily[1].day, "2027-01-14");
  EXPECT_EQ(user->daily[1].errors, 1);
  EXPECT_EQ(user->daily[2].day, "2027-01-15");
  EXPECT_EQ(user->daily[2].requests, 2);
  EXPECT_EQ(user->daily[2].errors, 1);

  absl::StatusOr<UsageStats> app = store_->GetStats({StatsScope::Kind::kApp, "app-a"}, now);
  EXPECT_EQ(app->total_requests, 6);
  EXPECT_EQ(app->users, 2);
  absl::StatusOr<UsageStats> none = store_->GetStats({StatsScope::Kind::kApp, "nobody"}, now);
  EXPECT_EQ(none->total_requests, 0);
  EXPECT_EQ(none->users, 0);
  EXPECT_FALSE(none->last_request.has_value());
  EXPECT_TRUE(none->daily.empty());
}

TEST_F(StoreTest, ImportIsAllOrNothing) {
  ASSERT_THAT(store_->CreateUser(User("taken")), IsOk());
  ImportData data;
  data.users = {User("i1"), User("i2")};
  data.keys = {Key("i1", "openai", "ct")};
  UsageRecord orphan = Usage("deleted-long-ago", "openai", 200, kT0, "gpt-4o");
  orphan.app_id = "app";
  data.usage = {orphan};
  ImportData clash = data;
  clash.users.push_back(User("taken"));
  EXPECT_THAT(store_->Import(clash), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->FindUserById("i1"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->Import(data), IsOk());
  EXPECT_EQ(store_->GetKey("i1", "openai")->ciphertext, "ct");
  EXPECT_EQ(store_->GetStats({StatsScope::Kind::kApp, "app"}, kT0)->total_requests, 1);
}

TEST_F(StoreTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("t", t, "-", i);
        EXPECT_THAT(store_->CreateUser(User(id)), IsOk());
        EXPECT_THAT(store_->PutKey(Key(id, "openai", id)), IsOk());
        EXPECT_EQ(store_->GetKey(id, "openai")->ciphertext, id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(*store_->CountKeysNotUnderVersion(0), kThreads * kPerThread);
}

}  // namespace
}  // namespace byok::vault
