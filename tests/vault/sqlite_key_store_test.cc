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
    EXPECT_EQ(*(*store)->SchemaVersion(), 1);
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
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_THAT(store_->FindUserByTokenHash("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->CreateUser(u), StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(store_->RevokeUser("u1", kT0 + absl::Minutes(5)), IsOk());
  EXPECT_EQ(store_->FindUserById("u1")->revoked_at, kT0 + absl::Minutes(5));
  EXPECT_THAT(store_->RevokeUser("ghost", kT0), StatusIs(absl::StatusCode::kNotFound));
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

TEST_F(StoreTest, PurgeRemovesRevokedAndExpiredWithTheirRows) {
  UserRecord expired = User("old");
  expired.expires_at = kT0 + absl::Hours(1);
  UserRecord revoked = User("rev");
  revoked.revoked_at = kT0;
  UserRecord live = User("live");
  live.expires_at = kT0 + absl::Hours(100);
  for (const UserRecord& u : {expired, revoked, live, User("forever")}) {
    ASSERT_THAT(store_->CreateUser(u), IsOk());
    ASSERT_THAT(store_->PutKey(Key(u.user_id, "openai", "ct")), IsOk());
    UsageRecord usage;
    usage.user_id = u.user_id;
    usage.provider = "openai";
    usage.at = kT0;
    ASSERT_THAT(store_->RecordUsage(usage), IsOk());
  }
  EXPECT_EQ(*store_->PurgeUsers(kT0 + absl::Hours(2)), 2);
  EXPECT_THAT(store_->FindUserById("old"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetKey("rev", "openai"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_->GetStats({StatsScope::Kind::kApp, "app"}, kT0)->total_requests, 2);
  EXPECT_EQ(*store_->PurgeUsers(kT0 + absl::Hours(2)), 0);
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
