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
    EXPECT_EQ(*(*store)->SchemaVersion(), 3);
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
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 'from the future', 0)", nullptr,
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
  EXPECT_EQ(*(*store)->SchemaVersion(), 3);
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
  // Every version is recorded, the first as found in user_version.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(version) FROM schema_migrations", -1, &stmt,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "1,2,3");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A database of the vault before the audit trail (schema version 2): it opens, keeps its rows and
// gains the audit_events table (migration 3).
TEST(SqliteKeyStoreTest, AVersion2DatabaseGainsTheAuditTrail) {
  TempDir dir;
  const std::string path = dir.path() + "/relay.db";
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path, 1000);
    ASSERT_THAT(db, IsOk());
    const std::vector<Migration> before_audit(SqliteMigrations().begin(),
                                              SqliteMigrations().begin() + 2);
    ASSERT_THAT(ApplyMigrations(**db, before_audit, kT0, MigrationTransactions::kOwn), IsOk());
    absl::StatusOr<bool> exists = TableExists(**db, "audit_events");
    ASSERT_THAT(exists, IsOk());
    EXPECT_FALSE(*exists);
  }
  Exec(path, "INSERT INTO users VALUES ('live', 'app', x'01', 1000, NULL, 2);");
  auto store = SqliteKeyStore::Open(path);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ(*(*store)->SchemaVersion(), 3);
  EXPECT_THAT((*store)->FindUserById("live"), IsOk());
  AuditRecord event;
  event.time = kT0;
  event.action = 2;
  event.user_id = "live";
  event.outcome = "OK";
  ASSERT_THAT((*store)->AppendAuditEvent(event), IsOk());
  absl::StatusOr<std::vector<AuditRecord>> events = (*store)->ListAuditEvents({});
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].user_id, "live");
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

}  // namespace
}  // namespace byok::vault
